"""Segmentation data preprocessor that carries CSG's key view next to the anchor view."""
from typing import Any, Dict, List

from mmseg.models.data_preprocessor import SegDataPreProcessor
from mmseg.registry import MODELS
from mmseg.utils import stack_batch
from torch import Tensor


@MODELS.register_module()
class CSGSegDataPreProcessor(SegDataPreProcessor):
    """:class:`SegDataPreProcessor` that also normalises and pads CSG's key view.

    In training, when the samples' ``inputs`` are lists of views ``[anchor, key]`` (from
    :class:`csg_mm.datasets.PackCSGSegInputs`; after ``pseudo_collate`` the batch's ``inputs``
    is ``[anchors, keys]``), the anchor views go through the stock
    preprocessing together with the data samples, and every other view gets the SAME channel
    conversion, normalisation and padding (same ``size``/``size_divisor``/``pad_val``), so the
    views stay pixel-aligned. ``inputs`` becomes ``[anchor_batch, key_batch]``. Validation and
    test data, and training data with one view, are handled exactly as by
    :class:`SegDataPreProcessor`.
    """

    def forward(self, data: dict, training: bool = False) -> Dict[str, Any]:
        inputs = data['inputs']
        if not (training and len(inputs) and isinstance(inputs[0], (list, tuple))):
            return super().forward(data, training)
        data = self.cast_data(data)
        # mmengine's pseudo_collate transposes the per-sample [anchor, key] lists: inputs is
        # [anchors of the batch, keys of the batch]
        views = [list(view) for view in data['inputs']]
        num = len(data['data_samples'])
        if any(len(view) != num for view in views):
            raise ValueError(f'CSG views {[len(v) for v in views]} do not match the batch of '
                             f'{num} samples: collate with pseudo_collate (mmseg default)')
        anchor = super().forward(dict(data, inputs=views[0]), training)
        others = [self._stack_view(view) for view in views[1:]]
        for other in others:
            if other.shape != anchor['inputs'].shape:
                raise ValueError(
                    f'CSG key view batch {tuple(other.shape)} does not match the anchor batch '
                    f'{tuple(anchor["inputs"].shape)}: make the key view after all geometric '
                    'transforms (scale, crop, flip) in the train pipeline')
        return dict(inputs=[anchor['inputs'], *others], data_samples=anchor['data_samples'])

    def _stack_view(self, inputs: List[Tensor]) -> Tensor:
        """The stock training path of :class:`SegDataPreProcessor` for images only."""
        if self.channel_conversion and inputs[0].size(0) == 3:
            inputs = [_input[[2, 1, 0], ...] for _input in inputs]
        inputs = [_input.float() for _input in inputs]
        if self._enable_normalize:
            inputs = [(_input - self.mean) / self.std for _input in inputs]
        stacked, _ = stack_batch(
            inputs=inputs,
            size=self.size,
            size_divisor=self.size_divisor,
            pad_val=self.pad_val,
            seg_pad_val=self.seg_pad_val)
        return stacked

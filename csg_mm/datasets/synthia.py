"""SYNTHIA-RAND-CITYSCAPES (Ros et al., "The SYNTHIA Dataset", CVPR 2016) with the 19 Cityscapes
classes: a synthetic source domain for domain-generalisation segmentation."""
from mmseg.datasets import BaseSegDataset
from mmseg.registry import DATASETS

from .checks import CheckedSegDatasetMixin
from .cityscapes import CITYSCAPES_METAINFO

CONVERTER = 'tools/dataset_converters/synthia.py'


@DATASETS.register_module()
class SynthiaDataset(CheckedSegDatasetMixin, BaseSegDataset):
    """SYNTHIA-RAND-CITYSCAPES with Cityscapes train ids (19 classes, Cityscapes palette,
    255 = ignore).

    Layout (after ``python tools/dataset_converters/synthia.py DATA_ROOT``)::

        DATA_ROOT/
          RGB/0000000.png ...                        9,400 frames of 1280 x 760
          GT/LABELS/0000000.png ...                  original 16-bit labels
          GT/LABELS/0000000_labelTrainIds.png ...    written by the converter (train ids)

    SYNTHIA has no terrain, truck or train pixels in practice: SYNTHIA -> X results are reported
    as mIoU over 16 classes (and 13, also without wall, fence, pole). Images without a converted
    label are dropped with a warning (e.g. excluded by ``--on-mismatch skip``); with ``ann_file``
    (frame ids such as ``0000000``) every listed frame must exist. The load-time checks are
    :class:`~csg_mm.datasets.checks.CheckedSegDatasetMixin`'s.

    Args:
        img_suffix (str): Defaults to '.png'.
        seg_map_suffix (str): Defaults to '_labelTrainIds.png'.
        data_prefix (dict): Defaults to dict(img_path='RGB', seg_map_path='GT/LABELS').
        expected_num (int, optional): Number of frames the set must have (9400); None (default):
            not checked.
        check_sizes (bool): Compare image and label sizes at load time. Defaults to True.
        **kwargs: Other :class:`mmseg.datasets.BaseSegDataset` arguments.
    """
    DATASET_NAME = 'SYNTHIA'
    PREPARE = f'run `python {CONVERTER} {{data_root}}` first'
    MISSING_LABELS = 'drop'
    SOURCE_LABEL_SUFFIX = '.png'
    METAINFO = CITYSCAPES_METAINFO

    def __init__(self,
                 img_suffix: str = '.png',
                 seg_map_suffix: str = '_labelTrainIds.png',
                 data_prefix: dict = dict(img_path='RGB', seg_map_path='GT/LABELS'),
                 **kwargs) -> None:
        super().__init__(
            img_suffix=img_suffix, seg_map_suffix=seg_map_suffix, data_prefix=data_prefix,
            **kwargs)

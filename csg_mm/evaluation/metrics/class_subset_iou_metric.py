"""mIoU over a subset of the classes, as SYNTHIA -> real results are reported.

SYNTHIA-RAND-CITYSCAPES (Ros et al., CVPR 2016) maps to the 19 Cityscapes classes, but has no
terrain, truck or train pixels in practice, so SYNTHIA -> X results are conventionally the mean
IoU over the other 16 classes ("mIoU16"), and often also over 13 classes, which further leave out
wall, fence and pole ("mIoU13": the 13 classes of Tsai et al., "Learning to Adapt Structured
Output Space for Semantic Segmentation", CVPR 2018; both, e.g., in Hoyer et al., "DAFormer",
CVPR 2022; the project's DESIGN.md, section 4). The model still predicts all 19 classes; only the
average is taken over the subset.
"""
from typing import Dict, List, Mapping, Optional, Sequence, Union

import numpy as np
from mmengine.logging import print_log
from mmseg.evaluation import IoUMetric
from mmseg.registry import METRICS

# Cityscapes' 19 evaluation classes (mmseg CityscapesDataset.METAINFO order), minus
# terrain, truck, train: the 16 SYNTHIA classes.
SYNTHIA_16_CLASSES = ('road', 'sidewalk', 'building', 'wall', 'fence', 'pole', 'traffic light',
                      'traffic sign', 'vegetation', 'sky', 'person', 'rider', 'car', 'bus',
                      'motorcycle', 'bicycle')
# ... minus wall, fence, pole: the 13 classes of Tsai et al. (CVPR 2018).
SYNTHIA_13_CLASSES = tuple(c for c in SYNTHIA_16_CLASSES if c not in ('wall', 'fence', 'pole'))

#: Named class subsets that ``class_subsets`` may refer to instead of listing the classes.
CLASS_SUBSETS = {'synthia-16': SYNTHIA_16_CLASSES, 'synthia-13': SYNTHIA_13_CLASSES}


@METRICS.register_module()
class ClassSubsetIoUMetric(IoUMetric):
    """mmseg's :class:`~mmseg.evaluation.IoUMetric` plus the mean IoU over class subsets.

    Everything of ``IoUMetric`` is unchanged (keys ``aAcc``, ``mIoU``, ``mAcc``, ... and the
    per-class table); for each entry ``name: classes`` of ``class_subsets`` one more key
    ``name`` holds the mean, in percent (0-100, 2 decimals, NaN classes -- no label and no
    prediction -- left out as in ``mIoU``), of the per-class IoUs of ``classes``.

    Args:
        class_subsets (Mapping[str, str | Sequence[str]], optional): Result key -> class names
            (names of ``dataset_meta['classes']``) or the name of a subset of
            :data:`CLASS_SUBSETS` (``'synthia-16'``, ``'synthia-13'``). E.g.
            ``dict(mIoU16='synthia-16', mIoU13='synthia-13')``. Defaults to None (= IoUMetric).
        **kwargs: :class:`~mmseg.evaluation.IoUMetric` arguments. ``iou_metrics`` must contain
            ``'mIoU'`` when ``class_subsets`` is given.

    Raises:
        ValueError: An unknown subset name, an empty subset, a key that IoUMetric itself reports,
            ``'mIoU'`` missing from ``iou_metrics``; at evaluation, a class name that is not in
            the dataset's classes (names it and the dataset's classes).
    """

    def __init__(self,
                 class_subsets: Optional[Mapping[str, Union[str, Sequence[str]]]] = None,
                 **kwargs) -> None:
        super().__init__(**kwargs)
        self.class_subsets: Dict[str, List[str]] = {}
        for key, classes in (class_subsets or {}).items():
            if isinstance(classes, str):
                if classes not in CLASS_SUBSETS:
                    raise ValueError(f'ClassSubsetIoUMetric: unknown class subset {classes!r} '
                                     f'for "{key}"; known: {sorted(CLASS_SUBSETS)}, or give a '
                                     'list of class names')
                classes = CLASS_SUBSETS[classes]
            if not classes:
                raise ValueError(f'ClassSubsetIoUMetric: class subset "{key}" is empty')
            if key in ('aAcc', 'mIoU', 'mAcc', 'mDice', 'mFscore', 'mPrecision', 'mRecall'):
                raise ValueError(f'ClassSubsetIoUMetric: "{key}" is a key IoUMetric reports; '
                                 'name the subset differently (e.g. mIoU16)')
            self.class_subsets[str(key)] = list(classes)
        metrics = [self.metrics] if isinstance(self.metrics, str) else self.metrics
        if self.class_subsets and 'mIoU' not in metrics:
            raise ValueError("ClassSubsetIoUMetric: class_subsets need 'mIoU' in iou_metrics")

    def compute_metrics(self, results: list) -> Dict[str, float]:
        """IoUMetric's metrics plus one mean IoU per class subset (see the class docstring)."""
        metrics = super().compute_metrics(results)
        if self.format_only or not self.class_subsets:
            return metrics
        classes = list(self.dataset_meta['classes'])
        areas = [sum(parts) for parts in zip(*results)]
        iou = self.total_area_to_metrics(*areas, ['mIoU'], self.nan_to_num, self.beta)['IoU']
        for key, subset in self.class_subsets.items():
            missing = [c for c in subset if c not in classes]
            if missing:
                raise ValueError(f'ClassSubsetIoUMetric: class(es) {missing} of subset "{key}" '
                                 f'are not among the dataset classes {classes}')
            idx = [classes.index(c) for c in subset]
            metrics[key] = np.round(np.nanmean(iou[idx]) * 100, 2)
        print_log('class-subset mean IoU: ' + ', '.join(
            f'{k} ({len(v)} classes) = {metrics[k]}' for k, v in self.class_subsets.items()),
                  logger='current')
        return metrics

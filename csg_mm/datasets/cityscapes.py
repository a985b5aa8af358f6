"""Cityscapes (Cordts et al., CVPR 2016) val as a domain-generalisation target, and the 19-class
Cityscapes meta information every csg_mm segmentation data set shares."""
from mmseg.datasets import CityscapesDataset
from mmseg.registry import DATASETS

from .checks import CheckedSegDatasetMixin

# The 19 Cityscapes classes and palette (mmseg's CityscapesDataset): train ids 0..18, 255 ignore.
CITYSCAPES_METAINFO = dict(
    classes=tuple(CityscapesDataset.METAINFO['classes']),
    palette=[list(c) for c in CityscapesDataset.METAINFO['palette']])


@DATASETS.register_module()
class CheckedCityscapesDataset(CheckedSegDatasetMixin, CityscapesDataset):
    """mmseg's :class:`~mmseg.datasets.CityscapesDataset` (the same samples, suffixes
    ``_leftImg8bit.png`` / ``_gtFine_labelTrainIds.png``) with the load-time checks of
    :class:`~csg_mm.datasets.checks.CheckedSegDatasetMixin`: missing folders and labels named,
    ``expected_num`` (500 for val, 2975 for train; Cordts et al., CVPR 2016), label sizes.

    Layout: ``leftImg8bit/{split}/CITY/*_leftImg8bit.png`` and
    ``gtFine/{split}/CITY/*_gtFine_labelTrainIds.png`` (the train-id labels are written by
    cityscapesScripts' ``createTrainIdLabelImgs`` or mmseg's ``tools/dataset_converters/
    cityscapes.py``).

    Args:
        expected_num (int, optional): Number of images the split must have; None (default):
            not checked.
        check_sizes (bool): Compare image and label sizes at load time. Defaults to True.
        **kwargs: :class:`~mmseg.datasets.CityscapesDataset` arguments.
    """
    DATASET_NAME = 'Cityscapes'
    PREPARE = ('download leftImg8bit_trainvaltest.zip and gtFine_trainvaltest.zip into '
               '{data_root} and write the *_gtFine_labelTrainIds.png labels with mmseg\'s '
               'tools/dataset_converters/cityscapes.py {data_root} (docs/datasets.md)')

"""GTA5 data set (Richter et al., "Playing for Data: Ground Truth from Computer Games", ECCV 2016)
with the 19 Cityscapes classes: the synthetic source domain of the CSG paper's GTA5 -> Cityscapes
experiments (Chen et al., "Contrastive Syn-to-Real Generalization", ICLR 2021).
"""
from mmseg.datasets import BaseSegDataset
from mmseg.registry import DATASETS

from .checks import CheckedSegDatasetMixin
from .cityscapes import CITYSCAPES_METAINFO

CONVERTER = 'tools/dataset_converters/gta5.py'


@DATASETS.register_module()
class GTA5Dataset(CheckedSegDatasetMixin, BaseSegDataset):
    """GTA5 with Cityscapes train ids (19 classes, Cityscapes palette, 255 = ignore).

    Layout (after ``python tools/dataset_converters/gta5.py DATA_ROOT``)::

        DATA_ROOT/
          images/00001.png ...                      1914 x 1052 game frames
          labels/00001.png ...                      original labels (Cityscapes label ids)
          labels/00001_labelTrainIds.png ...        written by the converter (train ids)
          all.txt                                   usable frame ids, written by the converter

    Without ``ann_file`` all images under ``images/`` are used, except frames without a
    converted label (GTA5 has a few; the converter's ``--on-mismatch skip`` makes more), which are
    dropped with a warning. With ``ann_file`` (a txt of frame ids such as ``00001``, e.g. the
    converter's ``all.txt`` or a split list it filtered), exactly those frames are used and every
    image and converted label must exist.

    Loading fails early with a clear message
    (:class:`~csg_mm.datasets.checks.CheckedSegDatasetMixin`) when ``data_root``, the image
    folder, the label folder or ``ann_file`` is missing, when no image has ``img_suffix``, when
    the labels are not converted (no ``*_labelTrainIds.png`` at all while original labels exist,
    or a converted label holding values other than 0..18 and 255; the first label is read at
    load time to check) or when a label's size differs from its image's (``check_sizes``: two
    file-header reads per frame, see docs/datasets.md for the cost). These checks run for local
    files only.

    Args:
        img_suffix (str): Image suffix. Defaults to '.png'.
        seg_map_suffix (str): Label suffix. Defaults to '_labelTrainIds.png'.
        data_prefix (dict): Image / label folders relative to ``data_root``.
            Defaults to dict(img_path='images', seg_map_path='labels').
        expected_num (int, optional): Number of frames the set must have; None (default): not
            checked.
        check_sizes (bool): Compare image and label sizes at load time. Defaults to True.
        **kwargs: Other :class:`mmseg.datasets.BaseSegDataset` arguments (``data_root``,
            ``ann_file``, ``pipeline``, ``indices``, ...).
    """
    DATASET_NAME = 'GTA5'
    PREPARE = f'run `python {CONVERTER} {{data_root}}` first'
    MISSING_LABELS = 'drop'
    SOURCE_LABEL_SUFFIX = '.png'
    METAINFO = CITYSCAPES_METAINFO

    def __init__(self,
                 img_suffix: str = '.png',
                 seg_map_suffix: str = '_labelTrainIds.png',
                 data_prefix: dict = dict(img_path='images', seg_map_path='labels'),  # noqa: B006
                 **kwargs) -> None:
        super().__init__(
            img_suffix=img_suffix,
            seg_map_suffix=seg_map_suffix,
            data_prefix=data_prefix,
            **kwargs)

"""ACDC, the Adverse Conditions Dataset with Correspondences (Sakaridis et al., ICCV 2021): real
driving images in fog, night, rain and snow with Cityscapes train-id labels, a robustness
target for domain-generalisation segmentation."""
from mmseg.datasets import BaseSegDataset
from mmseg.registry import DATASETS

from .checks import CheckedSegDatasetMixin
from .cityscapes import CITYSCAPES_METAINFO


@DATASETS.register_module()
class ACDCDataset(CheckedSegDatasetMixin, BaseSegDataset):
    """ACDC, one condition and split per data set (19 Cityscapes classes, 255 = ignore).

    Layout (as released: rgb_anon_trainvaltest.zip, gt_trainval.zip)::

        DATA_ROOT/
          rgb_anon/{fog,night,rain,snow}/{train,val,test}/GOPRxxxx/*_rgb_anon.png   1920 x 1080
          gt/{fog,night,rain,snow}/{train,val}/GOPRxxxx/*_gt_labelTrainIds.png

    e.g. ``data_prefix=dict(img_path='rgb_anon/fog/val', seg_map_path='gt/fog/val')``. The test
    split has no public labels (scored by the benchmark server). Every image needs its label; the
    load-time checks are :class:`~csg_mm.datasets.checks.CheckedSegDatasetMixin`'s.

    Args:
        img_suffix (str): Defaults to '_rgb_anon.png'.
        seg_map_suffix (str): Defaults to '_gt_labelTrainIds.png'.
        expected_num (int, optional): Number of images the split must have (val: fog 100,
            night 106, rain 100, snow 100); None (default): not checked.
        check_sizes (bool): Compare image and label sizes at load time. Defaults to True.
        **kwargs: Other :class:`mmseg.datasets.BaseSegDataset` arguments (``data_root``,
            ``data_prefix``, ``pipeline``, ...).
    """
    DATASET_NAME = 'ACDC'
    PREPARE = ('unpack rgb_anon_trainvaltest.zip and gt_trainval.zip into {data_root} '
               '(docs/datasets.md)')
    METAINFO = CITYSCAPES_METAINFO

    def __init__(self,
                 img_suffix: str = '_rgb_anon.png',
                 seg_map_suffix: str = '_gt_labelTrainIds.png',
                 **kwargs) -> None:
        super().__init__(img_suffix=img_suffix, seg_map_suffix=seg_map_suffix, **kwargs)

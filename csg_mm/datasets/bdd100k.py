"""BDD100K semantic segmentation (Yu et al., CVPR 2020) val as a domain-generalisation target."""
from mmseg.datasets import BDD100KDataset
from mmseg.registry import DATASETS

from .checks import CheckedSegDatasetMixin


@DATASETS.register_module()
class CheckedBDD100KDataset(CheckedSegDatasetMixin, BDD100KDataset):
    """mmseg's :class:`~mmseg.datasets.BDD100KDataset` (the same samples: ``.jpg`` images,
    ``.png`` labels already in the 19 Cityscapes train ids, 255 = ignore) with the load-time
    checks of :class:`~csg_mm.datasets.checks.CheckedSegDatasetMixin`: missing folders and labels
    named, ``expected_num`` (1000 for val, 7000 for train), label sizes.

    Layout (the "10K" semantic segmentation release): ``images/10k/{train,val}/*.jpg``
    (1280 x 720) and ``labels/sem_seg/masks/{train,val}/*.png``.

    Args:
        expected_num (int, optional): Number of images the split must have; None (default):
            not checked.
        check_sizes (bool): Compare image and label sizes at load time. Defaults to True.
        **kwargs: :class:`~mmseg.datasets.BDD100KDataset` arguments.
    """
    DATASET_NAME = 'BDD100K'
    PREPARE = ('unpack bdd100k_images_10k.zip and bdd100k_sem_seg_labels_trainval.zip into '
               '{data_root} (images/10k/val, labels/sem_seg/masks/val; docs/datasets.md)')

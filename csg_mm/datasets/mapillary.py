"""Mapillary Vistas v1.2 (Neuhold et al., ICCV 2017) with its labels mapped to the 19 Cityscapes
classes: a real target domain for domain-generalisation segmentation."""
from mmseg.datasets import BaseSegDataset
from mmseg.registry import DATASETS

from .checks import CheckedSegDatasetMixin
from .cityscapes import CITYSCAPES_METAINFO

CONVERTER = 'tools/dataset_converters/mapillary.py'


@DATASETS.register_module()
class Mapillary19Dataset(CheckedSegDatasetMixin, BaseSegDataset):
    """Mapillary Vistas v1.2 with Cityscapes train ids (19 classes, Cityscapes palette,
    255 = ignore). mmseg's ``MapillaryDataset_v1`` has the native 66 classes only.

    Layout (after ``python tools/dataset_converters/mapillary.py DATA_ROOT``; the label-by-label
    table is in docs/datasets.md)::

        DATA_ROOT/
          config.json                              66 labels (name, readable, color)
          validation/images/XXXX.jpg ...           2,000 images of varying size
          validation/labels/XXXX.png ...           original labels (v1.2 label ids)
          validation/labels_trainIds/XXXX.png ...  written by the converter (train ids)

    The converter's ``--short-side N`` writes ``validation/images_sN`` and
    ``validation/labels_trainIds_sN``: point ``data_prefix`` there. Every image needs its label;
    the load-time checks are :class:`~csg_mm.datasets.checks.CheckedSegDatasetMixin`'s.

    Args:
        img_suffix (str): Defaults to '.jpg'.
        seg_map_suffix (str): Defaults to '.png'.
        data_prefix (dict): Defaults to dict(img_path='validation/images',
            seg_map_path='validation/labels_trainIds').
        expected_num (int, optional): Number of images the split must have (2000 for val);
            None (default): not checked.
        check_sizes (bool): Compare image and label sizes at load time. Defaults to True.
        **kwargs: Other :class:`mmseg.datasets.BaseSegDataset` arguments.
    """
    DATASET_NAME = 'Mapillary'
    PREPARE = f'run `python {CONVERTER} {{data_root}}` first'
    METAINFO = CITYSCAPES_METAINFO

    def __init__(self,
                 img_suffix: str = '.jpg',
                 seg_map_suffix: str = '.png',
                 data_prefix: dict = dict(
                     img_path='validation/images', seg_map_path='validation/labels_trainIds'),
                 **kwargs) -> None:
        super().__init__(
            img_suffix=img_suffix, seg_map_suffix=seg_map_suffix, data_prefix=data_prefix,
            **kwargs)

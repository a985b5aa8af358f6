# Copyright (c) csg_mm contributors. All rights reserved.
"""VisDA-2017 classification dataset (synthetic ``train`` / real ``validation``)."""
from typing import List, Optional, Union

from mmengine.fileio import get_file_backend, list_from_file
from mmpretrain.datasets import BaseDataset
from mmpretrain.registry import DATASETS

VISDA17_CATEGORIES = ('aeroplane', 'bicycle', 'bus', 'car', 'horse', 'knife', 'motorcycle',
                      'person', 'plant', 'skateboard', 'train', 'truck')


@DATASETS.register_module()
class VisDA17Dataset(BaseDataset):
    """The VisDA-2017 classification dataset.

    `VisDA-2017 <http://ai.bu.edu/visda-2017/>`_ (classification track) has 12 classes. Its
    ``train`` split holds about 152k synthetic renderings of 3D models, its ``validation`` split
    about 55k real crops from MS-COCO. CSG (Chen et al., ICLR 2021) trains on ``train`` and reports
    the mean of the per-class accuracies on ``validation`` (see
    :class:`csg_mm.evaluation.VisDAMetric`).

    Expected layout (as unpacked from the official archives) ::

        data/visda17
        ├── train
        │   ├── image_list.txt      # "aeroplane/src_1_02691156_..._150.png 0"
        │   ├── aeroplane
        │   │   └── src_1_02691156_....png
        │   └── ...
        ├── validation
        │   ├── image_list.txt      # "aeroplane/aeroplane_000001.jpg 0"
        │   └── ...
        └── test                    # optional
            └── image_list.txt

    Each non-empty line of ``image_list.txt`` is ``<relative/path> <label>``; the path is relative
    to the split folder (``data_prefix``) and the label is an integer in ``[0, 12)`` indexing
    :attr:`METAINFO` ``classes``. Blank lines are skipped. Lines without a label are accepted only
    with ``with_label=False`` (e.g. an unlabelled test list); such samples carry no ``gt_label``.

    Errors are raised when the dataset is loaded (at construction unless ``lazy_init=True``) and
    name the offending file, line number and value: a missing list file
    (:class:`FileNotFoundError`), listed images that do not exist (:class:`FileNotFoundError`, only
    when ``check_files=True``), a malformed line, or a label that is not an integer in range
    (:class:`ValueError`).

    Args:
        data_root (str): The root directory of VisDA-2017 (the folder holding ``train/`` and
            ``validation/``). Defaults to ''.
        split (str): One of ``'train'``, ``'validation'`` and ``'test'``. Defaults to ``'train'``.
        ann_file (str, optional): The image list, relative to ``data_root`` unless absolute.
            Defaults to None, meaning ``'<split>/image_list.txt'``.
        data_prefix (str | dict, optional): The folder the listed paths are relative to, relative
            to ``data_root`` unless absolute. Defaults to None, meaning ``'<split>'``.
        with_label (bool): Whether every line must carry a label. Defaults to True.
        check_files (bool): Whether to check at load time that every listed image exists (one
            ``exists`` call per image: a few seconds for the 207k images on a local disk).
            Defaults to True.
        backend_args (dict, optional): Arguments of the file backend used to read the list and
            check the images. Defaults to None (inferred from the path).
        **kwargs: Other arguments of :class:`mmpretrain.datasets.BaseDataset`, e.g. ``pipeline``,
            ``test_mode``, ``indices``, ``lazy_init``.

    Examples:
        >>> from csg_mm.datasets import VisDA17Dataset
        >>> train_set = VisDA17Dataset(data_root='data/visda17', split='train')
        >>> val_set = VisDA17Dataset(data_root='data/visda17', split='validation')
    """

    METAINFO = {'classes': VISDA17_CATEGORIES}
    SPLITS = ('train', 'validation', 'test')

    def __init__(self,
                 data_root: str = '',
                 split: str = 'train',
                 ann_file: Optional[str] = None,
                 data_prefix: Union[str, dict, None] = None,
                 with_label: bool = True,
                 check_files: bool = True,
                 backend_args: Optional[dict] = None,
                 **kwargs) -> None:
        if split not in self.SPLITS:
            raise ValueError(f'VisDA17Dataset: split must be one of {self.SPLITS}, '
                             f'got {split!r}.')
        self.split = split
        self.with_label = with_label
        self.check_files = check_files
        self.backend_args = backend_args
        if ann_file is None:
            ann_file = f'{split}/image_list.txt'
        if data_prefix is None:
            data_prefix = split
        super().__init__(
            ann_file=ann_file, data_root=data_root, data_prefix=data_prefix, **kwargs)

    def load_data_list(self) -> List[dict]:
        """Parse ``image_list.txt`` into ``dict(img_path=..., gt_label=...)`` items."""
        list_backend = get_file_backend(self.ann_file, backend_args=self.backend_args)
        if not list_backend.exists(self.ann_file):
            raise FileNotFoundError(
                f'VisDA17Dataset ({self.split}): image list not found: {self.ann_file}. '
                f'Expected <data_root>/<split>/image_list.txt (data_root={self.data_root!r}).')
        lines = list_from_file(self.ann_file, backend_args=self.backend_args)

        num_classes = len(self.CLASSES)
        img_backend = get_file_backend(self.img_prefix, backend_args=self.backend_args)
        data_list = []
        missing = []
        for lineno, raw in enumerate(lines, start=1):
            line = raw.strip()
            if not line:
                continue
            # rsplit keeps paths containing spaces intact
            parts = line.rsplit(maxsplit=1)
            where = f'{self.ann_file}, line {lineno}'
            if len(parts) == 1:
                if self.with_label:
                    raise ValueError(
                        f'VisDA17Dataset: malformed line in {where}: {raw!r}; expected '
                        '"<relative/path> <label>" (use with_label=False for unlabelled lists).')
                rel_path, label_str = parts[0], None
            else:
                rel_path, label_str = parts
                if not self.with_label and not label_str.lstrip('+-').isdigit():
                    # an unlabelled list whose paths contain a space
                    rel_path, label_str = line, None
            info = dict(img_path=img_backend.join_path(self.img_prefix, rel_path))
            if label_str is not None:
                try:
                    label = int(label_str)
                except ValueError:
                    raise ValueError(
                        f'VisDA17Dataset: label is not an integer in {where}: {label_str!r} '
                        f'(line {raw!r}).') from None
                if not 0 <= label < num_classes:
                    raise ValueError(
                        f'VisDA17Dataset: label out of range [0, {num_classes - 1}] in {where}: '
                        f'{label} (line {raw!r}).')
                info['gt_label'] = label
            if self.check_files and not img_backend.exists(info['img_path']):
                missing.append((lineno, info['img_path']))
            data_list.append(info)

        if missing:
            lineno, path = missing[0]
            raise FileNotFoundError(
                f'VisDA17Dataset ({self.split}): {len(missing)} image(s) listed in '
                f'{self.ann_file} do not exist; first at line {lineno}: {path}. '
                'Check data_root / data_prefix, or pass check_files=False to skip this check.')
        return data_list

    def extra_repr(self) -> List[str]:
        """The extra repr information of the dataset."""
        return [
            f'Split: \t{self.split}',
            f'Annotation file: \t{self.ann_file}',
            f'Prefix of images: \t{self.img_prefix}',
        ]

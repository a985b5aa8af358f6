"""GTA5 data set (Richter et al., "Playing for Data: Ground Truth from Computer Games", ECCV 2016)
with the 19 Cityscapes classes: the synthetic source domain of the CSG paper's GTA5 -> Cityscapes
experiments (Chen et al., "Contrastive Syn-to-Real Generalization", ICLR 2021).
"""
import logging
import os
import os.path as osp
from typing import List, Optional

import numpy as np
from mmengine import fileio
from mmengine.logging import print_log
from mmseg.datasets import BaseSegDataset, CityscapesDataset
from mmseg.registry import DATASETS
from PIL import Image

CONVERTER = 'tools/dataset_converters/gta5.py'


@DATASETS.register_module()
class GTA5Dataset(BaseSegDataset):
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

    Loading fails early with a clear message when ``data_root``, the image folder, the label
    folder or ``ann_file`` is missing, or when the labels are not converted (no
    ``*_labelTrainIds.png`` at all while original labels exist, or a converted label holding
    values other than 0..18 and 255; the first label is read at load time to check). These
    checks run for local files only.

    Args:
        img_suffix (str): Image suffix. Defaults to '.png'.
        seg_map_suffix (str): Label suffix. Defaults to '_labelTrainIds.png'.
        data_prefix (dict): Image / label folders relative to ``data_root``.
            Defaults to dict(img_path='images', seg_map_path='labels').
        **kwargs: Other :class:`mmseg.datasets.BaseSegDataset` arguments (``data_root``,
            ``ann_file``, ``pipeline``, ``indices``, ...).
    """
    METAINFO = dict(
        classes=tuple(CityscapesDataset.METAINFO['classes']),
        palette=[list(c) for c in CityscapesDataset.METAINFO['palette']])

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

    # ------------------------------------------------------------------ checks
    def _is_local(self, path: str) -> bool:
        try:
            backend = fileio.get_file_backend(path, backend_args=self.backend_args)
        except Exception:
            return False
        return isinstance(backend, fileio.LocalBackend)

    def _convert_hint(self) -> str:
        return f'run `python {CONVERTER} {self.data_root or "DATA_ROOT"}` first'

    def _check_paths(self, img_dir: str, ann_dir: Optional[str]) -> None:
        if self.data_root and not osp.isdir(self.data_root):
            raise FileNotFoundError(f'GTA5 data_root not found: {self.data_root}')
        if not img_dir or not osp.isdir(img_dir):
            raise FileNotFoundError(f'GTA5 image folder not found: {img_dir} '
                                    f'(data_prefix img_path under data_root {self.data_root})')
        if ann_dir and not osp.isdir(ann_dir):
            raise FileNotFoundError(f'GTA5 label folder not found: {ann_dir} '
                                    f'(data_prefix seg_map_path under data_root {self.data_root})')
        if self.ann_file and not osp.isfile(self.ann_file):
            raise FileNotFoundError(
                f'GTA5 split file (ann_file) not found: {self.ann_file}. `{CONVERTER}` writes '
                "'all.txt' (all usable frames) and, with --split-dir, filtered split lists")

    def _check_train_ids(self, seg_map_path: str) -> None:
        """Read one converted label and check it holds train ids only."""
        try:
            with Image.open(seg_map_path) as img:
                arr = np.array(img)
        except OSError as e:
            raise RuntimeError(f'cannot read GTA5 label {seg_map_path}: {e}') from e
        num_classes = len(self.METAINFO['classes'])
        values = np.unique(arr)
        bad = values[(values >= num_classes) & (values != self.ignore_index)]
        if arr.ndim != 2 or bad.size:
            found = ('a multi-channel image' if arr.ndim != 2 else
                     f'values {bad[:10].tolist()} outside 0..{num_classes - 1} and '
                     f'{self.ignore_index}')
            raise RuntimeError(
                f'GTA5 label {seg_map_path} does not hold Cityscapes train ids ({found}); the '
                f'labels look unconverted: {self._convert_hint()}')

    def load_data_list(self) -> List[dict]:
        """Load the frame list (see the class docstring) after checking the folders."""
        img_dir = self.data_prefix.get('img_path', None)
        ann_dir = self.data_prefix.get('seg_map_path', None)
        if not self._is_local(img_dir or self.data_root or '.'):
            return super().load_data_list()
        self._check_paths(img_dir, ann_dir)
        data_list = super().load_data_list()
        if not ann_dir:
            return data_list

        label_names = set(os.listdir(ann_dir))
        stems = [osp.basename(d['seg_map_path'])[:-len(self.seg_map_suffix)] for d in data_list]
        has_label = [osp.basename(d['seg_map_path']) in label_names for d in data_list]
        if data_list and not any(has_label):
            raw = [s for s in stems if s + '.png' in label_names]
            if raw:
                raise RuntimeError(
                    f'GTA5 labels in {ann_dir} are not converted to train ids (no '
                    f'*{self.seg_map_suffix}, but original labels such as {raw[0]}.png); '
                    f'{self._convert_hint()}')
        missing = [s for s, c in zip(stems, has_label) if not c]
        if self.ann_file:
            missing_img = [d['img_path'] for d in data_list if not osp.isfile(d['img_path'])]
            if missing_img or missing:
                raise FileNotFoundError(
                    f'GTA5 split {self.ann_file} lists frames that do not exist: '
                    f'{len(missing_img)} image(s) (e.g. {missing_img[:3]}), {len(missing)} '
                    f'*{self.seg_map_suffix} label(s) in {ann_dir} (e.g. {missing[:3]}). '
                    f'Use the lists written by `{CONVERTER}` (they leave out frames without a '
                    'label and frames excluded by --on-mismatch skip)')
        elif missing:
            print_log(
                f'GTA5Dataset: dropped {len(missing)} image(s) without a '
                f'*{self.seg_map_suffix} label in {ann_dir} (e.g. {missing[:5]}). Expected for '
                'frames GTA5 has no label for or that the converter excluded (--on-mismatch '
                f'skip); if a conversion was interrupted, rerun `{CONVERTER}`',
                logger='current',
                level=logging.WARNING)
            data_list = [d for d, c in zip(data_list, has_label) if c]
        if data_list:
            self._check_train_ids(data_list[0]['seg_map_path'])
        return data_list

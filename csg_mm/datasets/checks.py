"""Load-time checks for segmentation data sets in the 19 Cityscapes train ids.

:class:`CheckedSegDatasetMixin` goes before an mmseg :class:`~mmseg.datasets.BaseSegDataset`
subclass in the bases and checks what the folder scan (or ``ann_file``) found, so that bad data
stop the run at construction with a message naming the folder, file or value and what to do,
instead of an mmengine error (``need at least one array to concatenate`` for a suffix that
matches nothing) or a crash in the metric many iterations later:

- ``data_root``, the image folder, the label folder or ``ann_file`` missing
  (:class:`FileNotFoundError` naming it);
- 0 images with ``img_suffix`` in the image folder (:class:`FileNotFoundError`: "0 images with
  suffix .jpg in DIR", with the suffixes that are there); likewise 0 labels with
  ``seg_map_suffix`` (the labels not converted yet when the sources are there);
- ``data_root`` missing for a data set with a converter: the data is not there, download and
  unpack it, then convert (the converter cannot run on a missing folder);
- images without their label: an error naming them (:attr:`MISSING_LABELS` ``'error'``, targets;
  always with ``ann_file``; with a converter, which has run since other labels are there: their
  source labels are missing), or dropped with a warning (``'drop'``, training sources that have
  a few unlabelled frames, such as GTA5);
- ``expected_num`` (checked only when set, e.g. 500 for Cityscapes val in the config bases):
  another count is an error naming the count found, the folders and, per subfolder, the counts,
  and the config key to change (``expected_num`` of this data set, named by its data_root);
- a label of another size than its image (``check_sizes``, file headers only): an error naming
  both sizes and files;
- the first label not single-channel with values in 0..18 and 255: an error saying the labels
  are not (correctly) converted (labels not converted at all: :class:`RuntimeError`).

The checks run for local paths only (other file backends are listed as mmseg does).
"""
import logging
import os
import os.path as osp
import re
from collections import Counter
from typing import List, Optional

import numpy as np
from mmengine import fileio
from mmengine.logging import print_log
from PIL import Image

from .label_maps import looks_like_train_ids

MAX_LISTED = 5


def _few(items) -> str:
    items = list(items)
    more = f' ... (+{len(items) - MAX_LISTED} more)' if len(items) > MAX_LISTED else ''
    return ', '.join(str(i) for i in items[:MAX_LISTED]) + more


def _suffixes_in(folder: str, limit: int = 5) -> List[str]:
    """The most common file suffixes (after the first dot of the name) under ``folder``."""
    counts = Counter()
    for _, _, files in os.walk(folder):
        for n in files:
            if not n.startswith('.'):
                counts['.' + n.split('.', 1)[1] if '.' in n else n] += 1
    return [f'{s} ({c})' for s, c in counts.most_common(limit)]


class CheckedSegDatasetMixin:
    """Checks for a :class:`~mmseg.datasets.BaseSegDataset` subclass (see the module docstring).

    Class attributes set by the data set: :attr:`DATASET_NAME` (for messages), :attr:`PREPARE`
    (what to run to prepare or convert the data; ``{data_root}`` is filled in),
    :attr:`MISSING_LABELS` (``'error'`` or ``'drop'``), :attr:`SOURCE_LABEL_SUFFIX` (the suffix
    of the unconverted labels a converter leaves beside the converted ones, if any).

    Args:
        expected_num (int, optional): The number of samples the data set must have (e.g. 500 for
            Cityscapes val). None (default) skips the check, e.g. for tiny test data or a subset.
        check_sizes (bool): Compare every image's size with its label's (two header reads per
            sample). Defaults to True.
        **kwargs: The data set's own arguments.
    """
    DATASET_NAME = 'dataset'
    PREPARE = 'see docs/datasets.md'
    MISSING_LABELS = 'error'
    SOURCE_LABEL_SUFFIX = None  # a converter's source label beside the converted one: ID.png

    def __init__(self, *args, expected_num: Optional[int] = None, check_sizes: bool = True,
                 **kwargs) -> None:
        if expected_num is not None and (not isinstance(expected_num, int) or expected_num < 1):
            raise ValueError(f'{type(self).__name__}: expected_num must be a positive int or '
                             f'None, got {expected_num!r}')
        self.expected_num = expected_num
        self.check_sizes = check_sizes
        super().__init__(*args, **kwargs)

    # ------------------------------------------------------------------ helpers
    def _is_local(self, path: str) -> bool:
        try:
            backend = fileio.get_file_backend(path, backend_args=self.backend_args)
        except Exception:
            return False
        return isinstance(backend, fileio.LocalBackend)

    def _prepare(self) -> str:
        return self.PREPARE.format(data_root=self.data_root or 'DATA_ROOT')

    def _converter_command(self) -> Optional[str]:
        """The converter command :attr:`PREPARE` names (``python tools/dataset_converters/...``),
        or None for a data set used as released."""
        match = re.search(r'`(python \S*dataset_converters/[^`]+)`', self._prepare())
        return match.group(1) if match else None

    def _where(self) -> str:
        return f'data_prefix under data_root {self.data_root!r}'

    def _check_paths(self, img_dir: Optional[str], ann_dir: Optional[str]) -> None:
        name = self.DATASET_NAME
        if self.data_root and not osp.isdir(self.data_root):
            command = self._converter_command()
            todo = (f'the {name} data is not there: download {name}, unpack it to '
                    f'{self.data_root} (layout: docs/datasets.md), then convert its labels with '
                    f'`{command}`' if command else self._prepare())
            raise FileNotFoundError(f'{name} data_root not found: {self.data_root} ({todo})')
        if not img_dir or not osp.isdir(img_dir):
            raise FileNotFoundError(f'{name} image folder not found: {img_dir} ({self._where()}; '
                                    f'{self._prepare()})')
        if ann_dir and not osp.isdir(ann_dir):
            raise FileNotFoundError(f'{name} label folder not found: {ann_dir} ({self._where()}; '
                                    f'{self._prepare()})')
        if self.ann_file and not osp.isfile(self.ann_file):
            raise FileNotFoundError(f'{name} split file (ann_file) not found: {self.ann_file}')

    def _check_images(self, data_list: List[dict], img_dir: str) -> None:
        if not data_list:
            found = _suffixes_in(img_dir)
            raise FileNotFoundError(
                f'{self.DATASET_NAME}: 0 images with suffix {self.img_suffix} in {img_dir} '
                f'(found: {", ".join(found) if found else "no files"}); set img_suffix '
                f'or data_prefix.img_path ({self._prepare()})')
        if self.ann_file:
            missing = [d['img_path'] for d in data_list if not osp.isfile(d['img_path'])]
            if missing:
                raise FileNotFoundError(
                    f'{self.DATASET_NAME}: {len(missing)} image(s) listed in {self.ann_file} do '
                    f'not exist: {_few(missing)}')

    def _check_labels(self, data_list: List[dict], ann_dir: str) -> List[dict]:
        has_label = [osp.isfile(d['seg_map_path']) for d in data_list]
        if not any(has_label):
            found = _suffixes_in(ann_dir)
            msg = (f'{self.DATASET_NAME}: 0 labels with suffix {self.seg_map_suffix} in {ann_dir} '
                   f'for the {len(data_list)} images (found: '
                   f'{", ".join(found) if found else "no files"})')
            label_dir = osp.dirname(data_list[0]['seg_map_path'])
            stem = osp.basename(data_list[0]['seg_map_path'])[:-len(self.seg_map_suffix)]
            others = sorted(n for n in os.listdir(label_dir)
                            if n.startswith(stem)) if osp.isdir(label_dir) else []
            source = f'{stem}{self.SOURCE_LABEL_SUFFIX}' if self.SOURCE_LABEL_SUFFIX else None
            if others == [source]:  # e.g. GTA5's 00001.png only, no 00001_labelTrainIds.png
                raise RuntimeError(f'{msg}; the labels are not converted (there is {source} '
                                   f'but no {stem}{self.seg_map_suffix}): {self._prepare()}')
            others = [n for n in others if n != source] or others
            there = f'there is {others[0]} but no {stem}{self.seg_map_suffix}; ' if others else ''
            raise FileNotFoundError(f'{msg}; {there}set seg_map_suffix or '
                                    f'data_prefix.seg_map_path ({self._prepare()})')
        missing = [d['seg_map_path'] for d, ok in zip(data_list, has_label) if not ok]
        if not missing:
            return data_list
        if self.MISSING_LABELS == 'drop' and not self.ann_file:
            print_log(
                f'{type(self).__name__}: dropped {len(missing)} image(s) without a '
                f'*{self.seg_map_suffix} label in {ann_dir} ({_few(map(osp.basename, missing))}). '
                'Expected for frames without a label or excluded by the converter '
                f'(--on-mismatch skip); if a conversion was interrupted: {self._prepare()}',
                logger='current',
                level=logging.WARNING)
            return [d for d, ok in zip(data_list, has_label) if ok]
        msg = (f'{self.DATASET_NAME}: {len(missing)} of {len(data_list)} image(s) have no label '
               f'with suffix {self.seg_map_suffix}: {_few(missing)}')
        command = self._converter_command()
        if command is None:
            raise FileNotFoundError(f'{msg} ({self._prepare()})')
        raise FileNotFoundError(
            f'{msg}. The other labels are converted, so the converter has run; it converts every '
            'source label and lists the images whose source label is missing in its report '
            '("images without label"). Restore these labels from the download and run '
            f'`{command}` again (it converts only what is new), or remove these images; if the '
            'converter failed on them, its report names the error')

    def _check_count(self, data_list: List[dict], img_dir: str) -> None:
        if self.expected_num is None or len(data_list) == self.expected_num:
            return
        per_dir = Counter(osp.relpath(osp.dirname(d['img_path']), img_dir) for d in data_list)
        detail = '' if list(per_dir) == ['.'] else ' (per subfolder: ' + ', '.join(
            f'{k} {v}' for k, v in sorted(per_dir.items())) + ')'
        what = 'some are missing' if len(data_list) < self.expected_num else 'extra files'
        raise ValueError(
            f'{self.DATASET_NAME}: found {len(data_list)} image/label pairs with suffixes '
            f'{self.img_suffix} / {self.seg_map_suffix} in {img_dir}, expected '
            f'{self.expected_num}{detail}: {what}; results on another set are not comparable. '
            f'Complete the data, or set `expected_num` of this data set ({type(self).__name__}, '
            f'data_root {self.data_root!r}) in the config: expected_num=None uses these files. '
            'It is a key of the data set\'s dict in the dataloader, e.g. '
            '`--cfg-options test_dataloader.dataset.expected_num=None`, or for a test set of '
            'several data sets `test_dataloader.dataset.datasets.N.expected_num=None` with N '
            'the position of this data set in `datasets` (docs/datasets.md, "Data in another '
            'folder"); val_dataloader likewise')

    def _check_sizes(self, data_list: List[dict]) -> None:
        bad = []
        for d in data_list:
            with Image.open(d['img_path']) as im, Image.open(d['seg_map_path']) as lab:
                if im.size != lab.size:
                    bad.append((d, im.size, lab.size))
        if bad:
            d, isz, lsz = bad[0]
            raise ValueError(
                f'{self.DATASET_NAME}: {len(bad)} label(s) differ in size from their image, e.g. '
                f'label {d["seg_map_path"]} is {lsz[0]}x{lsz[1]} but image {d["img_path"]} is '
                f'{isz[0]}x{isz[1]} (width x height); all: '
                f'{_few(osp.basename(b[0]["seg_map_path"]) for b in bad)}. Resize the labels to '
                'their images with nearest neighbour (the converters do: --on-mismatch resize) '
                'or remove these pairs')

    def _check_train_ids(self, seg_map_path: str) -> None:
        try:
            with Image.open(seg_map_path) as img:
                arr = np.array(img)
        except OSError as e:
            raise RuntimeError(f'cannot read {self.DATASET_NAME} label {seg_map_path}: {e}') \
                from e
        values = np.unique(arr)
        if arr.ndim != 2 or not looks_like_train_ids(values):
            found = ('a multi-channel image' if arr.ndim != 2 else
                     f'values {values[(values >= 19) & (values != 255)][:10].tolist()} outside '
                     '0..18 and 255')
            raise RuntimeError(
                f'{self.DATASET_NAME} label {seg_map_path} does not hold Cityscapes train ids '
                f'({found}); the labels look unconverted: {self._prepare()}')

    # ------------------------------------------------------------------ loading
    def load_data_list(self) -> List[dict]:
        """mmseg's data list, checked (see the module docstring)."""
        img_dir = self.data_prefix.get('img_path', None)
        ann_dir = self.data_prefix.get('seg_map_path', None)
        if not self._is_local(img_dir or self.data_root or '.'):
            return super().load_data_list()
        self._check_paths(img_dir, ann_dir)
        data_list = super().load_data_list()
        self._check_images(data_list, img_dir)
        if ann_dir:
            data_list = self._check_labels(data_list, ann_dir)
        self._check_count(data_list, img_dir)
        if ann_dir:
            self._check_train_ids(data_list[0]['seg_map_path'])
            if self.check_sizes:
                self._check_sizes(data_list)
        return data_list

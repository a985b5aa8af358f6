"""Mapillary Vistas v1.2 labels -> 19 Cityscapes train ids (for
:class:`csg_mm.datasets.Mapillary19Dataset`).

Mapillary Vistas v1.2 (Neuhold et al., ICCV 2017) ships ``config.json`` (66 labels in id order,
each with a ``name`` such as ``construction--flat--road``), ``{split}/images/*.jpg`` and
``{split}/labels/*.png`` (8-bit label ids into that list). The v2.0 release bundles v1.2 as
``config_v1.2.json`` and ``{split}/v1.2/labels/``; both layouts are found. The table is looked up
BY NAME in the data set's own ``config.json``
(:data:`csg_mm.datasets.label_maps.MAPILLARY_NAME_TO_TRAIN_ID`, docs/datasets.md), so a config
with other names is refused instead of mapped by position.

Outputs (the rules shared by all converters are in :mod:`.common`)::

    {split}/labels_trainIds[_CONVENTION][_sN]/XXXX.png   train ids (mode L, 255 = ignore)
    {split}/images_sN/XXXX.jpg                           with --short-side N only (JPEG q95)
    {split}/labels_trainIds[_CONVENTION][_sN].json       the table applied (name -> train id)

A run whose table differs from the record (another ``--config``, a changed table) is refused
before any work (:func:`check_mapping`), as are labels there without a record.

``_CONVENTION`` is left out for the default convention (``robustnet``).
"""
import json
import os
import os.path as osp
from typing import List, Optional

import numpy as np
from PIL import Image

from ..label_maps import (
    IGNORE_INDEX,
    MAPILLARY_DEFAULT_CONVENTION,
    MAPILLARY_NAME_TO_TRAIN_ID,
    looks_like_train_ids,
    mapillary_lut,
)
from .common import (
    AlreadyConverted,
    ConversionError,
    Task,
    check_options,
    check_record,
    format_summary,
    list_files,
    remove_temporaries,
    require_dir,
    run,
    write_record,
)

CONFIG_NAMES = ('config.json', 'config_v1.2.json')
LABEL_DIRS = ('labels', osp.join('v1.2', 'labels'))
SPLITS = ('training', 'validation')


class Decoder:
    """Callable (picklable) reading one Mapillary label and mapping it with ``lut``."""

    def __init__(self, lut: np.ndarray, config: str) -> None:
        self.lut = lut
        self.config = config

    def __call__(self, path: str) -> np.ndarray:
        """Train ids (uint8, (H, W)) of the label at ``path``.

        Raises:
            AlreadyConverted: a label holding values beyond config.json's label ids that are all
                train ids (0..18, 255).
            ValueError: a multi-channel label or other values beyond the label ids.
        """
        with Image.open(path) as lab:
            ids = np.array(lab)  # palette indices / grey values = label ids
        if ids.ndim != 2:
            raise ValueError(f'expected a single-channel label (label ids), got shape '
                             f'{ids.shape}; is it a colour-coded label?')
        values = np.unique(ids)
        num = len(self.lut)
        if values.max() >= num:
            if looks_like_train_ids(values):
                raise AlreadyConverted(
                    f'{path} holds values {values[values >= num].tolist()} beyond the {num} '
                    f'label ids of {self.config} and only Cityscapes train ids (0..18, 255): it '
                    'looks converted already; not converted again. Restore the original label')
            raise ValueError(f'{path}: values {values[values >= num][:10].tolist()} beyond the '
                             f'{num} label ids of {self.config}')
        return self.lut[ids]


def find_config(data_root: str, config: Optional[str] = None) -> str:
    """The label definition file: ``config`` if given, else the first of
    :data:`CONFIG_NAMES` under ``data_root``."""
    if config is not None:
        if not osp.isfile(config):
            raise ConversionError(f'Mapillary label definitions not found: {config}')
        return config
    for name in CONFIG_NAMES:
        if osp.isfile(osp.join(data_root, name)):
            return osp.join(data_root, name)
    raise ConversionError(f'Mapillary label definitions not found: none of {list(CONFIG_NAMES)} '
                          f'in {data_root} (pass --config PATH)')


def read_label_names(config: str) -> List[str]:
    """``[label['name'] for label in json['labels']]`` of a Mapillary ``config.json``."""
    try:
        with open(config) as f:
            labels = json.load(f)['labels']
        return [str(label['name']) for label in labels]
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise ConversionError(
            f'cannot read the label names of {config} (expected '
            f'{{"labels": [{{"name": ...}}, ...]}}): {type(e).__name__}: {e}') from None


def output_names(convention: str, short_side: Optional[int]) -> dict:
    """Folder names (relative to the split folder) written for these options."""
    tag = '' if convention == MAPILLARY_DEFAULT_CONVENTION else f'_{convention}'
    size = f'_s{short_side}' if short_side else ''
    return dict(labels=f'labels_trainIds{tag}{size}',
                images=f'images_s{short_side}' if short_side else 'images')


def check_mapping(out_dir: str, record: dict) -> None:
    """:func:`.common.check_record` for one split's output folder ``out_dir`` (labels there
    without a record are refused too: every earlier version wrote one)."""
    check_record(out_dir, out_dir + '.json', record, require=True, todo=(
        f'Remove {out_dir} and {out_dir}.json (the old labels) and run again, or run with the '
        'label definitions (--config) and --convention the labels were made with'))


def convert(data_root: str,
            splits=('validation', ),
            nproc: int = 1,
            on_mismatch: str = 'resize',
            convention: str = MAPILLARY_DEFAULT_CONVENTION,
            short_side: Optional[int] = None,
            config: Optional[str] = None) -> dict:
    """Convert the labels of the given splits; the summary dict of :func:`.common.run` (all
    splits together, ids as ``split/stem``) plus ``outputs`` (split -> folders written),
    ``table`` (the label name -> train id table applied) and ``config``.

    Raises:
        ConversionError: a missing folder or file, label definitions without the v1.2 names, or
            a bad option.
    """
    check_options(nproc, on_mismatch)
    require_dir(data_root, 'Mapillary data root', 'a folder holding config.json, training/ and '
                'validation/')
    if convention not in MAPILLARY_NAME_TO_TRAIN_ID:
        raise ConversionError(f'--convention must be one of {sorted(MAPILLARY_NAME_TO_TRAIN_ID)}, '
                              f'got {convention}')
    if short_side is not None and short_side < 1:
        raise ConversionError(f'--short-side must be a positive number of pixels, got '
                              f'{short_side}')
    config = find_config(data_root, config)
    names = read_label_names(config)
    try:
        lut = mapillary_lut(names, convention)
    except ValueError as e:
        raise ConversionError(f'{config}: {e}') from None
    decoder = Decoder(lut, config)
    table = {n: int(lut[i]) for i, n in enumerate(names)}
    outs = output_names(convention, short_side)

    tasks, images, labels, outputs, records = [], {}, {}, {}, {}
    record = dict(config=osp.abspath(config), convention=convention, short_side=short_side,
                  ignore_index=IGNORE_INDEX, table=table)
    for split in splits:
        check_mapping(osp.join(data_root, split, outs['labels']), record)
    for split in splits:
        if split not in SPLITS:
            raise ConversionError(f'unknown split {split!r}; choose from {list(SPLITS)}')
        split_dir = require_dir(osp.join(data_root, split), f'Mapillary {split} folder',
                                f'{split}/images and {split}/labels under {data_root}')
        img_dir = require_dir(osp.join(split_dir, 'images'), f'Mapillary {split} image folder',
                              f'{split}/images/*.jpg')
        label_dir = next((osp.join(split_dir, d) for d in LABEL_DIRS
                          if osp.isdir(osp.join(split_dir, d))), None)
        if label_dir is None:
            raise ConversionError(f'Mapillary {split} label folder not found: none of '
                                  f'{[osp.join(split_dir, d) for d in LABEL_DIRS]}')
        out_dir = osp.join(split_dir, outs['labels'])
        out_img_dir = osp.join(split_dir, outs['images']) if short_side else None
        for d in (out_dir, out_img_dir):
            if d:
                os.makedirs(d, exist_ok=True)
                remove_temporaries(d)
        split_labels = list_files(label_dir, '.png')
        split_images = list_files(img_dir, '.jpg')
        if not split_labels:
            raise ConversionError(f'0 labels with suffix .png in {label_dir}')
        for stem, path in split_labels.items():
            img = split_images.get(stem)
            tasks.append(
                Task(decoder, f'{split}/{stem}', path, img, osp.join(out_dir, stem + '.png'),
                     on_mismatch, short_side,
                     osp.join(out_img_dir, stem + '.jpg') if short_side and img else None))
        images.update({f'{split}/{k}': v for k, v in split_images.items()})
        labels.update({f'{split}/{k}': v for k, v in split_labels.items()})
        outputs[split] = dict(img_path=osp.join(split, outs['images']),
                              seg_map_path=osp.join(split, outs['labels']))
        records[out_dir + '.json'] = out_dir
    for path in records:
        write_record(record, path)
    summary = run(tasks, nproc, on_mismatch, images, labels)
    summary.update(outputs=outputs, table=table, config=config, convention=convention)
    return summary


def summary_text(s: dict) -> str:
    """:func:`.common.format_summary` plus the ``data_prefix`` of each split written."""
    lines = [format_summary(s, 'Mapillary label conversion summary')]
    for split, prefix in s['outputs'].items():
        lines.append(f'  {split}: data_prefix=dict(img_path={prefix["img_path"]!r}, '
                     f'seg_map_path={prefix["seg_map_path"]!r})')
    return '\n'.join(lines)


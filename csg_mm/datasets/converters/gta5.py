"""GTA5 labels -> 19 Cityscapes train ids (for :class:`csg_mm.datasets.GTA5Dataset`).

GTA5 (Richter et al., "Playing for Data", ECCV 2016) ships ``images/XXXXX.png`` and
``labels/XXXXX.png``; the labels are palette PNGs whose pixel INDICES are Cityscapes label ids
(read with PIL, not with cv2 colour mode). :func:`convert` writes ``labels/XXXXX_labelTrainIds.png``
next to them (table: :data:`csg_mm.datasets.label_maps.CITYSCAPES_ID_TO_TRAIN_ID`) and lists of the
usable frame ids; the rules shared by all converters are in :mod:`.common`.
"""
import os
import os.path as osp
from typing import Optional, Sequence

import numpy as np
from PIL import Image

from ..label_maps import CITYSCAPES_ID_TO_TRAIN_ID, looks_like_train_ids, lut_from_ids
from .common import AlreadyConverted, convert_beside, format_summary, require_dir

LABEL_DIR = 'labels'
IMG_DIR = 'images'
OUT_SUFFIX = '_labelTrainIds.png'
LUT = lut_from_ids(CITYSCAPES_ID_TO_TRAIN_ID)


def ids_to_train_ids(ids: np.ndarray) -> np.ndarray:
    """Map an array of Cityscapes label ids to train ids (uint8, 255 = ignore)."""
    ids = np.asarray(ids)
    if ids.dtype == np.uint8:
        return LUT[ids]
    out = np.full(ids.shape, 255, dtype=np.uint8)
    valid = (ids >= 0) & (ids < 256)
    out[valid] = LUT[ids[valid].astype(np.intp)]
    return out


def decode(path: str) -> np.ndarray:
    """Read one GTA5 source label (palette indices = Cityscapes label ids) as train ids.

    Raises:
        AlreadyConverted: a single-channel label that is not a palette PNG and holds only train
            ids (0..18, 255), or any label holding 255 (not a Cityscapes label id) and only train
            ids: mapping it again would turn e.g. train id 7 (traffic sign) into 0 (road).
        ValueError: a multi-channel (colour-coded) label.
    """
    with Image.open(path) as lab:
        mode = lab.mode
        ids = np.array(lab)
    if ids.ndim != 2:
        raise ValueError(f'expected a single-channel (palette or grey) label, got shape '
                         f'{ids.shape}; is it a colour-coded label?')
    values = np.unique(ids)
    if looks_like_train_ids(values) and (mode != 'P' or 255 in values):
        raise AlreadyConverted(
            f'{path} already holds Cityscapes train ids (mode {mode}, values '
            f'{values[:20].tolist()}), not GTA5 label ids; not converted again. If it is a '
            f'converted label, name it {osp.basename(path)[:-4]}{OUT_SUFFIX}; otherwise restore '
            'the original GTA5 label')
    return ids_to_train_ids(ids)


def _normalise_id(token: str, width: int) -> str:
    token = osp.splitext(osp.basename(token.strip()))[0]
    return token.zfill(width) if token.isdigit() else token


def _write_list(path: str, ids: Sequence[str]) -> None:
    tmp = osp.join(osp.dirname(path) or '.', f'.tmp-{osp.basename(path)}.{os.getpid()}')
    with open(tmp, 'w') as f:
        f.writelines(i + '\n' for i in ids)
    os.replace(tmp, path)


def convert(data_root: str,
            nproc: int = 1,
            on_mismatch: str = 'resize',
            split_dir: Optional[str] = None,
            out_dir: Optional[str] = None) -> dict:
    """Convert all labels of a GTA5 folder and write the id lists: ``all.txt`` (usable frames:
    image + converted label) and, for each ``*.txt`` id list in ``split_dir``, the same list
    filtered to the usable frames, in ``out_dir`` (default ``data_root``). Returns the summary
    dict of :func:`.common.run` plus ``lists`` (name -> path) and ``splits``.

    Raises:
        ConversionError: a missing folder or a bad option.
    """
    if split_dir is not None:
        require_dir(split_dir, 'split folder', 'a folder of *.txt id lists')
    summary = convert_beside(data_root, 'GTA5', IMG_DIR, LABEL_DIR, decode, nproc, on_mismatch,
                             out_suffix=OUT_SUFFIX)
    out_dir = out_dir or data_root
    os.makedirs(out_dir, exist_ok=True)
    lists = {'all.txt': summary['usable']}
    splits = []
    if split_dir is not None:
        width = max((len(i) for i in summary['usable']), default=5)
        usable_set = set(summary['usable'])
        for name in sorted(os.listdir(split_dir)):
            if not name.endswith('.txt') or name.startswith('.'):
                continue
            with open(osp.join(split_dir, name)) as f:
                ids = [_normalise_id(t, width) for t in f.read().split() if t.strip()]
            lists[name] = [i for i in ids if i in usable_set]
            splits.append(dict(name=name, listed=len(ids), kept=len(lists[name])))
    for name, ids in lists.items():
        _write_list(osp.join(out_dir, name), ids)
    summary.update(lists={k: osp.join(out_dir, k) for k in lists}, splits=splits)
    return summary


def summary_text(s: dict) -> str:
    """:func:`.common.format_summary` plus the split lists written."""
    lines = [format_summary(s, 'GTA5 label conversion summary')]
    for r in s['splits']:
        lines.append(f'  split {r["name"]}: kept {r["kept"]} of {r["listed"]} ids')
    lines.append(f'  usable frames: {len(s["usable"])}; lists written: '
                 + ', '.join(s['lists'].values()))
    return '\n'.join(lines)


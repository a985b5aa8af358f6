"""GTA5 labels -> 19 Cityscapes train ids (for :class:`csg_mm.datasets.GTA5Dataset`).

GTA5 (Richter et al., "Playing for Data", ECCV 2016) ships ``images/XXXXX.png`` and
``labels/XXXXX.png``; the labels are palette PNGs whose pixel INDICES are Cityscapes label ids
(read with PIL, not with cv2 colour mode). :func:`convert` writes ``labels/XXXXX_labelTrainIds.png``
next to them (table: :data:`csg_mm.datasets.label_maps.CITYSCAPES_ID_TO_TRAIN_ID`) and lists of the
usable frame ids; the rules shared by all converters are in :mod:`.common`.
"""
import hashlib
import json
import os
import os.path as osp
from typing import Dict, List, Optional, Sequence

import numpy as np
from PIL import Image

from ..label_maps import CITYSCAPES_ID_TO_TRAIN_ID, looks_like_train_ids, lut_from_ids
from .common import (
    TMP_PREFIX,
    AlreadyConverted,
    ConversionError,
    convert_beside,
    format_summary,
    require_dir,
    write_record,
)

LABEL_DIR = 'labels'
IMG_DIR = 'images'
OUT_SUFFIX = '_labelTrainIds.png'
LISTS_RECORD = 'gta5_lists.json'  # hashes of the id lists written (see convert)
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
    tmp = osp.join(osp.dirname(path) or '.', f'{TMP_PREFIX}{osp.basename(path)}.{os.getpid()}')
    with open(tmp, 'w') as f:
        f.writelines(_list_text(ids))
    os.replace(tmp, path)


def _list_text(ids: Sequence[str]) -> str:
    return ''.join(i + '\n' for i in ids)


def _read_text(path: str) -> str:
    with open(path) as f:
        return f.read()


def _refuse_overwrite(paths: Sequence[str], why: str) -> None:
    """:class:`ConversionError` naming ``paths`` (existing lists that would change)."""
    raise ConversionError(
        f'{why}: {", ".join(paths)}; not overwritten (nothing already written is replaced). '
        'Pass another --out-dir (-o), or move or remove these files and run again')


def _split_lists(split_dir: Optional[str]) -> List[str]:
    if split_dir is None:
        return []
    return [n for n in sorted(os.listdir(split_dir))
            if n.endswith('.txt') and not n.startswith('.')]


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _read_record(out_dir: str) -> Dict[str, str]:
    """``{list name: sha256}`` of the lists an earlier run wrote to ``out_dir`` (may be empty)."""
    path = osp.join(out_dir, LISTS_RECORD)
    if not osp.isfile(path):
        return {}
    try:
        with open(path) as f:
            return dict(json.load(f)['lists'])
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise ConversionError(f'cannot read {path} ({type(e).__name__}: {e}): the record of the '
                              'id lists this converter wrote there. Remove it (the lists it names '
                              'are then treated as yours and never overwritten)') from None


def _ours(path: str, record: Dict[str, str]) -> bool:
    """Whether ``path`` is a list an earlier run wrote and nobody changed since."""
    return record.get(osp.basename(path)) == _sha256(_read_text(path))


def convert(data_root: str,
            nproc: int = 1,
            on_mismatch: str = 'resize',
            split_dir: Optional[str] = None,
            out_dir: Optional[str] = None) -> dict:
    """Convert all labels of a GTA5 folder and write the id lists: ``all.txt`` (usable frames:
    image + converted label) and, for each ``*.txt`` id list in ``split_dir``, the same list
    filtered to the usable frames, in ``out_dir`` (default ``data_root``). Returns the summary
    dict of :func:`.common.run` plus ``lists`` (name -> path), ``updated`` (the names of lists
    an earlier run wrote that changed) and ``splits``.

    Lists are never overwritten unless this converter wrote them: ``out_dir/gta5_lists.json``
    records the SHA-256 of every list written. An existing list with the content to write is
    left as it is; one an earlier run wrote (hash recorded, unchanged since) is updated, e.g.
    after ``--on-mismatch skip``; any other (the user's, e.g. ``--split-dir`` == ``out_dir``) is
    refused: before any conversion when it is a split list that is its own output and not in the
    written form (5-digit ids, one a line), otherwise after the labels are converted and before
    any list is written.

    Raises:
        ConversionError: a missing folder, a bad option, or a list that is not ours and would
            change.
    """
    if split_dir is not None:
        require_dir(split_dir, 'split folder', 'a folder of *.txt id lists')
    out_dir = out_dir or data_root
    record = _read_record(out_dir)
    for name in _split_lists(split_dir):
        src, dst = osp.join(split_dir, name), osp.join(out_dir, name)
        if osp.isfile(dst) and osp.samefile(src, dst) and not _ours(dst, record):
            text = _read_text(src)
            tokens = [t for t in text.split() if t.strip()]
            width = max((len(_normalise_id(t, 0)) for t in tokens), default=5)
            if text != _list_text([_normalise_id(t, max(width, 5)) for t in tokens]):
                _refuse_overwrite([dst], f'--split-dir and the output folder (--out-dir, default '
                                  f'DATA_ROOT) are the same folder {out_dir}: the filtered list '
                                  'would replace your split list')
    summary = convert_beside(data_root, 'GTA5', IMG_DIR, LABEL_DIR, decode, nproc, on_mismatch,
                             out_suffix=OUT_SUFFIX, table=CITYSCAPES_ID_TO_TRAIN_ID)
    os.makedirs(out_dir, exist_ok=True)
    lists = {'all.txt': summary['usable']}
    splits = []
    width = max((len(i) for i in summary['usable']), default=5)
    usable_set = set(summary['usable'])
    for name in _split_lists(split_dir):
        ids = [_normalise_id(t, width) for t in _read_text(osp.join(split_dir, name)).split()
               if t.strip()]
        lists[name] = [i for i in ids if i in usable_set]
        splits.append(dict(name=name, listed=len(ids), kept=len(lists[name])))
    paths = {k: osp.join(out_dir, k) for k in lists}
    changed = [k for k, ids in lists.items()
               if osp.isfile(paths[k]) and _read_text(paths[k]) != _list_text(ids)]
    theirs = [paths[k] for k in changed if not _ours(paths[k], record)]
    if theirs:
        _refuse_overwrite(theirs, 'the labels are converted, but these id lists were not written '
                          'by this converter and differ from the usable frames it would write')
    for name, ids in lists.items():
        if name in changed or not osp.isfile(paths[name]):
            _write_list(paths[name], ids)
        record[name] = _sha256(_list_text(ids))
    write_record(dict(note='SHA-256 of the id lists tools/dataset_converters/gta5.py wrote '
                      'here; lists not named here are never overwritten', lists=record),
                 osp.join(out_dir, LISTS_RECORD))
    summary.update(lists=paths, updated=changed, splits=splits)
    return summary


def summary_text(s: dict) -> str:
    """:func:`.common.format_summary` plus the split lists written."""
    lines = [format_summary(s, 'GTA5 label conversion summary')]
    for r in s['splits']:
        lines.append(f'  split {r["name"]}: kept {r["kept"]} of {r["listed"]} ids')
    lines.append(f'  usable frames: {len(s["usable"])}; lists written: '
                 + ', '.join(s['lists'].values()))
    if s['updated']:
        lines.append('  lists updated (written by an earlier run, content changed): '
                     + ', '.join(s['updated']))
    return '\n'.join(lines)


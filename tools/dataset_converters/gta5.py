"""Convert GTA5 labels to the 19 Cityscapes train ids (for ``csg_mm.datasets.GTA5Dataset``).

GTA5 (Richter et al., "Playing for Data", ECCV 2016) ships ``images/XXXXX.png`` and
``labels/XXXXX.png``; the labels are palette PNGs whose pixel INDICES are Cityscapes label ids
(read with PIL, not with cv2 colour mode). This script writes ``labels/XXXXX_labelTrainIds.png``
(mode L, ids 0..18, 255 = ignore) next to them, as mmseg's ``cityscapes.py`` converter does for
Cityscapes, and a list of the usable frame ids::

    python tools/dataset_converters/gta5.py DATA_ROOT [--nproc 8] [--split-dir DIR]

- Never modifies the source labels. Idempotent: a frame whose output exists, is not older than
  its source label and has the image's size is skipped; outputs are written to a temporary name
  and renamed, so an interrupted run never leaves a half-written label.
- Size mismatches between image and label (GTA5 frames 15188 and 17705, for example) are
  reported; ``--on-mismatch resize`` (default) resizes the label to the image with nearest
  neighbour, ``--on-mismatch skip`` writes no train-id label for the frame (removing one written
  by an earlier run) and leaves it out of the lists.
- Images without a label and labels without an image are reported and left out of the lists.
- Writes ``all.txt`` (all usable frame ids) to ``--out-dir`` (default DATA_ROOT). With
  ``--split-dir DIR`` holding id lists (e.g. the public split as ``train.txt``, ``val.txt``,
  ``test.txt``; ids like ``1``, ``00001`` or ``00001.png``), each list is also written to
  ``--out-dir``, keeping only usable frames.
"""
import argparse
import os
import os.path as osp
import sys
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
from PIL import Image

LABEL_DIR = 'labels'
IMG_DIR = 'images'
OUT_SUFFIX = '_labelTrainIds.png'
TMP_PREFIX = '.tmp-'  # temporary outputs: labels/.tmp-XXXXX_labelTrainIds.png.<pid>

# Cityscapes label id -> train id (cityscapesscripts' labels.py); everything else -> 255.
ID_TO_TRAINID: Dict[int, int] = {
    7: 0, 8: 1, 11: 2, 12: 3, 13: 4, 17: 5, 19: 6, 20: 7, 21: 8, 22: 9, 23: 10, 24: 11, 25: 12,
    26: 13, 27: 14, 28: 15, 31: 16, 32: 17, 33: 18
}
LUT = np.full(256, 255, dtype=np.uint8)
for _id, _train_id in ID_TO_TRAINID.items():
    LUT[_id] = _train_id


class ConversionError(Exception):
    """Bad input: reported as one line, without a traceback."""


def ids_to_train_ids(ids: np.ndarray) -> np.ndarray:
    """Map an array of Cityscapes label ids to train ids (uint8, 255 = ignore)."""
    ids = np.asarray(ids)
    if ids.dtype == np.uint8:
        return LUT[ids]
    out = np.full(ids.shape, 255, dtype=np.uint8)
    valid = (ids >= 0) & (ids < 256)
    out[valid] = LUT[ids[valid].astype(np.intp)]
    return out


def frame_id_of(label_name: str) -> str:
    return osp.splitext(label_name)[0]


def out_path_of(label_dir: str, frame_id: str) -> str:
    return osp.join(label_dir, frame_id + OUT_SUFFIX)


def _is_up_to_date(src: str, dst: str, img_size: Optional[Tuple[int, int]]) -> bool:
    if not osp.isfile(dst) or osp.getmtime(dst) < osp.getmtime(src):
        return False
    if img_size is None:
        return True
    try:
        with Image.open(dst) as out:
            return out.size == img_size and out.mode == 'L'
    except OSError:
        return False


def _write_atomic(arr: np.ndarray, dst: str) -> None:
    tmp = osp.join(osp.dirname(dst), f'{TMP_PREFIX}{osp.basename(dst)}.{os.getpid()}')
    try:
        Image.fromarray(np.ascontiguousarray(arr, dtype=np.uint8)).save(tmp, format='PNG')
        os.replace(tmp, dst)
    finally:
        if osp.exists(tmp):
            os.remove(tmp)


def convert_one(task: Tuple[str, str, Optional[str], str]) -> dict:
    """Convert one label. ``task = (frame_id, label_path, image_path or None, on_mismatch)``.

    Returns a record ``dict(id, status, img_size, label_size, error)`` where status is one of
    ``converted``, ``up-to-date``, ``resized``, ``mismatch-skipped``, ``error``.
    """
    frame_id, src, img_path, on_mismatch = task
    dst = out_path_of(osp.dirname(src), frame_id)
    rec = dict(id=frame_id, status='error', img_size=None, label_size=None, error=None)
    try:
        img_size = None
        if img_path is not None:
            with Image.open(img_path) as im:  # reads the header only
                img_size = im.size
        with Image.open(src) as lab:
            label_size = lab.size
        rec.update(img_size=img_size, label_size=label_size)
        mismatch = img_size is not None and img_size != label_size
        if mismatch and on_mismatch == 'skip':
            if osp.exists(dst):  # written by an earlier run (e.g. with --on-mismatch resize)
                os.remove(dst)
            rec['status'] = 'mismatch-skipped'
            return rec
        if _is_up_to_date(src, dst, img_size):
            rec['status'] = 'up-to-date'
            return rec
        with Image.open(src) as lab:
            ids = np.array(lab)  # palette indices = Cityscapes label ids
        if ids.ndim != 2:
            raise ValueError(f'expected a single-channel (palette or grey) label, got shape '
                             f'{ids.shape}; is it a colour-coded label?')
        train_ids = ids_to_train_ids(ids)
        if mismatch:
            train_ids = np.array(
                Image.fromarray(train_ids).resize(img_size, Image.NEAREST))
        _write_atomic(train_ids, dst)
        rec['status'] = 'resized' if mismatch else 'converted'
    except Exception as e:  # a broken file must not stop a 25k-frame conversion
        rec['status'] = 'error'
        rec['error'] = f'{type(e).__name__}: {e}'
    return rec


def _list_pngs(folder: str) -> List[str]:
    return sorted(
        n for n in os.listdir(folder)
        if n.endswith('.png') and not n.endswith(OUT_SUFFIX) and not n.startswith('.'))


def _normalise_id(token: str, width: int) -> str:
    token = osp.splitext(osp.basename(token.strip()))[0]
    return token.zfill(width) if token.isdigit() else token


def _write_list(path: str, ids: Sequence[str]) -> None:
    tmp = osp.join(osp.dirname(path) or '.', f'{TMP_PREFIX}{osp.basename(path)}.{os.getpid()}')
    with open(tmp, 'w') as f:
        f.writelines(i + '\n' for i in ids)
    os.replace(tmp, path)


def _track(func, tasks: list, nproc: int) -> list:
    from mmengine.utils import track_parallel_progress, track_progress
    if not tasks:
        return []
    # pass the CURRENT sys.stdout: mmengine binds its default at import time
    if nproc > 1:
        return track_parallel_progress(func, tasks, nproc, file=sys.stdout)
    return track_progress(func, tasks, file=sys.stdout)


def convert(data_root: str,
            nproc: int = 1,
            on_mismatch: str = 'resize',
            split_dir: Optional[str] = None,
            out_dir: Optional[str] = None) -> dict:
    """Convert all labels of a GTA5 folder and write the id lists. Returns a summary dict."""
    if not osp.isdir(data_root):
        raise ConversionError(f'GTA5 data root not found: {data_root}')
    label_dir = osp.join(data_root, LABEL_DIR)
    img_dir = osp.join(data_root, IMG_DIR)
    if not osp.isdir(label_dir):
        raise ConversionError(f'GTA5 label folder not found: {label_dir} '
                              f'(expected {LABEL_DIR}/XXXXX.png under {data_root})')
    if not osp.isdir(img_dir):
        raise ConversionError(f'GTA5 image folder not found: {img_dir} '
                              f'(expected {IMG_DIR}/XXXXX.png under {data_root})')
    if split_dir is not None and not osp.isdir(split_dir):
        raise ConversionError(f'split folder not found: {split_dir}')
    if on_mismatch not in ('resize', 'skip'):
        raise ConversionError(f'--on-mismatch must be resize or skip, got {on_mismatch}')
    out_dir = out_dir or data_root
    os.makedirs(out_dir, exist_ok=True)

    # Leftovers of an interrupted run (only our own temporary names).
    for n in os.listdir(label_dir):
        if n.startswith(TMP_PREFIX) and OUT_SUFFIX in n:
            os.remove(osp.join(label_dir, n))

    labels = {frame_id_of(n): osp.join(label_dir, n) for n in _list_pngs(label_dir)}
    images = {frame_id_of(n): osp.join(img_dir, n) for n in _list_pngs(img_dir)}
    if not labels:
        raise ConversionError(f'no label PNGs found in {label_dir}')
    labels_without_image = sorted(set(labels) - set(images))
    images_without_label = sorted(set(images) - set(labels))

    tasks = [(i, labels[i], images.get(i), on_mismatch) for i in sorted(labels)]
    records = _track(convert_one, tasks, nproc)

    by_status: Dict[str, List[dict]] = {}
    for r in records:
        by_status.setdefault(r['status'], []).append(r)
    usable = sorted(r['id'] for r in records
                    if r['status'] in ('converted', 'up-to-date', 'resized')
                    and r['id'] in images)

    lists = {'all.txt': usable}
    if split_dir is not None:
        width = max((len(i) for i in usable), default=5)
        usable_set = set(usable)
        for name in sorted(os.listdir(split_dir)):
            if not name.endswith('.txt') or name.startswith('.'):
                continue
            with open(osp.join(split_dir, name)) as f:
                ids = [_normalise_id(t, width) for t in f.read().split() if t.strip()]
            kept = [i for i in ids if i in usable_set]
            lists[name] = kept
            by_status.setdefault('_split', []).append(
                dict(name=name, listed=len(ids), kept=len(kept)))
    for name, ids in lists.items():
        _write_list(osp.join(out_dir, name), ids)

    return dict(
        records=records,
        by_status=by_status,
        usable=usable,
        images_without_label=images_without_label,
        labels_without_image=labels_without_image,
        lists={k: osp.join(out_dir, k) for k in lists},
        on_mismatch=on_mismatch)


def format_summary(s: dict, max_items: int = 20) -> str:
    """Human-readable summary of :func:`convert`'s result."""

    def _few(items: Sequence[str]) -> str:
        items = list(items)
        more = f' ... (+{len(items) - max_items} more)' if len(items) > max_items else ''
        return ', '.join(items[:max_items]) + more

    bs = s['by_status']
    n = {k: len(bs.get(k, [])) for k in
         ('converted', 'up-to-date', 'resized', 'mismatch-skipped', 'error')}
    lines = [
        'GTA5 label conversion summary',
        f'  labels: {len(s["records"])}  converted: {n["converted"]}  '
        f'up-to-date (skipped): {n["up-to-date"]}  resized: {n["resized"]}  '
        f'mismatch-excluded: {n["mismatch-skipped"]}  errors: {n["error"]}',
    ]
    mism = bs.get('resized', []) + bs.get('mismatch-skipped', [])
    # up-to-date frames converted by an earlier --on-mismatch resize run are mismatches too
    mism += [r for r in bs.get('up-to-date', [])
             if r['img_size'] is not None and r['img_size'] != r['label_size']]
    if mism:
        action = ('label resized to the image (nearest)' if s['on_mismatch'] == 'resize'
                  else 'excluded from the lists')
        lines.append(f'  size mismatches ({len(mism)}, {action}):')
        for r in sorted(mism, key=lambda r: r['id'])[:max_items]:
            lines.append(f'    {r["id"]}: image {r["img_size"][0]}x{r["img_size"][1]}, '
                         f'label {r["label_size"][0]}x{r["label_size"][1]}')
    if s['images_without_label']:
        lines.append(f'  images without label ({len(s["images_without_label"])}): '
                     + _few(s['images_without_label']))
    if s['labels_without_image']:
        lines.append(f'  labels without image ({len(s["labels_without_image"])}, converted '
                     'but not listed): ' + _few(s['labels_without_image']))
    for r in bs.get('error', [])[:max_items]:
        lines.append(f'  error {r["id"]}: {r["error"]}')
    for r in bs.get('_split', []):
        lines.append(f'  split {r["name"]}: kept {r["kept"]} of {r["listed"]} ids')
    lines.append(f'  usable frames: {len(s["usable"])}; lists written: '
                 + ', '.join(s['lists'].values()))
    return '\n'.join(lines)


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Convert GTA5 labels (Cityscapes label ids) to Cityscapes train ids')
    parser.add_argument('data_root', help='GTA5 folder holding images/ and labels/')
    parser.add_argument('--nproc', default=1, type=int, help='number of processes')
    parser.add_argument(
        '--on-mismatch',
        choices=['resize', 'skip'],
        default='resize',
        help='image/label size mismatch: resize the label to the image (nearest neighbour) '
        'or exclude the frame (default: resize)')
    parser.add_argument(
        '--split-dir',
        default=None,
        help='folder of id lists (*.txt, e.g. train.txt/val.txt/test.txt of the public split) '
        'to filter to the usable frames and write to --out-dir')
    parser.add_argument(
        '-o', '--out-dir', default=None, help='where to write the id lists (default DATA_ROOT)')
    return parser.parse_args(argv)


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = parse_args(argv)
    try:
        summary = convert(
            args.data_root,
            nproc=args.nproc,
            on_mismatch=args.on_mismatch,
            split_dir=args.split_dir,
            out_dir=args.out_dir)
    except ConversionError as e:
        print(f'error: {e}', file=sys.stderr)
        return 2
    print('\n' + format_summary(summary))
    return 1 if summary['by_status'].get('error') else 0


if __name__ == '__main__':
    sys.exit(main())

"""The machinery shared by the label converters (GTA5, SYNTHIA, Mapillary Vistas).

One conversion task turns a source label into a ``uint8`` train-id PNG (mode ``L``, 0..18, 255 =
ignore) next to or away from the sources, with the same rules for every data set:

- sources are only read, never written; outputs go to a temporary name and are renamed, so an
  interrupted run never leaves a half-written file (its leftovers are removed by the next run);
- idempotent: an output newer than its source label, of the expected size and mode, is kept
  (status ``up-to-date``); a converted output is never fed back as a source;
- a source label that already holds train ids (a decoder raises :class:`AlreadyConverted`) is
  reported and skipped (status ``already-converted``), never mapped a second time;
- a label whose size differs from its image's is reported; with ``on_mismatch='resize'`` it is
  resized to the image with nearest neighbour (status ``resized``), with ``'skip'`` no output is
  written and one from an earlier run is removed (status ``mismatch-skipped``);
- an optional ``short_side`` downscales image and label together (image bicubic, label nearest
  neighbour) so that the shorter side is ``short_side`` pixels (images already smaller are kept);
- a broken file is recorded (status ``error``) and does not stop the other tasks;
- the table applied is recorded beside the labels; a run with another table is refused before
  any work (:func:`check_record`), so that kept labels and their record always agree.
"""
import json
import os
import os.path as osp
import sys
from typing import Callable, Dict, List, NamedTuple, Optional, Sequence, Tuple

import numpy as np
from PIL import Image

TMP_PREFIX = '.tmp-'  # temporary outputs: DIR/.tmp-NAME.<pid>
USABLE = ('converted', 'up-to-date', 'resized')
STATUSES = ('converted', 'up-to-date', 'resized', 'mismatch-skipped', 'already-converted',
            'error')


class ConversionError(Exception):
    """Bad input for a whole conversion (a missing folder, a bad option): one line, no traceback."""


class AlreadyConverted(Exception):
    """Raised by a decoder for a source label that already holds train ids."""


class Task(NamedTuple):
    """One label to convert.

    ``decode(path) -> uint8 (H, W) train ids`` is a module-level function (picklable, for
    ``--nproc``); ``image`` is None for a label without an image; ``img_dst`` (with
    ``short_side``) is where the downscaled image goes.
    """
    decode: Callable[[str], np.ndarray]
    id: str
    label: str
    image: Optional[str]
    dst: str
    on_mismatch: str = 'resize'
    short_side: Optional[int] = None
    img_dst: Optional[str] = None


def header_size(path: str) -> Optional[Tuple[int, int]]:
    """(width, height) from the file header (PIL), or None if PIL cannot read it."""
    try:
        with Image.open(path) as im:
            return im.size
    except OSError:
        return None


def scaled_size(size: Tuple[int, int], short_side: Optional[int]) -> Tuple[int, int]:
    """``size`` (w, h) scaled so that min(w, h) == short_side; unchanged if already smaller."""
    w, h = size
    if not short_side or min(w, h) <= short_side:
        return size
    scale = short_side / min(w, h)
    return (short_side, round(h * scale)) if w <= h else (round(w * scale), short_side)


def is_up_to_date(src: str, dst: str, size: Optional[Tuple[int, int]], mode: str = 'L') -> bool:
    """Whether ``dst`` exists, is not older than ``src``, has ``size`` (if given) and ``mode``."""
    if not osp.isfile(dst) or osp.getmtime(dst) < osp.getmtime(src):
        return False
    try:
        with Image.open(dst) as out:
            return (size is None or out.size == tuple(size)) and out.mode == mode
    except OSError:
        return False


def write_atomic(img: Image.Image, dst: str, **save_kwargs) -> None:
    """Save ``img`` to a temporary name in ``dst``'s folder, then rename it to ``dst``."""
    tmp = osp.join(osp.dirname(dst), f'{TMP_PREFIX}{osp.basename(dst)}.{os.getpid()}')
    try:
        img.save(tmp, **save_kwargs)
        os.replace(tmp, dst)
    finally:
        if osp.exists(tmp):
            os.remove(tmp)


def write_label(train_ids: np.ndarray, dst: str) -> None:
    write_atomic(Image.fromarray(np.ascontiguousarray(train_ids, dtype=np.uint8)), dst,
                 format='PNG')


def remove_temporaries(folder: str) -> None:
    """Remove leftovers of an interrupted run (only our own temporary names)."""
    if osp.isdir(folder):
        for n in os.listdir(folder):
            if n.startswith(TMP_PREFIX):
                os.remove(osp.join(folder, n))


def _nearest(arr: np.ndarray, size: Tuple[int, int]) -> np.ndarray:
    return np.array(Image.fromarray(arr).resize(tuple(size), Image.NEAREST))


def convert_one(task: Task) -> dict:
    """Convert one label (see the module docstring). Returns a record
    ``dict(id, status, img_size, label_size, error)``, sizes as (width, height)."""
    rec = dict(id=task.id, status='error', img_size=None, label_size=None, error=None)
    try:
        img_size = header_size(task.image) if task.image is not None else None
        if task.image is not None and img_size is None:
            raise ValueError(f'cannot read image {task.image}')
        label_size = header_size(task.label)
        train_ids = None
        if label_size is None:  # e.g. 16-bit multi-channel PNGs PIL cannot open
            train_ids = task.decode(task.label)
            label_size = (train_ids.shape[1], train_ids.shape[0])
        rec.update(img_size=img_size, label_size=label_size)
        mismatch = img_size is not None and img_size != label_size
        if mismatch and task.on_mismatch == 'skip':
            for path in (task.dst, task.img_dst):
                if path and osp.exists(path):  # written by an earlier (resize) run
                    os.remove(path)
            rec['status'] = 'mismatch-skipped'
            return rec
        out_size = scaled_size(img_size or label_size, task.short_side)
        if is_up_to_date(task.label, task.dst, out_size) and (
                task.img_dst is None or is_up_to_date(task.image, task.img_dst, out_size, 'RGB')):
            rec['status'] = 'up-to-date'
            return rec
        if train_ids is None:
            train_ids = task.decode(task.label)
        if mismatch:
            train_ids = _nearest(train_ids, img_size)
        if out_size != (train_ids.shape[1], train_ids.shape[0]):
            train_ids = _nearest(train_ids, out_size)
        if task.img_dst is not None:
            with Image.open(task.image) as im:
                small = im.convert('RGB').resize(out_size, Image.BICUBIC)
            fmt = 'JPEG' if task.img_dst.lower().endswith(('.jpg', '.jpeg')) else 'PNG'
            write_atomic(small, task.img_dst, format=fmt,
                         **(dict(quality=95) if fmt == 'JPEG' else {}))
        write_label(train_ids, task.dst)
        rec['status'] = 'resized' if mismatch else 'converted'
    except AlreadyConverted as e:
        rec['status'] = 'already-converted'
        rec['error'] = str(e)
    except Exception as e:  # a broken file must not stop a conversion of thousands of frames
        rec['status'] = 'error'
        rec['error'] = f'{type(e).__name__}: {e}'
    return rec


def track(func: Callable, tasks: list, nproc: int) -> list:
    """``func`` over ``tasks`` with mmengine's progress bar, in ``nproc`` processes if > 1."""
    from mmengine.utils import track_parallel_progress, track_progress
    if not tasks:
        return []
    # pass the CURRENT sys.stdout: mmengine binds its default at import time
    if nproc > 1:
        return track_parallel_progress(func, tasks, nproc, file=sys.stdout)
    return track_progress(func, tasks, file=sys.stdout)


def list_files(folder: str, suffix: str, exclude_suffix: Optional[str] = None) -> Dict[str, str]:
    """``{stem: path}`` of the files in ``folder`` ending with ``suffix`` (hidden files and
    names ending with ``exclude_suffix`` left out)."""
    out = {}
    for n in sorted(os.listdir(folder)):
        if n.startswith('.') or not n.endswith(suffix):
            continue
        if exclude_suffix and n.endswith(exclude_suffix):
            continue
        out[n[:-len(suffix)]] = osp.join(folder, n)
    return out


def require_dir(path: str, what: str, expected: str) -> str:
    """``path`` if it is a folder, else a :class:`ConversionError` naming it."""
    if not osp.isdir(path):
        raise ConversionError(f'{what} not found: {path} (expected {expected})')
    return path


def check_options(nproc: int, on_mismatch: str) -> None:
    """:class:`ConversionError` for a bad ``nproc`` or ``on_mismatch`` (before any work)."""
    if on_mismatch not in ('resize', 'skip'):
        raise ConversionError(f'--on-mismatch must be resize or skip, got {on_mismatch}')
    if nproc < 1:
        raise ConversionError(f'--nproc must be at least 1, got {nproc}')


def run(tasks: List[Task], nproc: int, on_mismatch: str, images: Dict[str, str],
        labels: Dict[str, str]) -> dict:
    """Run ``tasks``; the summary dict :func:`format_summary` prints."""
    check_options(nproc, on_mismatch)
    records = track(convert_one, tasks, nproc)
    by_status: Dict[str, List[dict]] = {}
    for r in records:
        by_status.setdefault(r['status'], []).append(r)
    return dict(
        records=records,
        by_status=by_status,
        usable=sorted(r['id'] for r in records if r['status'] in USABLE and r['id'] in images),
        images_without_label=sorted(set(images) - set(labels)),
        labels_without_image=sorted(set(labels) - set(images)),
        on_mismatch=on_mismatch)


def record_differences(old: dict, new: dict) -> List[str]:
    """What differs between two mapping records (``*.json`` beside a converter's labels): the
    convention, the ignore index, the size and, per position in the table, the source label
    (name or id) or its train id. Empty if both describe the same mapping (other keys, such as
    the path of Mapillary's config file, do not count)."""
    diff = [f'{key}: {old.get(key)!r} in the record, {new.get(key)!r} now'
            for key in ('convention', 'ignore_index', 'short_side') if old.get(key) != new.get(key)]
    old_items = list(dict(old.get('table') or {}).items())
    new_items = list(new['table'].items())
    for i in range(max(len(old_items), len(new_items))):
        a = old_items[i] if i < len(old_items) else None
        b = new_items[i] if i < len(new_items) else None
        if a != b:
            diff.append(f'label id {i}: {a[0] + " -> " + str(a[1]) if a else "none"} in the '
                        f'record, {b[0] + " -> " + str(b[1]) if b else "none"} now')
    return diff


def _read_json(path: str) -> dict:
    with open(path) as f:
        return json.load(f)


def check_record(out_dir: str, path: str, record: dict, require: bool, todo: str) -> None:
    """Refuse to convert into ``out_dir`` when the labels there were made with another mapping.

    ``path`` records the mapping the labels in ``out_dir`` were made with. Labels newer than
    their source are kept (timestamps only), so a table change (another Mapillary
    ``config.json`` or convention, a csg_mm upgrade) would otherwise leave old labels under a
    record that no longer describes them. The mapping is compared, not timestamps.

    Args:
        out_dir (str): The folder of the labels.
        path (str): The record (``.json``).
        record (dict): This run's record (``table`` ordered as the source label ids).
        require (bool): Refuse labels in ``out_dir`` without a record too (``*.png`` there).
        todo (str): What to do, appended to the message.

    Raises:
        ConversionError: the record differs from ``record`` (naming it and the differences),
            cannot be read, or is missing while ``out_dir`` holds labels and ``require``.
    """
    if not osp.isfile(path):
        if require and osp.isdir(out_dir) and any(n.endswith('.png') for n in os.listdir(out_dir)):
            raise ConversionError(f'{out_dir} holds labels but no record {path} of the mapping '
                                  f'they were made with; not mixed with new ones. {todo}')
        return
    try:
        diff = record_differences(_read_json(path), record)
    except (OSError, ValueError, TypeError, AttributeError) as e:
        raise ConversionError(f'cannot read the mapping record {path} ({type(e).__name__}: '
                              f'{e}). {todo}') from None
    if diff:
        few = '; '.join(diff[:5]) + (f' ... (+{len(diff) - 5} more)' if len(diff) > 5 else '')
        raise ConversionError(
            f'the labels in {out_dir} were made with another mapping than this run\'s ({path} '
            f'differs: {few}); not converted (the old labels would be kept under a new '
            f'record). {todo}')


def write_record(record: dict, path: str) -> None:
    """Write ``record`` to ``path`` (temporary name, then renamed); an identical one is left."""
    if osp.isfile(path) and _read_json(path) == record:
        return
    tmp = osp.join(osp.dirname(path), f'{TMP_PREFIX}{osp.basename(path)}.{os.getpid()}')
    with open(tmp, 'w') as f:
        json.dump(record, f, indent=1)
    os.replace(tmp, path)


def convert_beside(data_root: str, name: str, img_dir: str, label_dir: str,
                   decode: Callable[[str], np.ndarray], nproc: int, on_mismatch: str,
                   img_suffix: str = '.png', label_suffix: str = '.png',
                   out_suffix: str = '_labelTrainIds.png',
                   table: Optional[Dict[int, int]] = None) -> dict:
    """Convert every ``DATA_ROOT/label_dir/ID{label_suffix}`` to
    ``DATA_ROOT/label_dir/ID{out_suffix}`` next to it, pairing it with
    ``DATA_ROOT/img_dir/ID{img_suffix}`` (GTA5, SYNTHIA). ``table`` (source id -> train id,
    all others 255) is recorded in ``DATA_ROOT/label_dir{out_suffix without .png}.json``
    (e.g. ``labels_labelTrainIds.json``); a run with another table is refused
    (:func:`check_record`; labels of a version that wrote no record are kept and the record
    written). Returns :func:`run`'s summary plus ``record`` (its path).

    Raises:
        ConversionError: a bad option, a missing folder, no source label, or a record of another
            table.
    """
    check_options(nproc, on_mismatch)
    require_dir(data_root, f'{name} data root', f'a folder holding {img_dir}/ and {label_dir}/')
    labels_at = require_dir(osp.join(data_root, label_dir), f'{name} label folder',
                            f'{label_dir}/ID{label_suffix} under {data_root}')
    images_at = require_dir(osp.join(data_root, img_dir), f'{name} image folder',
                            f'{img_dir}/ID{img_suffix} under {data_root}')
    record_path = labels_at + osp.splitext(out_suffix)[0] + '.json'
    record = dict(ignore_index=255,
                  table={str(k): int(v) for k, v in sorted((table or {}).items())})
    check_record(labels_at, record_path, record, require=False, todo=(
        f'Remove the *{out_suffix} files in {labels_at} and {record_path} (the old labels) and '
        'run again, or use the csg_mm version they were made with'))
    remove_temporaries(labels_at)
    labels = list_files(labels_at, label_suffix, exclude_suffix=out_suffix)
    images = list_files(images_at, img_suffix)
    if not labels:
        raise ConversionError(f'0 labels with suffix {label_suffix} in {labels_at}')
    tasks = [Task(decode, i, labels[i], images.get(i), osp.join(labels_at, i + out_suffix),
                  on_mismatch) for i in sorted(labels)]
    write_record(record, record_path)
    return dict(run(tasks, nproc, on_mismatch, images, labels), record=record_path)


def failed(summary: dict) -> bool:
    """Whether any label could not be converted (errors, already-converted sources)."""
    return bool(summary['by_status'].get('error') or summary['by_status'].get('already-converted'))


def format_summary(s: dict, title: str, max_items: int = 20) -> str:
    """Human-readable summary of :func:`run`'s result."""

    def _few(items: Sequence[str]) -> str:
        items = list(items)
        more = f' ... (+{len(items) - max_items} more)' if len(items) > max_items else ''
        return ', '.join(items[:max_items]) + more

    bs = s['by_status']
    n = {k: len(bs.get(k, [])) for k in STATUSES}
    lines = [
        title,
        f'  labels: {len(s["records"])}  converted: {n["converted"]}  '
        f'up-to-date (skipped): {n["up-to-date"]}  resized: {n["resized"]}  '
        f'mismatch-excluded: {n["mismatch-skipped"]}  already converted (refused): '
        f'{n["already-converted"]}  errors: {n["error"]}',
    ]
    mism = bs.get('resized', []) + bs.get('mismatch-skipped', [])
    # up-to-date frames converted by an earlier --on-mismatch resize run are mismatches too
    mism += [r for r in bs.get('up-to-date', [])
             if None not in (r['img_size'], r['label_size']) and r['img_size'] != r['label_size']]
    if mism:
        action = ('label resized to the image (nearest neighbour)' if s['on_mismatch'] == 'resize'
                  else 'excluded: no train-id label written')
        lines.append(f'  size mismatches ({len(mism)}, {action}):')
        for r in sorted(mism, key=lambda r: r['id'])[:max_items]:
            lines.append(f'    {r["id"]}: image {r["img_size"][0]}x{r["img_size"][1]}, '
                         f'label {r["label_size"][0]}x{r["label_size"][1]}')
    if s['images_without_label']:
        lines.append(f'  images without label ({len(s["images_without_label"])}): '
                     + _few(s['images_without_label']))
    if s['labels_without_image']:
        lines.append(f'  labels without image ({len(s["labels_without_image"])}, converted '
                     'but unused): ' + _few(s['labels_without_image']))
    for r in bs.get('already-converted', [])[:max_items]:
        lines.append(f'  already converted {r["id"]}: {r["error"]}')
    for r in bs.get('error', [])[:max_items]:
        lines.append(f'  error {r["id"]}: {r["error"]}')
    return '\n'.join(lines)


def run_cli(convert: Callable[..., dict], report: Callable[[dict], str], **kwargs) -> int:
    """What a converter's command line does after parsing: ``convert(**kwargs)``, print
    ``report(summary)``; returns the exit status: 0 done, 1 some labels failed or were refused,
    2 bad input (a :class:`ConversionError`, printed as ``error: ...`` on stderr)."""
    try:
        summary = convert(**kwargs)
    except ConversionError as e:
        print(f'error: {e}', file=sys.stderr)
        return 2
    print('\n' + report(summary))
    return 1 if failed(summary) else 0


"""The protocol record of a test run: what was measured and what makes the numbers comparable.

``tools/test.py`` writes, next to its log (mmengine's per-run log dir
``WORK_DIR/<timestamp>/``), two files (see :class:`csg_mm.engine.ProtocolRecordHook`):

* ``<timestamp>_protocol.json``: machine-readable (:func:`build_record`);
* ``<timestamp>_protocol.md``: the same as a Markdown table (:func:`render_markdown`).

The record holds the per-dataset and mean results, the checkpoint file and the iteration / epoch
it was saved at (and whether that is the end of the schedule in the config: the domain-
generalisation protocol reports the last checkpoint, without selection on target data), the
label mappings of each test set (its classes and meta information), the test resolutions (the
``Resize`` steps of each test pipeline), the training seed (from the checkpoint) and the test seed.
"""
import json
import os
import os.path as osp
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np

RECORD_VERSION = 1
# meta keys not worth recording (colours; the sizes are recorded per dataset)
_SKIPPED_META = ('palette', 'cumulative_sizes')
_RESIZE_TYPES = ('Resize', 'RandomResize', 'RandomChoiceResize', 'ResizeShortestEdge',
                 'ResizeToMultiple')
_RESIZE_KEYS = ('scale', 'scale_factor', 'keep_ratio', 'ratio_range', 'scales',
                'max_size', 'size_divisor')


def to_jsonable(value: Any) -> Any:
    """``value`` with numpy / torch scalars and arrays, tuples and sets turned into JSON types;
    anything else unknown becomes its ``str``."""
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [to_jsonable(v) for v in value]
    if isinstance(value, np.floating):  # float32 58.33 -> 58.33, not 58.33000183105469
        return float(str(value))
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if hasattr(value, 'tolist') and callable(value.tolist):  # torch tensors
        return value.tolist()
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return str(value)


def pipeline_resizes(pipeline: Optional[Sequence]) -> List[dict]:
    """The resize steps of a (test) pipeline config, in order, looking into wrappers such as
    ``TestTimeAug`` (``transforms`` as a list of lists) and ``KeyMapper`` / ``RandomApply``.

    Returns:
        list[dict]: ``{'type': ..., 'scale': ..., 'keep_ratio': ...}`` (the resize keys present)
        for every ``Resize``-like step; ``[]`` when there is none (the images keep their size).
    """
    found: List[dict] = []
    for step in pipeline or []:
        if isinstance(step, (list, tuple)):
            found += pipeline_resizes(step)
            continue
        if not isinstance(step, dict):
            continue
        step_type = str(step.get('type', '')).split('.')[-1]
        if step_type in _RESIZE_TYPES:
            entry = {'type': step_type}
            entry.update({k: to_jsonable(step[k]) for k in _RESIZE_KEYS if k in step})
            found.append(entry)
        for key in ('transforms', 'transform'):
            sub = step.get(key)
            if isinstance(sub, dict):
                sub = [sub]
            if isinstance(sub, (list, tuple)):
                found += pipeline_resizes(sub)
    return found


def _dataset_entry(dataset, dataset_cfg: Optional[dict], prefix: Optional[str]) -> dict:
    meta = dict(getattr(dataset, 'metainfo', None) or {})
    cfg = dict(dataset_cfg or {})
    entry: Dict[str, Any] = {
        'prefix': prefix,
        'type': cfg.get('type', type(dataset).__name__),
        'data_root': getattr(dataset, 'data_root', None) or cfg.get('data_root'),
        'num_samples': len(dataset) if hasattr(dataset, '__len__') else None,
        'classes': to_jsonable(meta.get('classes')),
        'meta': to_jsonable({k: v for k, v in meta.items()
                             if k not in _SKIPPED_META and k != 'classes'}),
        'test_resolution': pipeline_resizes(cfg.get('pipeline')),
        'label_mapping': _converter_record(dataset),
    }
    return entry


def _converter_record(dataset) -> Optional[dict]:
    """The table a label converter applied to this dataset's labels, if it left one: the
    converters of ``csg_mm.datasets.converters`` write ``<label folder>.json`` (e.g. Mapillary's
    ``validation/labels_trainIds.json``: convention, table, downscaling) next to their output
    folder. None when there is none (labels used as found, e.g. released train ids)."""
    seg_dir = (getattr(dataset, 'data_prefix', None) or {}).get('seg_map_path')
    if not seg_dir:
        return None
    path = seg_dir.rstrip('/\\') + '.json'
    if not osp.isfile(path):
        return None
    try:
        with open(path, encoding='utf-8') as f:
            content = json.load(f)
    except (OSError, ValueError) as exc:
        return {'file': path, 'error': f'unreadable: {exc}'}
    return {'file': path, **(content if isinstance(content, dict) else {'content': content})}


def _datasets(dataset, dataset_cfg: Optional[dict],
              prefixes: Optional[Sequence[str]]) -> List[Tuple[Any, Optional[dict], Any]]:
    """(dataset, its config, its prefix) for each test set of a possibly concatenated one."""
    subsets = getattr(dataset, 'datasets', None)
    if not subsets or not isinstance(subsets, (list, tuple)):
        return [(dataset, dataset_cfg, None)]
    cfgs = list((dataset_cfg or {}).get('datasets') or [None] * len(subsets))
    cfgs += [None] * (len(subsets) - len(cfgs))
    names = list(prefixes) if prefixes else [None] * len(subsets)
    names += [None] * (len(subsets) - len(names))
    return list(zip(subsets, cfgs, names))


def _last_of_schedule(train_cfg: Optional[dict], ckpt_meta: dict) -> Optional[bool]:
    train_cfg = dict(train_cfg or {})
    if 'max_iters' in train_cfg and ckpt_meta.get('iter') is not None:
        return int(ckpt_meta['iter']) == int(train_cfg['max_iters'])
    if 'max_epochs' in train_cfg and ckpt_meta.get('epoch') is not None:
        return int(ckpt_meta['epoch']) == int(train_cfg['max_epochs'])
    return None


def build_record(metrics: Dict[str, Any],
                 *,
                 dataset,
                 dataset_cfg: Optional[dict] = None,
                 prefixes: Optional[Sequence[str]] = None,
                 config: Optional[str] = None,
                 checkpoint: Optional[str] = None,
                 checkpoint_meta: Optional[dict] = None,
                 train_cfg: Optional[dict] = None,
                 test_seed: Optional[int] = None,
                 timestamp: Optional[str] = None,
                 world_size: int = 1,
                 tta: bool = False) -> dict:
    """The protocol record (a JSON-serialisable dict) of one test run.

    Args:
        metrics (dict): What the test loop returned (``runner.test()``), e.g.
            ``{'cityscapes/mIoU': 40.1, ..., 'mean/mIoU': 35.2}`` (multi-dataset evaluator) or
            ``{'aAcc': ..., 'mIoU': ...}`` (one test set).
        dataset: The built test set: a :class:`~csg_mm.datasets.ConcatEvalDataset` (its
            ``datasets`` are recorded one by one) or a single dataset.
        dataset_cfg (dict, optional): Its config (for the pipelines' resize steps).
        prefixes (Sequence[str], optional): The evaluator's ``dataset_prefixes`` (one per
            dataset); None for a single test set.
        config (str, optional): The config file.
        checkpoint (str, optional): The checkpoint file tested.
        checkpoint_meta (dict, optional): The checkpoint's ``meta`` (mmengine writes ``iter``,
            ``epoch``, ``seed``, ``experiment_name``, ``time``, ...).
        train_cfg (dict, optional): The config's ``train_cfg`` (``max_iters`` / ``max_epochs``).
        test_seed (int, optional): The seed of the test run.
        timestamp (str, optional): The run's timestamp (mmengine's ``runner.timestamp``).
        world_size (int): Number of processes. Defaults to 1.
        tta (bool): Whether test-time augmentation was used. Defaults to False.

    Returns:
        dict: keys ``record_version``, ``timestamp``, ``config``, ``checkpoint`` (``file``,
        ``iter``, ``epoch``, ``last_of_schedule``, ``experiment_name``, ``saved_at``),
        ``seed`` (``train``, ``test``), ``world_size``, ``tta``, ``datasets`` (one entry per test
        set: ``prefix``, ``type``, ``data_root``, ``num_samples``, ``classes``, ``meta``,
        ``test_resolution``, ``label_mapping`` (the converter's record of the table it applied,
        or None), ``metrics``), ``mean`` (the ``mean/`` metrics without the prefix;
        ``{}`` for one test set) and ``metrics`` (all, as returned).
    """
    meta = dict(checkpoint_meta or {})
    metrics = to_jsonable(dict(metrics or {}))
    entries = [_dataset_entry(d, c, p) for d, c, p in _datasets(dataset, dataset_cfg, prefixes)]
    if len(entries) == 1 and entries[0]['prefix'] is None:
        entries[0]['metrics'] = dict(metrics)
        mean: Dict[str, Any] = {}
    else:
        for entry in entries:
            head = f'{entry["prefix"]}/'
            entry['metrics'] = {k[len(head):]: v for k, v in metrics.items()
                                if k.startswith(head)}
        mean = {k[len('mean/'):]: v for k, v in metrics.items() if k.startswith('mean/')}
    return {
        'record_version': RECORD_VERSION,
        'timestamp': timestamp,
        'config': config,
        'checkpoint': {
            'file': checkpoint,
            'iter': meta.get('iter'),
            'epoch': meta.get('epoch'),
            'last_of_schedule': _last_of_schedule(train_cfg, meta),
            'experiment_name': meta.get('experiment_name'),
            'saved_at': meta.get('time'),
        },
        'seed': {'train': to_jsonable(meta.get('seed')), 'test': to_jsonable(test_seed)},
        'world_size': int(world_size),
        'tta': bool(tta),
        'datasets': entries,
        'mean': mean,
        'metrics': metrics,
    }


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f'{value:.2f}'
    return '-' if value is None else str(value)


def _fmt_resolution(resizes: List[dict]) -> str:
    if not resizes:
        return 'original size'
    parts = []
    for r in resizes:
        if 'scale' in r:
            scale = r['scale']
            text = 'x'.join(map(str, scale)) if isinstance(scale, list) else str(scale)
            text += ' (keep ratio)' if r.get('keep_ratio') else ''
        elif 'scale_factor' in r:
            text = f'x{r["scale_factor"]}'
        else:
            text = r['type']
        if 'ratio_range' in r:
            text += f' ratios {r["ratio_range"]}'
        parts.append(text)
    return ' then '.join(parts)


def _metric_keys(record: dict) -> List[str]:
    keys: List[str] = []
    for entry in record['datasets']:
        for key, value in entry['metrics'].items():
            if isinstance(value, (int, float)) and key not in keys:
                keys.append(key)
    return keys


def render_markdown(record: dict) -> str:
    """The record as Markdown: a header with the checkpoint and seeds, a table (one row per test
    set, the unweighted mean as the last row) and the label mapping of each test set."""
    ckpt = record['checkpoint']
    keys = _metric_keys(record)
    lines = [f'# Test record {record.get("timestamp") or ""}'.rstrip(), '']
    lines.append(f'- config: `{record.get("config")}`')
    where = []
    if ckpt.get('iter') is not None:
        where.append(f'iteration {ckpt["iter"]}')
    if ckpt.get('epoch'):
        where.append(f'epoch {ckpt["epoch"]}')
    if ckpt.get('last_of_schedule') is not None:
        where.append('last of the schedule' if ckpt['last_of_schedule'] else
                     'NOT the last of the schedule')
    lines.append(f'- checkpoint: `{ckpt.get("file")}`' +
                 (f' ({", ".join(where)})' if where else ''))
    seed = record['seed']
    lines.append(f'- seed: training {_fmt(seed.get("train"))}, test {_fmt(seed.get("test"))}')
    lines.append(f'- processes: {record.get("world_size")}; test-time augmentation: '
                 f'{"yes" if record.get("tta") else "no"}')
    lines += ['', '| dataset | images | test resolution | ' + ' | '.join(keys) + ' |',
              '|---|---:|---|' + '---:|' * len(keys)]
    for entry in record['datasets']:
        name = entry['prefix'] or entry['type']
        lines.append(f'| {name} | {_fmt(entry["num_samples"])} | '
                     f'{_fmt_resolution(entry["test_resolution"])} | ' +
                     ' | '.join(_fmt(entry['metrics'].get(k)) for k in keys) + ' |')
    if record['mean']:
        lines.append(f'| **mean** ({len(record["datasets"])} datasets, unweighted) | | | ' +
                     ' | '.join(_fmt(record['mean'].get(k)) for k in keys) + ' |')
    lines += ['', '## Label mappings', '']
    for entry in record['datasets']:
        name = entry['prefix'] or entry['type']
        classes = entry.get('classes')
        text = f'- {name}: `{entry["type"]}`, root `{entry["data_root"]}`'
        if classes:
            text += f', {len(classes)} classes ({", ".join(map(str, classes))})'
        extra = {k: v for k, v in (entry.get('meta') or {}).items() if v not in (None, {}, [])}
        if extra:
            text += '; ' + '; '.join(f'{k}: {json.dumps(v)}' for k, v in extra.items())
        mapping = entry.get('label_mapping')
        if mapping:
            shown = {k: v for k, v in mapping.items() if k not in ('file', 'table')}
            text += f'; converted labels (`{mapping["file"]}`): {json.dumps(shown)}'
        else:
            text += '; labels used as found (no converter record)'
        lines.append(text)
    return '\n'.join(lines) + '\n'


def write_record(record: dict, out_dir: str, stem: str) -> Tuple[str, str]:
    """Write ``<stem>.json`` and ``<stem>.md`` into ``out_dir``; never overwrites.

    Returns:
        tuple[str, str]: The JSON and the Markdown paths.

    Raises:
        FileExistsError: One of the two files exists already (named; nothing is written).
    """
    os.makedirs(out_dir, exist_ok=True)
    paths = (osp.join(out_dir, f'{stem}.json'), osp.join(out_dir, f'{stem}.md'))
    for path in paths:
        if osp.exists(path):
            raise FileExistsError(f'protocol record {path} exists already; not overwriting it '
                                  '(use another --work-dir or move the old record)')
    texts = (json.dumps(record, indent=2) + '\n', render_markdown(record))
    for path, text in zip(paths, texts):
        with open(path, 'x', encoding='utf-8') as f:  # 'x': fail rather than overwrite
            f.write(text)
    return paths

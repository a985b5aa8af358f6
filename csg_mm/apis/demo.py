# Copyright (c) csg_mm contributors. All rights reserved.
"""The digits syn-to-real demo (``tools/demo.py``, ``make demo``; protocol and results:
``docs/demo.md``).

Protocol, in the regime of CSG's VisDA experiment (Chen et al., ICLR 2021, Table 1), through the
stock mmengine ``Runner`` and the configs of ``configs/demo``:

1. **Teacher** (the ImageNet stand-in): a small ResNet pretrained ONCE, with a fixed seed
   (:data:`TEACHER_SEED`), on the real PRETRAINING half of scikit-learn's handwritten digits
   with COARSE labels only (the pairs ``{0,1} {2,3} {4,5} {6,7} {8,9}``,
   :data:`csg_mm.datasets.digits.COARSE_PAIRS`), so that it does not know the fine ten-digit
   task, as ImageNet does not know VisDA's classes. Its ``backbone.*`` weights are saved as a
   standalone state dict with a fingerprint of the config and library versions; a later run with
   the same fingerprint reuses them (and says so).
2. **Methods**, per seed: from the teacher's backbone with a new 10-way head, trained on
   synthetic font digits only (a new synthetic draw per seed): the baseline (fine-tuning), the
   oracle (frozen backbone), feature l2 and CSG (:data:`METHODS`).
3. **Test**: every model on the real TEST half (fine labels): mean class accuracy and the
   hyperspherical energy of the pooled last-stage features.
4. **Statistics** over the seeds (:func:`summarize`, :mod:`csg_mm.utils.stats`): per method the
   mean and 95 % Student-t interval of accuracy and energy, and the paired (same-seed)
   difference to the baseline with its interval and verdict; the conclusion names only the
   differences whose interval excludes 0.

Outputs in ``work_dir``: ``teacher[-quick]/`` (runner dir, ``backbone.pth``,
``fingerprint.json``), ``seed<N>[-quick][<tag>]/`` (one runner dir per method and
``results.json``), and ``summary_seeds-<seeds>[-quick][<tag>].{json,md,png}``. A file with other
numbers is never overwritten: it is kept under a time-stamped name.
"""
import contextlib
import copy
import hashlib
import json
import os
import os.path as osp
import shutil
import time
import warnings
from typing import Dict, List, Optional, Sequence

from csg_mm.utils.stats import mean_interval, paired_difference

#: The configs of the demo, relative to ``config_dir`` (default: the repository's configs/demo).
TEACHER_CONFIG = 'teacher_coarse_real_digits.py'
#: (key, config, label) of the compared methods, in table order; the first is the reference of
#: the paired differences.
METHODS = (
    ('baseline', 'baseline_synth_digits.py', 'Baseline (fine-tune on synthetic)'),
    ('oracle', 'oracle_synth_digits.py', 'Oracle (frozen teacher backbone, new head)'),
    ('feat-l2', 'feat-l2_synth_digits.py', 'Feature l2'),
    ('csg', 'csg_synth_digits.py', 'CSG'),
)
REFERENCE_METHOD = 'baseline'
#: The teacher is pretrained once, with this seed, for every experiment seed (as the paper's one
#: ImageNet model).
TEACHER_SEED = 0
#: Protocol lengths. ``full`` is the pre-registered protocol of docs/demo.md; ``quick`` is a
#: shortened protocol for the tests (same steps and components, tiny data and schedules, two
#: seeds so that the statistics run; its numbers mean nothing).
PROTOCOLS = {
    'full': dict(teacher_epochs=20, synth_per_class=150, synth_epochs=3, seeds=(0, 1, 2, 3, 4)),
    'quick': dict(teacher_epochs=1, synth_per_class=4, synth_epochs=1, seeds=(0, 1)),
}
CONFIDENCE = 0.95
#: metric keys of ``runner.test()`` -> short names
METRIC_KEYS = {
    'visda/mean_class_acc': 'mean_class_acc',
    'visda/overall_acc': 'overall_acc',
    'diversity/energy_s0': 'energy_s0',
    'diversity/energy_s1': 'energy_s1',
    'diversity/energy_s2': 'energy_s2',
}
#: the metrics that are summarised over seeds (and compared with the baseline)
SUMMARISED = ('mean_class_acc', 'energy_s0')
LABELS = {key: label for key, _, label in METHODS}
SHORT_LABELS = {'baseline': 'Baseline', 'oracle': 'Oracle', 'feat-l2': 'Feature l2',
                'csg': 'CSG'}


def default_config_dir() -> str:
    """``configs/demo`` of the source tree this package is imported from."""
    return osp.join(osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))), 'configs',
                    'demo')


def say(msg: str) -> None:
    print(f'[demo] {msg}', flush=True)


class Clock:
    """Wall-clock and CPU time (this process, all threads: ``time.process_time``) since
    construction, in seconds."""

    def __init__(self) -> None:
        self.wall0 = time.perf_counter()
        self.cpu0 = time.process_time()

    def read(self) -> Dict[str, float]:
        return dict(wall_s=time.perf_counter() - self.wall0, cpu_s=time.process_time() - self.cpu0)


# ---------------------------------------------------------------------------------------------
# configs and runs


def set_epochs(cfg, epochs: int) -> None:
    """Set the training length and stretch the epoch-based schedulers to it."""
    cfg.train_cfg.max_epochs = epochs
    for sched in cfg.param_scheduler:
        if sched.get('by_epoch', True):
            sched['end'] = epochs


def build_cfg(config_path: str, *, seed: int, work_dir: str, protocol: dict, verbose: bool,
              pretrained: Optional[str] = None, csg_loss_weight: Optional[float] = None):
    """A demo config with the run's seed, lengths, work dir and pretrained backbone.

    Raises:
        FileNotFoundError: ``config_path`` does not exist.
    """
    from mmengine.config import Config
    if not osp.isfile(config_path):
        raise FileNotFoundError(f'demo config not found: {config_path} (pass the folder of the '
                                'demo configs, configs/demo of the repository)')
    cfg = Config.fromfile(config_path)
    name = osp.splitext(osp.basename(config_path))[0]
    cfg.work_dir = work_dir
    cfg.randomness = dict(seed=seed, deterministic=False)
    cfg.experiment_name = f'{name}_seed{seed}_{time.strftime("%Y%m%d_%H%M%S")}'
    cfg.log_level = 'INFO'
    dataset = cfg.train_dataloader.dataset
    if dataset.type == 'SynthDigitsDataset':
        dataset.num_per_class = protocol['synth_per_class']
        dataset.seed = seed  # every seed draws its own synthetic training set
        set_epochs(cfg, protocol['synth_epochs'])
    else:
        set_epochs(cfg, protocol['teacher_epochs'])
    if pretrained is not None:
        cfg.model.backbone.init_cfg = dict(type='Pretrained', checkpoint=pretrained)
    regularizer = cfg.model.get('regularizer')
    if csg_loss_weight is not None and regularizer and regularizer.type == 'CSGRegularizer':
        regularizer.head.loss_weight = csg_loss_weight
    if not verbose:
        cfg.default_hooks.logger.interval = 50
    return cfg


def fingerprint(cfg) -> str:
    """A hash of everything that determines the teacher's weights (config parts and versions)."""
    import mmengine
    import mmpretrain
    import numpy
    import torch
    keys = ('model', 'train_dataloader', 'optim_wrapper', 'param_scheduler', 'train_cfg',
            'randomness', 'data_preprocessor')
    content = {k: cfg.get(k) for k in keys}
    content['versions'] = [torch.__version__, mmengine.__version__, mmpretrain.__version__,
                           numpy.__version__]
    text = json.dumps(content, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


@contextlib.contextmanager
def quiet(verbose: bool):
    """Send the runners' console logs to /dev/null (their log files keep everything)."""
    if verbose:
        yield
        return
    with open(os.devnull, 'w') as devnull, contextlib.redirect_stdout(devnull), \
            warnings.catch_warnings():
        warnings.simplefilter('ignore')
        yield


def short_metrics(metrics: dict) -> dict:
    return {short: float(metrics[key]) for key, short in METRIC_KEYS.items() if key in metrics}


def train_and_test(cfg) -> Dict:
    """Train and test one config through the stock runner: its short metrics and the time."""
    from mmengine.runner import Runner
    clock = Clock()
    runner = Runner.from_cfg(cfg)
    runner.train()
    metrics = short_metrics(runner.test())
    return dict(metrics=metrics, runner=runner, **clock.read())


def pretrain_teacher(config_dir: str, work_dir: str, protocol: dict, verbose: bool) -> Dict:
    """Step 1: pretrain the teacher on the coarse real labels, or reuse the checkpoint of the
    same fingerprint.

    Returns:
        dict: ``backbone`` (path of the backbone state dict), ``reused``, ``fingerprint``,
        ``metrics`` (the teacher with its own 5-way head on the COARSE labels of the real test
        split: for information, nothing is selected on it), ``wall_s`` and ``cpu_s`` (0 when
        reused; ``train_wall_s`` / ``train_cpu_s`` of the run that made it).
    """
    import torch
    cfg = build_cfg(osp.join(config_dir, TEACHER_CONFIG), seed=TEACHER_SEED, work_dir=work_dir,
                    protocol=protocol, verbose=verbose)
    fp = fingerprint(cfg)
    backbone_path = osp.join(work_dir, 'backbone.pth')
    record_path = osp.join(work_dir, 'fingerprint.json')
    if osp.isfile(backbone_path) and osp.isfile(record_path):
        with open(record_path) as f:
            record = json.load(f)
        if record.get('fingerprint') == fp:
            say(f'teacher: reusing {backbone_path} (fingerprint {fp} matches)')
            return dict(backbone=backbone_path, reused=True, fingerprint=fp,
                        metrics=record['metrics'], wall_s=0.0, cpu_s=0.0,
                        train_wall_s=record.get('wall_s'), train_cpu_s=record.get('cpu_s'))
        say(f'teacher: {backbone_path} has fingerprint {record.get("fingerprint")}, this config '
            f'needs {fp}: pretraining again')
    say(f'pretraining the teacher on the real pretraining split, coarse labels '
        f'({protocol["teacher_epochs"]} epochs, seed {TEACHER_SEED})...')
    with quiet(verbose):
        run = train_and_test(cfg)
    state = {k[len('backbone.'):]: v.detach().clone()
             for k, v in run['runner'].model.state_dict().items() if k.startswith('backbone.')}
    torch.save(state, backbone_path)
    record = dict(fingerprint=fp, seed=TEACHER_SEED, metrics=run['metrics'],
                  wall_s=run['wall_s'], cpu_s=run['cpu_s'], config=TEACHER_CONFIG,
                  protocol=protocol)
    with open(record_path, 'w') as f:
        json.dump(record, f, indent=2, default=list)
    say(f'teacher done in {run["wall_s"]:.0f} s (CPU {run["cpu_s"]:.0f} s); backbone weights: '
        f'{backbone_path}')
    return dict(backbone=backbone_path, reused=False, fingerprint=fp, metrics=run['metrics'],
                wall_s=run['wall_s'], cpu_s=run['cpu_s'], train_wall_s=run['wall_s'],
                train_cpu_s=run['cpu_s'])


# ---------------------------------------------------------------------------------------------
# files that are never overwritten silently


def _numbers(results: dict):
    """The metric numbers of a per-seed result or a summary (timings aside), rounded."""
    if 'methods' in results and all('metrics' in m for m in results['methods'].values()):
        return {k: {n: round(v, 6) for n, v in m['metrics'].items()}
                for k, m in results['methods'].items()}
    return {k: {n: round(m[n]['mean'], 6) for n in SUMMARISED}
            for k, m in results.get('methods', {}).items()}


def keep_previous(paths: Sequence[str], results: dict) -> Optional[str]:
    """Before ``paths[0]`` (a JSON file) and its companions are written: when it exists with
    other numbers, move all of them to ``<stem>.<time stamp><ext>``.

    Returns:
        str or None: ``'reproduced'`` (same numbers), the time stamp the old files were kept
        under, or None (no earlier file).
    """
    path = paths[0]
    if not osp.isfile(path):
        return None
    try:
        with open(path) as f:
            previous = json.load(f)
        same = _numbers(previous) == _numbers(results)
    except (json.JSONDecodeError, KeyError, TypeError, AttributeError):
        same = False
    if same:
        return 'reproduced'
    stamp = time.strftime('%Y%m%d_%H%M%S', time.localtime(osp.getmtime(path)))
    for old in paths:
        if osp.isfile(old):
            stem, ext = osp.splitext(old)
            shutil.move(old, f'{stem}.{stamp}{ext}')
    return stamp


def _announce_kept(status: Optional[str], path: str) -> None:
    if status == 'reproduced':
        say(f'the numbers are identical to the previous {path}: reproduced')
    elif status is not None:
        stem, ext = osp.splitext(path)
        say(f'WARNING: {path} held different numbers; kept as {stem}.{status}{ext}')


# ---------------------------------------------------------------------------------------------
# one seed


def run_seed(seed: int, *, config_dir: str, work_dir: str, protocol: dict, protocol_name: str,
             methods: Sequence[str], teacher: dict, verbose: bool,
             csg_loss_weight: Optional[float] = None, tag: str = '') -> Dict:
    """Steps 2 and 3 for one seed: every method trained on synthetic digits and tested on the
    real test split; ``<work_dir>/seed<N>[-quick]<tag>/results.json``."""
    suffix = '-quick' if protocol_name == 'quick' else ''
    out_dir = osp.abspath(osp.join(work_dir, f'seed{seed}{suffix}{tag}'))
    os.makedirs(out_dir, exist_ok=True)
    clock = Clock()
    results = {}
    for key, config, _ in METHODS:
        if key not in methods:
            continue
        cfg = build_cfg(osp.join(config_dir, config), seed=seed,
                        work_dir=osp.join(out_dir, key), protocol=protocol, verbose=verbose,
                        pretrained=teacher['backbone'], csg_loss_weight=csg_loss_weight)
        with quiet(verbose):
            run = train_and_test(cfg)
        m = run['metrics']
        say(f'seed {seed} {key:<9} {run["wall_s"]:4.0f} s (CPU {run["cpu_s"]:4.0f} s): mean '
            f'class accuracy {m["mean_class_acc"]:.2f} %, energy s=0 {m["energy_s0"]:.4f}')
        results[key] = dict(metrics=m, wall_s=run['wall_s'], cpu_s=run['cpu_s'])
    record = dict(seed=seed, protocol=protocol_name, protocol_settings=protocol,
                  csg_loss_weight=csg_loss_weight, teacher_fingerprint=teacher['fingerprint'],
                  methods=results, **clock.read())
    path = osp.join(out_dir, 'results.json')
    _announce_kept(keep_previous([path], record), path)
    with open(path, 'w') as f:
        json.dump(record, f, indent=2, default=list)
    return record


# ---------------------------------------------------------------------------------------------
# statistics and reports


def summarize(per_seed: Sequence[dict], confidence: float = CONFIDENCE) -> Dict:
    """Statistics over seeds of :func:`run_seed` records.

    Returns:
        dict: ``seeds``; ``methods``: per method, for every metric of :data:`SUMMARISED`, the
        :func:`~csg_mm.utils.stats.mean_interval`; ``differences``: per method other than the
        reference (the baseline, when it ran), for every metric, the
        :func:`~csg_mm.utils.stats.paired_difference` to the reference of the same seed (with
        its verdict); ``conclusion``: the sentences of :func:`conclusion`.

    Raises:
        ValueError: fewer than 2 seeds, repeated seeds, or seeds that ran different methods.
    """
    seeds = [r['seed'] for r in per_seed]
    if len(seeds) < 2:
        raise ValueError(f'statistics over seeds need at least 2 seeds, got {seeds}')
    if len(set(seeds)) != len(seeds):
        raise ValueError(f'each seed must appear once, got {seeds}')
    keys = [k for k, _, _ in METHODS if k in per_seed[0]['methods']]
    for r in per_seed:
        if sorted(r['methods']) != sorted(keys):
            raise ValueError(f'seed {r["seed"]} ran {sorted(r["methods"])}, seed {seeds[0]} ran '
                             f'{sorted(keys)}: the seeds must run the same methods')

    def values(key, name):
        return [r['methods'][key]['metrics'][name] for r in per_seed]

    stats = {k: {n: mean_interval(values(k, n), confidence) for n in SUMMARISED} for k in keys}
    diffs = {}
    if REFERENCE_METHOD in keys:
        diffs = {k: {n: paired_difference(values(k, n), values(REFERENCE_METHOD, n), confidence)
                     for n in SUMMARISED}
                 for k in keys if k != REFERENCE_METHOD}
    summary = dict(seeds=seeds, confidence=confidence, reference=REFERENCE_METHOD,
                   methods=stats, differences=diffs)
    summary['conclusion'] = conclusion(summary)
    return summary


def _interval_text(iv: dict, digits: int) -> str:
    return f'{iv["mean"]:.{digits}f} [{iv["low"]:.{digits}f}, {iv["high"]:.{digits}f}]'


def conclusion(summary: dict) -> List[str]:
    """The printed conclusion: one sentence per compared metric, naming the RESOLVED differences
    to the baseline (interval excludes 0) with their sign and the unresolved ones; borderline
    verdicts (:func:`csg_mm.utils.stats.verdict`) are marked. Built from the verdicts only, so it
    reads the same wherever the verdicts agree."""
    diffs = summary.get('differences') or {}
    if not diffs:
        return ['No paired comparison: the baseline did not run.']
    n = len(summary['seeds'])
    pct = round(summary['confidence'] * 100)
    words = {'mean_class_acc': ('higher accuracy', 'lower accuracy', 'accuracy'),
             'energy_s0': ('higher energy (less diverse features)',
                           'lower energy (more diverse features)', 'energy')}
    lines = [f'Verdicts over {n} seeds: a difference to the baseline (same seed) is called '
             f'resolved only when its {pct} % t interval excludes 0.']
    for name in SUMMARISED:
        up, down, what = words[name]
        parts = {'higher': [], 'lower': [], 'unresolved': []}
        for key, d in diffs.items():
            v = d[name]
            mark = ' (borderline)' if v['borderline'] else ''
            parts[v['verdict']].append(SHORT_LABELS.get(key, key) + mark)
        text = []
        if parts['higher']:
            text.append(f'{", ".join(parts["higher"])}: {up} than the baseline')
        if parts['lower']:
            text.append(f'{", ".join(parts["lower"])}: {down} than the baseline')
        if parts['unresolved']:
            text.append(f'{", ".join(parts["unresolved"])}: {what} difference unresolved')
        lines.append(f'{what.capitalize()}: ' + '; '.join(text) + '.')
    if any(d[n_]['borderline'] for d in diffs.values() for n_ in SUMMARISED):
        lines.append('Borderline: the interval ends within half a half-width of 0, so that '
                     'verdict may differ on another machine or with other seeds.')
    return lines


def format_summary(summary: dict, teacher: Optional[dict] = None) -> str:
    """The summary as plain text: per method mean [95 % interval] of accuracy and energy; the
    paired differences to the baseline with their verdicts; the conclusion."""
    n = len(summary['seeds'])
    stats = summary['methods']
    any_iv = next(iter(stats.values()))['mean_class_acc']
    width = max(len(LABELS[k]) for k in stats) + 2
    pct = round(summary['confidence'] * 100)
    lines = [f'Seeds {", ".join(map(str, summary["seeds"]))}: mean [{pct} % t interval, '
             f't = {any_iv["t"]:.3f}, n = {n}] on the real test split',
             f'{"method":<{width}}{"mean class acc. (%)":>26}  {"energy s=0":>26}']
    for key, st in stats.items():
        lines.append(f'{LABELS[key]:<{width}}{_interval_text(st["mean_class_acc"], 2):>26}  '
                     f'{_interval_text(st["energy_s0"], 4):>26}')
    if summary.get('differences'):
        lines += ['', 'Paired difference to the baseline (same seed), mean [interval] and '
                  'verdict:',
                  f'{"method":<{width}}{"accuracy (points)":>26} {"":<12}{"energy s=0":>26}']
        for key, d in summary['differences'].items():
            acc, en = d['mean_class_acc'], d['energy_s0']
            lines.append(
                f'{LABELS[key]:<{width}}{_interval_text(acc, 2):>26} '
                f'{acc["verdict"] + ("~" if acc["borderline"] else ""):<12}'
                f'{_interval_text(en, 4):>26} {en["verdict"] + ("~" if en["borderline"] else "")}')
        lines.append('(~ = borderline)')
    if teacher is not None and teacher.get('metrics'):
        t = teacher['metrics']
        lines += ['', f'Teacher (pretrained on the coarse real labels, 5 classes) on the real test '
                  f'split with its own 5-way head: coarse mean class accuracy '
                  f'{t["mean_class_acc"]:.2f} %, energy s=0 {t["energy_s0"]:.4f} (for '
                  'information; the oracle has the same features)']
    lines += [''] + summary['conclusion']
    return '\n'.join(lines)


def markdown_summary(summary: dict, command: str) -> str:
    """The summary as markdown tables (docs/demo.md uses the same layout)."""
    n = len(summary['seeds'])
    pct = round(summary['confidence'] * 100)
    lines = [f'Seeds {", ".join(map(str, summary["seeds"]))} (n = {n}); mean [{pct} % Student-t '
             f'interval]. Command: `{command}`', '',
             '| method | mean class acc. (%) | energy s=0 | acc. vs. baseline (points) | '
             'energy vs. baseline |', '|---|---:|---:|---:|---:|']
    def diff(d, name, digits):
        if d is None:
            return ''
        v = d[name]
        word = v['verdict'] + (', borderline' if v['borderline'] else '')
        return f'{_interval_text(v, digits)} {word}'

    for key, st in summary['methods'].items():
        d = summary['differences'].get(key)
        lines.append(f'| {LABELS[key]} | {_interval_text(st["mean_class_acc"], 2)} | '
                     f'{_interval_text(st["energy_s0"], 4)} | {diff(d, "mean_class_acc", 2)} | '
                     f'{diff(d, "energy_s0", 4)} |')
    lines += ['', *summary['conclusion']]
    return '\n'.join(lines)


def write_summary(work_dir: str, name: str, summary: dict, command: str) -> List[str]:
    """``<work_dir>/<name>.{json,md,png}`` (earlier files with other numbers are kept)."""
    from csg_mm.visualization.demo_plot import plot_summary
    base = osp.join(work_dir, name)
    paths = [base + '.json', base + '.md', base + '.png']
    _announce_kept(keep_previous(paths, summary), paths[0])
    with open(paths[0], 'w') as f:
        json.dump(dict(summary, command=command), f, indent=2, default=list)
    with open(paths[1], 'w') as f:
        f.write(markdown_summary(summary, command) + '\n')
    plot_summary(summary, paths[2], labels=SHORT_LABELS,
                 title=f'Synthetic font digits -> real handwritten digits, '
                 f'{len(summary["seeds"])} seeds')
    return paths


# ---------------------------------------------------------------------------------------------
# the whole demo


def run_demo(seeds: Optional[Sequence[int]] = None,
             work_dir: str = osp.join('work_dirs', 'demo'),
             quick: bool = False,
             methods: Optional[Sequence[str]] = None,
             threads: Optional[int] = None,
             csg_loss_weight: Optional[float] = None,
             verbose: bool = False,
             config_dir: Optional[str] = None,
             command: str = '') -> Dict:
    """Run the demo (teacher, methods per seed, statistics) and print and write its reports.

    Args:
        seeds (Sequence[int], optional): experiment seeds; default: the protocol's
            (:data:`PROTOCOLS`: 0-4 for ``full``).
        work_dir (str): output folder.
        quick (bool): the shortened test protocol.
        methods (Sequence[str], optional): keys of :data:`METHODS` to run (default: all).
        threads (int, optional): ``torch.set_num_threads``. Defaults to 1: the network is so
            small that a second thread mostly waits (docs/demo.md, "Run time").
        csg_loss_weight (float, optional): a CSG lambda other than the config's (a variant: its
            seed folders and summary get the tag ``-csg-lw<W>``).
        verbose (bool): show the runners' logs (always written to the work dirs).
        config_dir (str, optional): folder of the demo configs (default: the repository's
            ``configs/demo``).
        command (str): the command line, recorded in the reports.

    Returns:
        dict: ``teacher``, ``per_seed`` (the :func:`run_seed` records), ``summary`` (None for one
        seed), ``wall_s`` and ``cpu_s`` of the whole run.

    Raises:
        ValueError: an unknown method, a repeated seed, or an empty seed list.
        FileNotFoundError: a demo config is missing.
    """
    import torch
    clock = Clock()
    protocol_name = 'quick' if quick else 'full'
    protocol = copy.deepcopy(PROTOCOLS[protocol_name])
    seeds = list(protocol['seeds'] if seeds is None else seeds)
    if not seeds:
        raise ValueError('give at least one seed')
    if len(set(seeds)) != len(seeds):
        raise ValueError(f'each seed must appear once, got {seeds}')
    known = [k for k, _, _ in METHODS]
    methods = list(known if methods is None else methods)
    unknown = [m for m in methods if m not in known]
    if unknown:
        raise ValueError(f'unknown method(s) {unknown}; choose from {known}')
    config_dir = config_dir or default_config_dir()
    if not osp.isfile(osp.join(config_dir, TEACHER_CONFIG)):
        raise FileNotFoundError(f'{TEACHER_CONFIG} not found in {config_dir}: pass the folder '
                                'of the demo configs (configs/demo of the repository)')
    torch.set_num_threads(max(1, threads or 1))
    import csg_mm  # noqa: F401  (registers the CSG components)
    import csg_mm.datasets.digits  # noqa: F401  (registers the digit datasets)

    suffix = '-quick' if quick else ''
    tag = '' if csg_loss_weight is None else f'-csg-lw{csg_loss_weight:g}'
    os.makedirs(work_dir, exist_ok=True)
    say(f'{protocol_name} protocol {protocol}; seeds {seeds}; methods {methods}; output '
        f'{osp.abspath(work_dir)}')
    teacher = pretrain_teacher(config_dir, osp.abspath(osp.join(work_dir, 'teacher' + suffix)),
                               protocol, verbose)
    per_seed = [run_seed(seed, config_dir=config_dir, work_dir=work_dir, protocol=protocol,
                         protocol_name=protocol_name, methods=methods, teacher=teacher,
                         verbose=verbose, csg_loss_weight=csg_loss_weight, tag=tag)
                for seed in seeds]
    summary = None
    print()
    if len(seeds) >= 2:
        summary = summarize(per_seed)
        summary.update(protocol=protocol_name, protocol_settings=protocol,
                       csg_loss_weight=csg_loss_weight, teacher=teacher['metrics'],
                       threads=torch.get_num_threads())
        print(format_summary(summary, teacher))
    else:
        print('One seed: no intervals (one seed\'s digits are noise; run several seeds).')
        for key, m in per_seed[0]['methods'].items():
            print(f'  {LABELS[key]}: {m["metrics"]["mean_class_acc"]:.2f} %, energy s=0 '
                  f'{m["metrics"]["energy_s0"]:.4f}')
    timing = clock.read()
    print()
    say(f'total {timing["wall_s"]:.0f} s wall, {timing["cpu_s"]:.0f} s CPU '
        f'({torch.get_num_threads()} threads)')
    if summary is not None:
        summary.update(timing=dict(timing, teacher_reused=teacher['reused']))
        name = ('summary_seeds-' + '-'.join(map(str, seeds)) + suffix + tag)
        paths = write_summary(work_dir, name, summary, command)
        say(f'summary: {", ".join(paths)}')
    return dict(teacher=teacher, per_seed=per_seed, summary=summary, **timing)


__all__ = ['METHODS', 'PROTOCOLS', 'TEACHER_SEED', 'run_demo', 'summarize', 'conclusion',
           'format_summary', 'markdown_summary', 'keep_previous', 'pretrain_teacher', 'run_seed']

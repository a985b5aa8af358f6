"""A real syn-to-real experiment on a CPU in minutes: CSG on digits (docs/demo.md).

    python tools/demo.py [--seed N [N ...]] [--work-dir work_dirs/demo] [--quick] [--verbose]

Real domain: scikit-learn's 1,797 handwritten 8 x 8 digits, split once (stratified, fixed seed)
into a real PRETRAINING half (the ImageNet stand-in) and a real TEST half. Synthetic domain: digits
rendered from matplotlib's bundled fonts, brought to the same 8 x 8 / 0-16 look
(``csg_mm/datasets/digits.py``). Through the stock mmpretrain / mmengine runner and the configs of
``configs/demo``:

1. pretrain a small ResNet-18 on the real pretraining split (skipped when the checkpoint of the
   same config and seed exists: ``pretrain/fingerprint.json``);
2. from its backbone, train on synthetic digits only: vanilla fine-tuning, oracle (frozen
   backbone, new head), feature l2 and CSG;
3. evaluate every model on the real test split: mean class accuracy and hyperspherical energy.

``--csg-loss-weight W`` (ablation) trains with CSG lambda = W instead of the config's 0.1 and
writes to ``seed<N>[-quick]-csg-lw<W>`` (the pretraining of ``seed<N>`` is reused).

Writes ``<work-dir>/seed<N>[-quick]/results.{json,md,png}`` (a differing earlier result is kept
under a time-stamped name, never overwritten silently) and, for several seeds, a
``summary_seeds-...`` mean / standard deviation table and plot in ``<work-dir>``.
"""
import argparse
import contextlib
import copy
import hashlib
import json
import os
import os.path as osp
import shutil
import sys
import time
import warnings

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)
CONFIG_DIR = osp.join(ROOT, 'configs', 'demo')

PRETRAIN_CONFIG = 'pretrain_real_digits.py'
# (key, config, label)
METHODS = (
    ('baseline', 'baseline_synth_digits.py', 'Baseline (fine-tune on synthetic)'),
    ('oracle', 'oracle_synth_digits.py', 'Oracle (frozen backbone, new head)'),
    ('feat-l2', 'feat-l2_synth_digits.py', 'Feature l2'),
    ('csg', 'csg_synth_digits.py', 'CSG'),
)
REFERENCE = ('pretrained', 'Real-pretrained model (trained on real labels; reference)')

# Protocol lengths. `full` is what docs/demo.md reports; `quick` is a shortened protocol for the
# tests (same steps and components, tiny data and schedules; its numbers mean nothing).
PROTOCOLS = {
    'full': dict(pretrain_epochs=20, synth_per_class=200, synth_epochs=6),
    'quick': dict(pretrain_epochs=2, synth_per_class=12, synth_epochs=1),
}
# metric keys of runner.test() -> short names
METRIC_KEYS = {
    'visda/mean_class_acc': 'mean_class_acc',
    'visda/overall_acc': 'overall_acc',
    'diversity/energy_s0': 'energy_s0',
    'diversity/energy_s1': 'energy_s1',
    'diversity/energy_s2': 'energy_s2',
}
COMPARED = ('mean_class_acc', 'overall_acc', 'energy_s0', 'energy_s1', 'energy_s2')


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        prog='demo.py', description='CSG syn-to-real demo on digits (CPU, minutes)')
    parser.add_argument('--seed', type=int, nargs='+', default=[0],
                        help='seed(s); several seeds run one after another and are summarised '
                        '(mean and standard deviation)')
    parser.add_argument('--work-dir', default=osp.join('work_dirs', 'demo'),
                        help='output folder (one sub-folder per seed)')
    parser.add_argument('--quick', action='store_true',
                        help='shortened protocol (for tests; the numbers mean nothing)')
    parser.add_argument('--methods', nargs='+', choices=[m[0] for m in METHODS],
                        default=[m[0] for m in METHODS], help='methods to train')
    parser.add_argument('--threads', type=int, default=min(2, os.cpu_count() or 1),
                        help='torch CPU threads (default: min(2, #cores))')
    parser.add_argument('--csg-loss-weight', type=float, default=None,
                        help='ablation: CSG lambda instead of the config\'s 0.1; the results go '
                        'to seed<N>-csg-lw<W> (pretraining is shared with seed<N>)')
    parser.add_argument('--verbose', action='store_true',
                        help='show the runners\' logs (always written to the work dirs)')
    return parser.parse_args(argv)


def say(msg: str) -> None:
    print(f'[demo] {msg}', flush=True)


# ---------------------------------------------------------------------------------------------
# configs


def set_epochs(cfg, epochs: int) -> None:
    """Set the training length and stretch the epoch-based schedulers to it."""
    cfg.train_cfg.max_epochs = epochs
    for sched in cfg.param_scheduler:
        if sched.get('by_epoch', True):
            sched['end'] = epochs


def build_cfg(config: str, *, seed: int, work_dir: str, protocol: dict, verbose: bool,
              pretrained: str = None, csg_loss_weight: float = None):
    """A demo config with the run's seed, lengths, work dir and pretrained backbone."""
    from mmengine.config import Config
    cfg = Config.fromfile(osp.join(CONFIG_DIR, config))
    cfg.work_dir = work_dir
    cfg.randomness = dict(seed=seed, deterministic=False)
    cfg.experiment_name = f'{osp.splitext(config)[0]}_seed{seed}_{time.strftime("%Y%m%d_%H%M%S")}'
    cfg.log_level = 'INFO'
    dataset = cfg.train_dataloader.dataset
    if dataset.type == 'SynthDigitsDataset':
        dataset.num_per_class = protocol['synth_per_class']
        dataset.seed = seed  # every seed draws its own synthetic training set
        set_epochs(cfg, protocol['synth_epochs'])
    else:
        set_epochs(cfg, protocol['pretrain_epochs'])
    if pretrained is not None:
        cfg.model.backbone.init_cfg = dict(type='Pretrained', checkpoint=pretrained)
    regularizer = cfg.model.get('regularizer')
    if csg_loss_weight is not None and regularizer and regularizer.type == 'CSGRegularizer':
        regularizer.head.loss_weight = csg_loss_weight
    if not verbose:
        cfg.default_hooks.logger.interval = 50
    return cfg


def fingerprint(cfg) -> str:
    """A hash of everything that determines the pretrained weights."""
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


# ---------------------------------------------------------------------------------------------
# runs


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


def pretrain(seed: int, work_dir: str, protocol: dict, verbose: bool) -> dict:
    """Step 1: pretrain on the real pretraining split, or reuse the checkpoint of the same
    fingerprint. Returns dict(backbone=path, reused=bool, seconds, metrics)."""
    import torch
    from mmengine.runner import Runner
    cfg = build_cfg(PRETRAIN_CONFIG, seed=seed, work_dir=work_dir, protocol=protocol,
                    verbose=verbose)
    fp = fingerprint(cfg)
    backbone_path = osp.join(work_dir, 'backbone.pth')
    record_path = osp.join(work_dir, 'fingerprint.json')
    if osp.isfile(backbone_path) and osp.isfile(record_path):
        with open(record_path) as f:
            record = json.load(f)
        if record.get('fingerprint') == fp:
            say(f'pretraining: reusing {backbone_path} (fingerprint {fp} matches)')
            return dict(backbone=backbone_path, reused=True, seconds=0.0,
                        train_seconds=record.get('seconds'), metrics=record['metrics'],
                        fingerprint=fp)
        say(f'pretraining: {backbone_path} has fingerprint {record.get("fingerprint")}, this '
            f'config needs {fp}: pretraining again')
    say(f'pretraining a ResNet-18 on the real pretraining split '
        f'({protocol["pretrain_epochs"]} epochs)...')
    start = time.time()
    with quiet(verbose):
        runner = Runner.from_cfg(cfg)
        runner.train()
        metrics = short_metrics(runner.test())
    seconds = time.time() - start
    # the teacher / initial weights of the downstream models: backbone.* as a plain state dict
    state = {k[len('backbone.'):]: v.detach().clone()
             for k, v in runner.model.state_dict().items() if k.startswith('backbone.')}
    torch.save(state, backbone_path)
    with open(record_path, 'w') as f:
        json.dump(dict(fingerprint=fp, seed=seed, seconds=seconds, metrics=metrics,
                       config=PRETRAIN_CONFIG, protocol=protocol), f, indent=2)
    say(f'pretraining done in {seconds:.0f} s; backbone weights: {backbone_path}')
    return dict(backbone=backbone_path, reused=False, seconds=seconds, train_seconds=seconds,
                metrics=metrics, fingerprint=fp)


def train_and_test(method: str, config: str, seed: int, out_dir: str, protocol: dict,
                   backbone: str, verbose: bool, csg_loss_weight: float = None) -> dict:
    """Step 2 + 3 for one method: train on synthetic digits, test on the real test split."""
    from mmengine.runner import Runner
    cfg = build_cfg(config, seed=seed, work_dir=osp.join(out_dir, method), protocol=protocol,
                    verbose=verbose, pretrained=backbone, csg_loss_weight=csg_loss_weight)
    start = time.time()
    with quiet(verbose):
        runner = Runner.from_cfg(cfg)
        runner.train()
        metrics = short_metrics(runner.test())
    seconds = time.time() - start
    say(f'{method:<9} trained and tested in {seconds:4.0f} s: mean class accuracy '
        f'{metrics["mean_class_acc"]:.2f}%, energy s=0 {metrics["energy_s0"]:.4f}')
    return dict(metrics, seconds=seconds)


# ---------------------------------------------------------------------------------------------
# reports

LABELS = dict([(m[0], m[2]) for m in METHODS] + [REFERENCE])


def table_rows(results: dict):
    rows = [(key, vals) for key, vals in results['methods'].items()]
    rows.append((REFERENCE[0], results['pretrain']['metrics']))
    return rows


def markdown_table(results: dict) -> str:
    lines = ['| method | mean class acc. (%) | overall acc. (%) | energy s=0 | energy s=1 |',
             '|---|---:|---:|---:|---:|']
    for key, m in table_rows(results):
        lines.append(f'| {LABELS[key]} | {m["mean_class_acc"]:.2f} | {m["overall_acc"]:.2f} | '
                     f'{m["energy_s0"]:.4f} | {m["energy_s1"]:.4f} |')
    return '\n'.join(lines)


def text_table(results: dict) -> str:
    width = max(len(LABELS[k]) for k, _ in table_rows(results))
    head = f'{"method":<{width}}  {"mean class acc. %":>17}  {"energy s=0":>10}'
    lines = [head, '-' * len(head)]
    for key, m in table_rows(results):
        lines.append(f'{LABELS[key]:<{width}}  {m["mean_class_acc"]:>17.2f}  '
                     f'{m["energy_s0"]:>10.4f}')
    return '\n'.join(lines)


def plot(path: str, keys, acc, energy, title: str, acc_err=None, energy_err=None) -> None:
    """Bar charts of mean class accuracy and energy per method (matplotlib Agg)."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    names = [LABELS[k].split(' (')[0] if k != REFERENCE[0] else 'Real-pretrained\n(reference)'
             for k in keys]
    colors = ['#9e9e9e' if k == REFERENCE[0] else ('#d62728' if k == 'csg' else '#1f77b4')
              for k in keys]
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    bars = axes[0].bar(names, acc, yerr=acc_err, color=colors, capsize=4)
    axes[0].bar_label(bars, fmt='%.1f', fontsize=8)
    axes[0].set_ylabel('mean class accuracy, real test (%)')
    axes[0].set_ylim(max(0.0, min(acc) - 15), 102)
    bars = axes[1].bar(names, energy, yerr=energy_err, color=colors, capsize=4)
    axes[1].bar_label(bars, fmt='%.3f', fontsize=8)
    axes[1].set_ylabel('energy s=0, real test (lower = more diverse)')
    for ax in axes:
        ax.tick_params(axis='x', labelrotation=20, labelsize=8)
    fig.suptitle(title)
    fig.tight_layout(rect=(0, 0, 1, 0.95))
    fig.savefig(path, dpi=100)
    plt.close(fig)


def same_numbers(a: dict, b: dict) -> bool:
    """Whether two results hold the same metrics (timings aside)."""
    def numbers(r):
        rows = {k: {n: round(v[n], 6) for n in COMPARED if n in v}
                for k, v in r.get('methods', {}).items()}
        rows['pretrained'] = {n: round(r['pretrain']['metrics'][n], 6) for n in COMPARED
                              if n in r.get('pretrain', {}).get('metrics', {})}
        return rows
    try:
        return numbers(a) == numbers(b)
    except (KeyError, TypeError):
        return False


def write_results(out_dir: str, results: dict) -> None:
    """results.{json,md,png}; an existing results.json with other numbers is kept (renamed)."""
    path = osp.join(out_dir, 'results.json')
    if osp.isfile(path):
        with open(path) as f:
            try:
                previous = json.load(f)
            except json.JSONDecodeError:
                previous = {}
        if same_numbers(previous, results):
            say(f'the numbers are identical to the previous {path}: reproduced')
        else:
            stamp = time.strftime('%Y%m%d_%H%M%S', time.localtime(osp.getmtime(path)))
            for ext in ('json', 'md', 'png'):
                old = osp.join(out_dir, f'results.{ext}')
                if osp.isfile(old):
                    shutil.move(old, osp.join(out_dir, f'results.{stamp}.{ext}'))
            say(f'WARNING: {path} held different numbers; kept as results.{stamp}.json')
    with open(path, 'w') as f:
        json.dump(results, f, indent=2)
    md = [f'# CSG digits demo, seed {results["seed"]} ({results["protocol"]} protocol)', '',
          f'Command: `{results["command"]}`', '',
          *([f'Ablation: CSG lambda = {results["csg_loss_weight"]:g}', '']
            if results.get('csg_loss_weight') is not None else []),
          markdown_table(results), '',
          f'Pretraining {"reused" if results["pretrain"]["reused"] else "run"}; '
          f'total {results["seconds"]:.0f} s on {results["threads"]} thread(s).', '']
    with open(osp.join(out_dir, 'results.md'), 'w') as f:
        f.write('\n'.join(md))
    keys = [k for k, _ in table_rows(results)]
    rows = dict(table_rows(results))
    plot(osp.join(out_dir, 'results.png'), keys, [rows[k]['mean_class_acc'] for k in keys],
         [rows[k]['energy_s0'] for k in keys],
         f'Synthetic font digits -> real handwritten digits (seed {results["seed"]})')


def summarize(work_dir: str, all_results: list, quick: bool, command: str,
              tag: str = '') -> str:
    """Mean and standard deviation over seeds (sample std, ddof=1)."""
    import numpy as np
    seeds = [r['seed'] for r in all_results]
    keys = [k for k, _ in table_rows(all_results[0])]
    stats = {}
    for key in keys:
        per_seed = [dict(table_rows(r))[key] for r in all_results]
        stats[key] = {}
        for name in ('mean_class_acc', 'overall_acc', 'energy_s0', 'energy_s1'):
            vals = np.array([m[name] for m in per_seed], dtype=float)
            stats[key][name] = dict(mean=float(vals.mean()),
                                    std=float(vals.std(ddof=1)) if len(vals) > 1 else 0.0,
                                    values=vals.tolist())
    name = 'summary_seeds-' + '-'.join(map(str, seeds)) + ('-quick' if quick else '') + tag
    lines = [f'Seeds {", ".join(map(str, seeds))} ({"quick" if quick else "full"} protocol); '
             f'mean +- sample standard deviation. Command: `{command}`', '',
             '| method | mean class acc. (%) | energy s=0 | per-seed accuracy |',
             '|---|---:|---:|---|']
    for key in keys:
        a, e = stats[key]['mean_class_acc'], stats[key]['energy_s0']
        lines.append(f'| {LABELS[key]} | {a["mean"]:.2f} +- {a["std"]:.2f} | '
                     f'{e["mean"]:.4f} +- {e["std"]:.4f} | '
                     f'{", ".join(f"{v:.2f}" for v in a["values"])} |')
    text = '\n'.join(lines)
    base = osp.join(work_dir, name)
    for path in (base + '.json', base + '.md'):
        if osp.isfile(path):
            say(f'note: replacing the earlier {path} (the per-seed results it was made from '
                'are kept in the seed folders)')
    with open(base + '.json', 'w') as f:
        json.dump(dict(seeds=seeds, command=command, stats=stats), f, indent=2)
    with open(base + '.md', 'w') as f:
        f.write(text + '\n')
    plot(base + '.png', keys, [stats[k]['mean_class_acc']['mean'] for k in keys],
         [stats[k]['energy_s0']['mean'] for k in keys],
         f'Synthetic -> real digits, {len(seeds)} seeds (mean +- std)',
         acc_err=[stats[k]['mean_class_acc']['std'] for k in keys],
         energy_err=[stats[k]['energy_s0']['std'] for k in keys])
    return text


def ablation_tag(args) -> str:
    return '' if args.csg_loss_weight is None else f'-csg-lw{args.csg_loss_weight:g}'


def run_seed(seed: int, args, command: str) -> dict:
    protocol_name = 'quick' if args.quick else 'full'
    protocol = copy.deepcopy(PROTOCOLS[protocol_name])
    seed_dir = osp.abspath(osp.join(args.work_dir, f'seed{seed}' + ('-quick' if args.quick
                                                                     else '')))
    out_dir = seed_dir + ablation_tag(args)
    os.makedirs(out_dir, exist_ok=True)
    say(f'seed {seed}, {protocol_name} protocol {protocol}, output {out_dir}')
    start = time.time()
    pre = pretrain(seed, osp.join(seed_dir, 'pretrain'), protocol, args.verbose)
    methods = {}
    for key, config, _ in METHODS:
        if key in args.methods:
            methods[key] = train_and_test(key, config, seed, out_dir, protocol,
                                          pre['backbone'], args.verbose, args.csg_loss_weight)
    results = dict(seed=seed, protocol=protocol_name, protocol_settings=protocol,
                   csg_loss_weight=args.csg_loss_weight,
                   command=command, threads=args.threads, pretrain=pre, methods=methods,
                   seconds=time.time() - start)
    print()
    print(text_table(results))
    print()
    write_results(out_dir, results)
    say(f'seed {seed} done in {results["seconds"]:.0f} s; results in {out_dir}/results.'
        '{json,md,png}')
    return results


def main(argv=None) -> list:
    args = parse_args(argv)
    import torch
    torch.set_num_threads(max(1, args.threads))
    import csg_mm  # noqa: F401  (registers the CSG components)
    import csg_mm.datasets.digits  # noqa: F401  (registers the digit datasets)
    command = 'python tools/demo.py ' + ' '.join(sys.argv[1:] if argv is None else argv)
    all_results = [run_seed(seed, args, command.strip()) for seed in args.seed]
    if len(all_results) > 1:
        print(summarize(args.work_dir, all_results, args.quick, command.strip(),
                        ablation_tag(args)))
    return all_results


if __name__ == '__main__':
    main()

"""Feature diversity of checkpoints: hyperspherical energy (CSG Table 1) and a Figure-2-style plot.

    python tools/analysis_tools/feature_diversity.py CONFIG CKPT [CKPT ...] [--out-dir DIR]
        [--max-features N] [--grid N] [--seed S] [--cfg-options k=v ...]

For every checkpoint the script builds the config's model (mmseg or mmpretrain, whichever the
config's ``default_scope`` names), loads the checkpoint's weights, runs the model's ``predict``
(``model.test_step``) over the config's TEST dataloader and collects one set of features:

* **Which features.** The last backbone stage (post-ReLU, so non-negative), average-pooled:
  classification (mmpretrain): one global-average-pooled vector per image (P = 1, the paper's
  Table 1 setting); segmentation (mmseg): the map average-pooled over an ``n x n`` grid of patches,
  every patch one point (P = n * n per image, ``n = --grid``, else ``model.test_cfg.
  diversity_grid``, else 8; the paper's Eq. 6 chunking). csg_mm's ``CSGImageClassifier`` /
  ``CSGEncoderDecoder`` attach exactly these features to every result as ``diversity_feat``; for
  other models (a stock ``EncoderDecoder`` baseline config, say) the same pooling is applied to
  the backbone's last output, caught with a forward hook. A map smaller than the grid gives one
  point per pixel. Classification with ``--grid n > 1`` pools the n x n grid the same way.
* **Energies.** All points are L2-normalised and :math:`E_s` (s = 0, 1, 2) is the mean over the
  N (N - 1) ordered pairs (:func:`csg_mm.evaluation.functional.energies`, the same computation as
  :class:`csg_mm.evaluation.HypersphericalEnergyMetric`). ``--max-features`` keeps a random
  subset (``torch.Generator`` seeded with ``--seed``, the metric's subsampling). Lower = more
  diverse.
* **The plot (paper Figure 2 style).** The L2-normalised features are centred and projected onto
  their top-2 principal components (eigenvectors of the covariance, float64); every 2-D point is
  then normalised to unit length, which puts it on the unit circle at an angle ``theta``. The
  density of the angles is a Gaussian kernel density estimate (``scipy.stats.gaussian_kde``,
  Scott's-rule bandwidth, its default) wrapped around the circle (the kernel summed at
  ``theta - 2 pi``, ``theta``, ``theta + 2 pi``, so it integrates to 1 over the circle). Left: the
  circle with the density drawn as a ring whose thickness is proportional to it (and the points as
  ticks); right: the density against the angle, with the uniform density ``1 / (2 pi)`` for
  reference. The title names the checkpoint and gives E_0. Note: the 2-D projection is for
  looking only; the energies are computed on the full-dimensional features.

Outputs (``--out-dir``, default ``work_dirs/feature_diversity``): one PNG per checkpoint
(``<checkpoint name>_diversity.png``) and the table as ``feature_diversity.md`` and
``feature_diversity.csv``. An existing file is never overwritten: the new one gets a numeric
suffix (``_1``, ``_2``, ...) and a note says so. The table is also printed.

A checkpoint is a runner checkpoint (``{'state_dict': ...}``), a model state dict, or a bare
backbone state dict (keys without the ``backbone.`` prefix, e.g. ImageNet weights for the
"ImageNet" row). Its BACKBONE must match the config exactly (every key present, no extra
``backbone.*`` keys, same shapes), otherwise the script stops with an error naming the checkpoint
and the first offending keys; the other parts (decode head, CSG regulariser) only affect the
predictions, not the features, so keys of theirs that are missing or of another shape are
skipped with a note.
"""
import argparse
import csv
import math
import os.path as osp
import sys
import tempfile
from typing import Dict, List, Optional, Sequence, Tuple

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))  # tools/: cli_utils
from cli_utils import CLIError, ensure_writable_dir, fail, load_config  # noqa: E402

PROG = 'feature_diversity.py'
S_VALUES = (0, 1, 2)
MAX_LISTED_KEYS = 5


# ------------------------------------------------------------------------------------------------
# shared with visualize_attention.py (which imports these from this file)


def unique_path(path: str) -> str:
    """``path`` if it does not exist, else the first free ``<stem>_<k><ext>`` (k = 1, 2, ...)."""
    if not osp.exists(path):
        return path
    stem, ext = osp.splitext(path)
    k = 1
    while osp.exists(f'{stem}_{k}{ext}'):
        k += 1
    return f'{stem}_{k}{ext}'


def announce_write(path: str, wanted: str) -> None:
    """Say where a file went, and that an existing file was kept."""
    if path != wanted:
        print(f'note: {wanted} exists and is kept; wrote {path}', file=sys.stderr)


def task_of(cfg) -> str:
    """``'seg'`` (mmseg) or ``'cls'`` (mmpretrain), from the config's default scope."""
    scope = cfg.get('default_scope')
    if scope == 'mmseg':
        return 'seg'
    if scope == 'mmpretrain':
        return 'cls'
    raise CLIError(f'the config\'s default_scope is {scope!r}: this tool supports mmseg and '
                   'mmpretrain configs')


def build_runner(cfg, work_dir: str):
    """The config's runner (``runner_type``, e.g. CSGRunner, or mmengine's Runner), built quietly
    in ``work_dir`` and without loading any checkpoint; its model is in eval mode."""
    from mmengine.registry import RUNNERS, init_default_scope
    from mmengine.runner import Runner

    cfg = cfg.copy()
    cfg.work_dir = work_dir
    cfg.load_from = None
    cfg.resume = False
    cfg.launcher = 'none'
    cfg.log_level = 'WARNING'
    if cfg.get('default_scope'):
        init_default_scope(cfg.default_scope)
    try:
        runner = Runner.from_cfg(cfg) if 'runner_type' not in cfg else RUNNERS.build(cfg)
    except Exception as exc:
        raise CLIError(f'cannot build the model of the config: {type(exc).__name__}: '
                       f'{exc}') from None
    runner.model.eval()
    return runner


def unwrap(model):
    from mmengine.model import is_model_wrapper
    return model.module if is_model_wrapper(model) else model


def _first(keys: Sequence[str]) -> str:
    listed = ', '.join(keys[:MAX_LISTED_KEYS])
    more = f', ... ({len(keys)} in all)' if len(keys) > MAX_LISTED_KEYS else ''
    return listed + more


def read_state_dict(ckpt_path: str) -> Dict:
    """The state dict of a checkpoint file (runner checkpoint or plain), ``module.`` stripped."""
    import torch
    from mmengine.runner.checkpoint import _load_checkpoint

    if '://' not in ckpt_path and not osp.isfile(osp.expanduser(ckpt_path)):
        raise CLIError(f'checkpoint not found: {ckpt_path}')
    try:
        ckpt = _load_checkpoint(ckpt_path, map_location='cpu')
    except Exception as exc:
        raise CLIError(f'cannot load checkpoint {ckpt_path}: {type(exc).__name__}: '
                       f'{exc}') from None
    state = ckpt.get('state_dict', ckpt) if isinstance(ckpt, dict) else None
    if not isinstance(state, dict) or not state or not all(
            isinstance(v, torch.Tensor) for v in state.values()):
        raise CLIError(f'checkpoint {ckpt_path} holds no state dict of tensors (expected '
                       "{'state_dict': {...}} or a plain {name: tensor} dict)")
    return {(k[len('module.'):] if k.startswith('module.') else k): v for k, v in state.items()}


def load_weights(model, ckpt_path: str) -> List[str]:
    """Load ``ckpt_path`` into ``model``; the backbone must match exactly (else
    :class:`CLIError`). Returns notes about skipped non-backbone keys."""
    state = read_state_dict(ckpt_path)
    own = model.state_dict()
    prefix = 'backbone.'
    backbone_keys = [k for k in own if k.startswith(prefix)]
    if not backbone_keys:
        raise CLIError(f'the model {type(model).__name__} has no `backbone`')
    notes = []
    if not any(k.startswith(prefix) for k in state) and any(prefix + k in own for k in state):
        extra = [k for k in state if prefix + k not in own]  # e.g. torchvision's fc.*
        state = {prefix + k: v for k, v in state.items() if prefix + k in own}
        notes.append('a bare backbone state dict: only the backbone was loaded' +
                     (f'; {len(extra)} key(s) that are not the backbone\'s ignored: '
                      f'{_first(extra)}' if extra else ''))
    missing = [k for k in backbone_keys if k not in state]
    unexpected = [k for k in state if k.startswith(prefix) and k not in own]
    mismatched = [
        f'{k} (checkpoint {tuple(state[k].shape)}, model {tuple(own[k].shape)})'
        for k in backbone_keys if k in state and state[k].shape != own[k].shape
    ]
    if missing or unexpected or mismatched:
        parts = []
        if mismatched:
            parts.append(f'{len(mismatched)} key(s) of another shape: {_first(mismatched)}')
        if missing:
            parts.append(f'{len(missing)} key(s) missing: {_first(missing)}')
        if unexpected:
            parts.append(f'{len(unexpected)} unexpected key(s): {_first(unexpected)}')
        raise CLIError(f'checkpoint {ckpt_path} does not match the backbone of the config '
                       f'({type(model.backbone).__name__}): ' + '; '.join(parts) +
                       '. Was it trained with this config (same depth and widths)?')
    loadable = {k: v for k, v in state.items() if k in own and v.shape == own[k].shape}
    skipped_shape = [k for k in state if k in own and state[k].shape != own[k].shape]
    absent = [k for k in own if k not in state and not k.startswith(prefix)]
    if skipped_shape:
        notes.append(f'{len(skipped_shape)} non-backbone key(s) of another shape kept from the '
                     f'config: {_first(skipped_shape)}')
    if absent and not notes:
        notes.append(f'{len(absent)} non-backbone key(s) not in the checkpoint kept from the '
                     f'config (e.g. {_first(absent)})')
    model.load_state_dict(loadable, strict=False)
    return notes


def restore(model, state: Dict) -> None:
    """Put back a copy of the weights the model was built with (before the next checkpoint)."""
    model.load_state_dict(state, strict=True)


# ------------------------------------------------------------------------------------------------
# features and energies


def parse_args(argv=None):
    from mmengine.config import DictAction

    parser = argparse.ArgumentParser(
        prog=PROG,
        description='Hyperspherical energy (CSG Table 1) and a Figure-2-style plot of the '
        'test-set features of one or more checkpoints')
    parser.add_argument('config', help='mmseg or mmpretrain config file')
    parser.add_argument('checkpoints', nargs='+', metavar='CKPT', help='checkpoint file(s)')
    parser.add_argument('--out-dir', default=osp.join('work_dirs', 'feature_diversity'),
                        help='where the PNGs and the table files go')
    parser.add_argument('--max-features', type=int, default=None,
                        help='use a random subset of this many features (default: all)')
    parser.add_argument('--grid', type=int, default=None,
                        help='n of the n x n patch grid of the last stage (default: '
                        'model.test_cfg.diversity_grid or 8 for segmentation, 1 for '
                        'classification)')
    parser.add_argument('--seed', type=int, default=0, help='seed of the --max-features subset')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config settings, xxx=yyy pairs merged into the config')
    args = parser.parse_args(argv)
    if args.max_features is not None and args.max_features < 2:
        parser.error(f'--max-features must be >= 2, got {args.max_features}')
    if args.grid is not None and args.grid < 1:
        parser.error(f'--grid must be >= 1, got {args.grid}')
    return args


def resolve_grid(cfg, task: str, grid: Optional[int]) -> int:
    """The grid n, written into ``model.test_cfg.diversity_grid`` for segmentation."""
    if task == 'seg':
        test_cfg = cfg.model.get('test_cfg') or dict(mode='whole')
        if grid is None:
            grid = test_cfg.get('diversity_grid') or 8
        test_cfg['diversity_grid'] = grid
        cfg.model.test_cfg = test_cfg
        return grid
    return 1 if grid is None else grid


class LastStageHook:
    """Forward hook on the backbone: the last output pooled over an n x n grid, per image."""

    def __init__(self, grid: int) -> None:
        self.grid = grid
        self.feats: List = []

    def __call__(self, module, inputs, outputs) -> None:
        from csg_mm.models.csg.pooling import gap_pool

        last = outputs[-1] if isinstance(outputs, (list, tuple)) else outputs
        last = last.detach()
        grid = min(self.grid, *last.shape[2:])
        self.feats.append(gap_pool(last, grid).reshape(last.shape[0], grid * grid, -1).cpu())

    def pop(self):
        import torch
        feats, self.feats = self.feats, []
        return torch.cat(feats, dim=1) if feats else None


def collect_features(model, dataloader, grid: int, task: str):
    """(N, C) float32 features of the whole test set -- every sample's ``diversity_feat`` rows
    (the backbone hook's pooling when the model attaches none, or for classification with
    grid > 1) -- and the number of images."""
    import torch

    hook = LastStageHook(grid)
    handle = model.backbone.register_forward_hook(hook)
    rows = []
    num_images = 0
    try:
        with torch.no_grad():
            for batch in dataloader:
                results = model.test_step(batch)
                num_images += len(results)
                hooked = hook.pop()
                attached = [r.get('diversity_feat', None) for r in results]
                use_attached = all(a is not None for a in attached) and not (
                    task == 'cls' and grid > 1)
                if use_attached:
                    for feat in attached:
                        feat = torch.as_tensor(feat).detach().float().cpu()
                        rows.append(feat[None] if feat.dim() == 1 else feat)
                else:
                    if hooked is None or hooked.shape[0] != len(results):
                        raise CLIError(
                            'the model attaches no `diversity_feat` to its results and its '
                            'backbone output could not be matched to the images; use csg_mm\'s '
                            'CSGEncoderDecoder / CSGImageClassifier (regularizer=None for a '
                            'baseline)')
                    rows.extend(hooked.float())
    finally:
        handle.remove()
    if not rows:
        raise CLIError('the test dataloader gave no images')
    return torch.cat(rows, dim=0), num_images


def subsample(feats, max_features: Optional[int], seed: int):
    import torch
    if max_features is None or feats.shape[0] <= max_features:
        return feats
    generator = torch.Generator().manual_seed(seed)
    keep = torch.randperm(feats.shape[0], generator=generator)[:max_features]
    return feats[keep.sort().values]


def circle_angles(feats):
    """Angles (radians) of the features on the unit circle: L2-normalise, centre, project onto
    the top-2 principal components, normalise each 2-D point to unit length."""
    import numpy as np

    x = feats.double().numpy()
    x = x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)
    x = x - x.mean(axis=0, keepdims=True)
    cov = x.T @ x / max(len(x) - 1, 1)
    _, vecs = np.linalg.eigh(cov)  # ascending eigenvalues
    pts = x @ vecs[:, ::-1][:, :2]
    if pts.shape[1] < 2:  # 1-channel features
        pts = np.concatenate([pts, np.zeros_like(pts)], axis=1)
    pts = pts / np.maximum(np.linalg.norm(pts, axis=1, keepdims=True), 1e-12)
    return np.arctan2(pts[:, 1], pts[:, 0])


def circular_density(angles, grid):
    """Wrapped Gaussian KDE (Scott's rule) of ``angles`` evaluated at ``grid`` (radians)."""
    import numpy as np
    from scipy.stats import gaussian_kde

    try:
        kde = gaussian_kde(angles)  # bw_method='scott'
        return sum(kde(grid + shift) for shift in (-2 * np.pi, 0.0, 2 * np.pi))
    except (np.linalg.LinAlgError, ValueError):  # all angles (nearly) equal
        hist, edges = np.histogram(angles, bins=72, range=(-np.pi, np.pi), density=True)
        idx = np.clip(np.searchsorted(edges, grid, side='right') - 1, 0, len(hist) - 1)
        return hist[idx]


def plot_circle(feats, title: str, path: str) -> None:
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    import numpy as np

    angles = circle_angles(feats)
    theta = np.linspace(-np.pi, np.pi, 721)
    dens = circular_density(angles, theta)
    uniform = 1 / (2 * np.pi)

    fig, (ax_c, ax_d) = plt.subplots(1, 2, figsize=(10, 4.8),
                                     gridspec_kw=dict(width_ratios=[1, 1.3]))
    scale = 0.6 / max(float(dens.max()), uniform)
    outer = 1 + scale * dens
    ax_c.fill(np.concatenate([np.cos(theta) * outer, np.cos(theta[::-1])]),
              np.concatenate([np.sin(theta) * outer, np.sin(theta[::-1])]),
              color='tab:blue', alpha=0.45, lw=0, label='density')
    ax_c.plot(np.cos(theta) * outer, np.sin(theta) * outer, color='tab:blue', lw=1.2)
    ax_c.plot(np.cos(theta), np.sin(theta), color='black', lw=1.0)
    ax_c.plot(np.cos(theta) * (1 + scale * uniform), np.sin(theta) * (1 + scale * uniform),
              color='gray', lw=0.8, ls='--', label='uniform')
    ax_c.scatter(np.cos(angles) * 0.97, np.sin(angles) * 0.97, s=6, color='tab:red',
                 alpha=min(1.0, max(0.05, 50 / max(len(angles), 1))), lw=0, label='features')
    lim = 1 + scale * float(dens.max()) + 0.1
    ax_c.set_xlim(-lim, lim)
    ax_c.set_ylim(-lim, lim)
    ax_c.set_aspect('equal')
    ax_c.axis('off')
    ax_c.legend(loc='lower left', fontsize=7, frameon=False)

    ax_d.plot(theta, dens, color='tab:blue', label='Gaussian KDE (Scott)')
    ax_d.fill_between(theta, dens, color='tab:blue', alpha=0.3)
    ax_d.axhline(uniform, color='gray', ls='--', lw=0.8, label='uniform 1/(2\u03c0)')
    ax_d.set_xlim(-np.pi, np.pi)
    ax_d.set_ylim(bottom=0)
    ax_d.set_xticks([-np.pi, -np.pi / 2, 0, np.pi / 2, np.pi])
    ax_d.set_xticklabels(['-\u03c0', '-\u03c0/2', '0', '\u03c0/2', '\u03c0'])
    ax_d.set_xlabel('angle on the circle (top-2 principal components)')
    ax_d.set_ylabel('density')
    ax_d.legend(fontsize=8)
    fig.suptitle(title, fontsize=11)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def _fmt(value: float) -> str:
    return f'{value:.4f}' if math.isfinite(value) else str(value)


def format_table(rows: List[Tuple[str, int, Dict[int, float]]]) -> str:
    header = ['checkpoint', 'N features'] + [f'E_{s}' for s in S_VALUES]
    body = [[name, str(n)] + [_fmt(e[s]) for s in S_VALUES] for name, n, e in rows]
    widths = [max(len(r[i]) for r in [header] + body) for i in range(len(header))]
    lines = ['  '.join(c.ljust(w) if i == 0 else c.rjust(w)
                       for i, (c, w) in enumerate(zip(r, widths))) for r in [header] + body]
    lines.insert(1, '  '.join('-' * w for w in widths))
    return '\n'.join(lines)


def write_tables(out_dir: str, rows, config: str, grid: int, task: str,
                 totals: List[int]) -> List[str]:
    written = []
    md_wanted = osp.join(out_dir, 'feature_diversity.md')
    md = unique_path(md_wanted)
    with open(md, 'x') as f:
        f.write('# Feature diversity (hyperspherical energy, lower = more diverse)\n\n')
        pooled = ('global-average-pooled last stage, one point per image' if grid == 1 else
                  f'last stage average-pooled over a {grid} x {grid} grid, one point per patch')
        f.write(f'Config: `{config}`; features: {pooled} ({task}); L2-normalised; energies are '
                'means over ordered pairs.\n\n')
        f.write('| checkpoint | N features | ' + ' | '.join(f'E_{s}' for s in S_VALUES) + ' |\n')
        f.write('|---|---:|' + '---:|' * len(S_VALUES) + '\n')
        for (name, n, e), total in zip(rows, totals):
            n_text = f'{n} of {total}' if total != n else str(n)
            f.write(f'| {name} | {n_text} | ' + ' | '.join(_fmt(e[s]) for s in S_VALUES) +
                    ' |\n')
    announce_write(md, md_wanted)
    written.append(md)
    csv_wanted = osp.join(out_dir, 'feature_diversity.csv')
    csv_path = unique_path(csv_wanted)
    with open(csv_path, 'x', newline='') as f:
        writer = csv.writer(f)
        writer.writerow(['checkpoint', 'n_features', 'n_total'] + [f'E_{s}' for s in S_VALUES])
        for (name, n, e), total in zip(rows, totals):
            writer.writerow([name, n, total] + [repr(e[s]) for s in S_VALUES])
    announce_write(csv_path, csv_wanted)
    written.append(csv_path)
    return written


def _png_name(ckpt: str) -> str:
    stem = osp.splitext(osp.basename(ckpt.rstrip('/')))[0] or 'checkpoint'
    return f'{stem}_diversity.png'


def main(argv=None) -> int:
    args = parse_args(argv)
    if not osp.isfile(args.config):  # before the slow imports
        return _fail(f'config file not found: {args.config}')
    missing = [c for c in args.checkpoints if '://' not in c and not osp.isfile(c)]
    if missing:
        return _fail('checkpoint not found: ' + ', '.join(missing))
    import csg_mm  # noqa: F401  (registers csg_mm's components and safe checkpoint loading)
    from csg_mm.evaluation.functional.hyperspherical_energy import energies
    from csg_mm.utils.checkpoint import UnsafeCheckpointError

    try:
        cfg = load_config(args.config, args.cfg_options)
        task = task_of(cfg)
        grid = resolve_grid(cfg, task, args.grid)
        if cfg.get('test_dataloader') is None:
            raise CLIError(f'the config {args.config} has no test_dataloader')
        out_dir = ensure_writable_dir(args.out_dir, 'output directory')
        with tempfile.TemporaryDirectory(prefix='feature_diversity_') as work_dir:
            runner = build_runner(cfg, work_dir)
            model = unwrap(runner.model)
            pristine = {k: v.clone() for k, v in model.state_dict().items()}
            for ckpt in args.checkpoints:  # check them all before the (slow) evaluation
                load_weights(model, ckpt)
                restore(model, pristine)
            try:
                dataloader = runner.build_dataloader(cfg.test_dataloader)
            except Exception as exc:
                raise CLIError(f'cannot build the test dataloader: {type(exc).__name__}: '
                               f'{exc}') from None
            rows, totals = [], []
            for ckpt in args.checkpoints:
                restore(model, pristine)
                for note in load_weights(model, ckpt):
                    print(f'note: {ckpt}: {note}', file=sys.stderr)
                model.eval()
                feats, num_images = collect_features(model, dataloader, grid, task)
                total = feats.shape[0]
                per_image = total // num_images
                if total < 2:
                    raise CLIError(f'{ckpt}: {total} feature(s); the energy needs at least 2')
                feats = subsample(feats, args.max_features, args.seed)
                values = {s: float(v) for s, v in energies(feats, S_VALUES).items()}
                rows.append((ckpt, feats.shape[0], values))
                totals.append(total)
                wanted = osp.join(out_dir, _png_name(ckpt))
                png = unique_path(wanted)
                points = ('one GAP vector per image' if per_image == 1 else
                          f'{per_image} patches per image')
                title = (f'{osp.basename(ckpt)}   E_0 = {_fmt(values[0])}\n'
                         f'N = {feats.shape[0]} points ({num_images} images, {points})')
                plot_circle(feats, title, png)
                announce_write(png, wanted)
                print(f'wrote {png}', file=sys.stderr)
    except (CLIError, UnsafeCheckpointError) as exc:
        return _fail(str(exc))
    print(format_table(rows))
    if any(t != r[1] for t, r in zip(totals, rows)):
        print(f'(random subsets of {args.max_features} features, seed {args.seed})')
    for path in write_tables(out_dir, rows, args.config, grid, task, totals):
        print(f'wrote {path}', file=sys.stderr)
    return 0


def _fail(message: str) -> int:
    return fail(PROG, message)


if __name__ == '__main__':
    sys.exit(main())

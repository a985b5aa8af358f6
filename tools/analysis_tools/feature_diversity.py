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
import os.path as osp
import sys
import tempfile

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))  # tools/: cli_utils
from cli_utils import CLIError, ensure_writable_dir, fail, load_config  # noqa: E402

PROG = 'feature_diversity.py'


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
    from csg_mm.apis.feature_diversity import (
        S_VALUES,
        collect_features,
        format_energy,
        format_table,
        resolve_grid,
        subsample,
        write_tables,
    )
    from csg_mm.apis.model_loading import (
        ModelLoadingError,
        build_runner,
        load_weights,
        restore,
        task_of,
        unwrap,
    )
    from csg_mm.evaluation.functional.hyperspherical_energy import energies
    from csg_mm.utils.checkpoint import UnsafeCheckpointError
    from csg_mm.utils.paths import announce_write, unique_path
    from csg_mm.visualization.feature_circle import plot_circle

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
                title = (f'{osp.basename(ckpt)}   E_0 = {format_energy(values[0])}\n'
                         f'N = {feats.shape[0]} points ({num_images} images, {points})')
                plot_circle(feats, title, png)
                announce_write(png, wanted)
                print(f'wrote {png}', file=sys.stderr)
    except (CLIError, ModelLoadingError, UnsafeCheckpointError) as exc:
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

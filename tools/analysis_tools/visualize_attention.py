"""CSG's A-pool attention on images (paper Figure 4b style).

    python tools/analysis_tools/visualize_attention.py CONFIG CKPT IMAGE [IMAGE ...]
        [--out-dir DIR] [--alpha 0.5] [--cfg-options k=v ...]

For a model trained with CSG (a ``CSGRegularizer`` whose pooling is A-pool), every image is
prepared with the config's TEST pipeline (annotation loading dropped; images that the pipeline
cannot take are loaded as they are) and the model's ``data_preprocessor`` (channel order,
normalisation), the student backbone is run once, and for every CSG stage ``l`` in ``G``
(``model.regularizer.stages``) the A-pool attention of the stage's feature map is computed with
``model.regularizer.pool.attention_map`` -- the weights ``a_ij = <v_ij, vbar> / sum <v, vbar>``
that CSG pools the query embedding with (per patch of the ``n x n`` grid for segmentation).
Shown is the ratio of every weight over the uniform weight of its patch (1 = an average
position, 2 = twice the weight GAP would give it), bilinearly upsampled to the network input and
overlaid on the image (jet colormap, ``--alpha``, colorbar); patch borders are drawn for n > 1.

Output: one PNG per image and stage, ``<image name>_stage<l>.png`` in ``--out-dir`` (default
``work_dirs/attention``); an existing file is never overwritten (the new one gets a suffix
``_1``, ``_2``, ... and a note says so). Checkpoints are loaded and checked as by
``feature_diversity.py`` (:func:`csg_mm.apis.model_loading.load_weights`: the backbone must match
the config).
"""
import argparse
import functools
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))  # tools/: cli_utils
from cli_utils import CLIError, ensure_writable_dir, fail, load_config  # noqa: E402

PROG = 'visualize_attention.py'


def parse_args(argv=None):
    from mmengine.config import DictAction

    parser = argparse.ArgumentParser(
        prog=PROG, description='Overlay CSG\'s A-pool attention (per CSG stage) on images')
    parser.add_argument('config', help='config of a CSG model (mmseg or mmpretrain)')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('images', nargs='+', metavar='IMAGE', help='image file(s)')
    parser.add_argument('--out-dir', default=osp.join('work_dirs', 'attention'),
                        help='where the PNGs go')
    parser.add_argument('--alpha', type=float, default=0.5,
                        help='opacity of the attention overlay, in [0, 1]')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config settings, xxx=yyy pairs merged into the config')
    args = parser.parse_args(argv)
    if not 0.0 <= args.alpha <= 1.0:
        parser.error(f'--alpha must be in [0, 1], got {args.alpha}')
    return args


def check_csg_apool(model):
    """The model's CSGRegularizer, which must pool with A-pool."""
    from csg_mm.models.csg import CSGRegularizer

    reg = getattr(model, 'regularizer', None)
    if not isinstance(reg, CSGRegularizer):
        what = 'no regulariser' if reg is None else f'a {type(reg).__name__}'
        raise CLIError(
            f'the model ({type(model).__name__}) has {what}, not a CSGRegularizer: there is no '
            'A-pool attention to show. Use the config of a CSG model (e.g. configs/csg/'
            'deeplabv2_r50_gta5.py or configs/csg/resnet101_csg_4xb8-30e_visda17.py).')
    if not reg.pool.needs_attention:
        raise CLIError(f'the model\'s CSG pooling is {reg.pool.pool_type!r}, not A-pool '
                       "('apool'): it uses no attention")
    return reg


def _test_pipeline(cfg):
    """The test pipeline without annotation loading (None when the config has none)."""
    from mmengine.dataset import Compose

    loader = cfg.get('test_dataloader') or {}
    dataset = loader.get('dataset') or {}
    while 'pipeline' not in dataset and isinstance(dataset.get('dataset'), dict):
        dataset = dataset['dataset']
    pipeline = dataset.get('pipeline')
    if not pipeline:
        return None
    steps = [t for t in pipeline if 'LoadAnnotations' not in str(t.get('type', ''))]
    return Compose(steps)


def _collate_fn(cfg):
    """The test dataloader's collate function (mmengine's default: ``pseudo_collate``)."""
    from mmengine.registry import FUNCTIONS

    collate_cfg = dict((cfg.get('test_dataloader') or {}).get('collate_fn') or {})
    name = collate_cfg.pop('type', 'pseudo_collate')
    fn = FUNCTIONS.get(name) if isinstance(name, str) else name
    if fn is None:
        from mmengine.dataset import pseudo_collate
        return pseudo_collate
    return functools.partial(fn, **collate_cfg) if collate_cfg else fn


def prepare(path, pipeline, collate, model):
    """``(inputs (1, 3, H, W) for the backbone, RGB uint8 image (h, w, 3) as fed)``."""
    import mmcv
    import numpy as np
    import torch

    packed = None
    if pipeline is not None:
        try:
            packed = pipeline(dict(img_path=path))
        except Exception as exc:
            print(f'note: the test pipeline failed on {path} ({type(exc).__name__}: {exc}); '
                  'using the image as it is', file=sys.stderr)
    if packed is None:
        try:
            img = mmcv.imread(path)  # BGR, as LoadImageFromFile gives
        except Exception as exc:
            raise CLIError(f'cannot read image {path}: {exc}') from None
        if img is None:
            raise CLIError(f'cannot read image {path}')
        packed = dict(inputs=torch.from_numpy(np.ascontiguousarray(img.transpose(2, 0, 1))))
    img_tensor = packed['inputs']
    if isinstance(img_tensor, (list, tuple)):  # several views: the first
        img_tensor = img_tensor[0]
        packed = dict(packed, inputs=img_tensor)
    data = model.data_preprocessor(collate([packed]), False)
    inputs = data['inputs']
    if isinstance(inputs, (list, tuple)):
        inputs = inputs[0]
    if inputs.dim() == 3:
        inputs = inputs[None]
    shown = img_tensor.detach().cpu().numpy().transpose(1, 2, 0)[..., ::-1]  # BGR -> RGB
    if shown.dtype != np.uint8:
        lo, hi = float(shown.min()), float(shown.max())
        shown = ((shown - lo) / max(hi - lo, 1e-12) * 255).astype(np.uint8)
    return inputs, np.ascontiguousarray(shown)


def plot_attention(image, ratio, grid: int, title: str, alpha: float, path: str) -> None:
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    h, w = image.shape[:2]
    fig, ax = plt.subplots(figsize=(6.4, 6.4 * h / w + 0.8) if w >= h else (6.4 * w / h + 1.5,
                                                                             6.4))
    ax.imshow(image)
    overlay = ax.imshow(ratio, cmap='jet', alpha=alpha, vmin=0.0, vmax=max(float(ratio.max()),
                                                                           1.0))
    if grid > 1:
        for k in range(1, grid):
            ax.axhline(k * h // grid - 0.5, color='white', lw=0.6)
            ax.axvline(k * w // grid - 0.5, color='white', lw=0.6)
    ax.set_axis_off()
    ax.set_title(title, fontsize=9)
    bar = fig.colorbar(overlay, ax=ax, fraction=0.046, pad=0.04)
    bar.solids.set_alpha(1.0)
    bar.set_label('A-pool weight / uniform weight (1 = average)')
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def main(argv=None) -> int:
    args = parse_args(argv)
    if not osp.isfile(args.config):  # before the slow imports
        return _fail(f'config file not found: {args.config}')
    if '://' not in args.checkpoint and not osp.isfile(args.checkpoint):
        return _fail(f'checkpoint not found: {args.checkpoint}')
    missing = [p for p in args.images if not osp.isfile(p)]
    if missing:
        return _fail('image(s) not found: ' + ', '.join(missing))
    import tempfile

    import torch
    import torch.nn.functional as F

    import csg_mm  # noqa: F401  (registers csg_mm's components and safe checkpoint loading)
    from csg_mm.apis.model_loading import (
        ModelLoadingError,
        build_runner,
        load_weights,
        task_of,
        unwrap,
    )
    from csg_mm.utils.checkpoint import UnsafeCheckpointError
    from csg_mm.utils.paths import announce_write, unique_path

    try:
        cfg = load_config(args.config, args.cfg_options)
        task_of(cfg)
        out_dir = ensure_writable_dir(args.out_dir, 'output directory')
        with tempfile.TemporaryDirectory(prefix='visualize_attention_') as work_dir:
            model = unwrap(build_runner(cfg, work_dir).model)
            reg = check_csg_apool(model)
            for note in load_weights(model, args.checkpoint):
                print(f'note: {args.checkpoint}: {note}', file=sys.stderr)
            model.eval()
            pipeline = _test_pipeline(cfg)
            collate = _collate_fn(cfg)
            for path in args.images:
                inputs, image = prepare(path, pipeline, collate, model)
                with torch.no_grad():
                    stage_feats = reg.select(model.backbone(inputs))
                stem = osp.splitext(osp.basename(path))[0]
                for stage, feats in zip(reg.stages, stage_feats):
                    try:
                        _, ratio = reg.pool.attention_map(feats.float())
                    except ValueError as exc:  # e.g. a map smaller than the patch grid
                        raise CLIError(f'{path}, stage {stage}: {exc}') from None
                    up = F.interpolate(ratio[:1, None], size=inputs.shape[-2:], mode='bilinear',
                                       align_corners=False)[0, 0]
                    up = up[:image.shape[0], :image.shape[1]].cpu().numpy()  # drop padding
                    grid = min(reg.pool.grid, *feats.shape[2:])
                    title = (f'{osp.basename(path)}: A-pool attention, stage {stage} '
                             f'({feats.shape[2]}x{feats.shape[3]} map'
                             + (f', {grid}x{grid} patches)' if grid > 1 else ')')
                             + f'\n{osp.basename(args.checkpoint)}')
                    wanted = osp.join(out_dir, f'{stem}_stage{stage}.png')
                    png = unique_path(wanted)
                    plot_attention(image, up, grid, title, args.alpha, png)
                    announce_write(png, wanted)
                    print(f'wrote {png}')
    except (CLIError, ModelLoadingError, UnsafeCheckpointError) as exc:
        return _fail(str(exc))
    return 0


def _fail(message: str) -> int:
    return fail(PROG, message)


if __name__ == '__main__':
    sys.exit(main())

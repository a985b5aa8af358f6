"""Inputs for the training run of ``tools/gpu_check.sh`` (no downloads): GTA5-format frames whose
labels can be learnt, a Cityscapes-format val set, and stand-in "ImageNet" weights for the
config's backbone, which the frozen teacher takes too (its ``init_cfg`` defaults to the
student's)::

    python -m tests.test_gpu.train_inputs CONFIG ROOT [--frames 8] [--size 1914 1052]
        [--val-frames 2] [--val-size 2048 1024] [--block 64] [--options-out FILE]

writes ``ROOT/gta5`` (labels NOT yet converted: run ``tools/dataset_converters/gta5.py``),
``ROOT/cityscapes`` and ``ROOT/imagenet_backbone.pth``, and writes the ``--cfg-options`` that
point CONFIG at them, one per line, to FILE (default: standard output).

The frames come from :func:`tests.utils.fake_data.make_gta5` (GTA5's layout: palette PNGs whose
indices are Cityscapes label ids), then made learnable, so that a short run shows the task loss
fall: labels are constant over ``block x block`` squares (a per-pixel random label cannot be
predicted at output stride 8) with street-scene-like skewed class frequencies (``p ~ 1 / rank``),
and each image pixel is a fixed colour per label id plus noise.
"""
import argparse
import glob
import os.path as osp

import numpy as np
from PIL import Image

from tests.utils.fake_data import MAPPED_IDS, UNMAPPED_IDS, make_cityscapes, make_gta5


def make_learnable(gta5_root: str, block: int = 64, seed: int = 0) -> None:
    """Rewrite the frames of a :func:`make_gta5` folder as described in the module docstring
    (sizes, file names and label palettes are kept)."""
    rng = np.random.default_rng(seed)
    ids = np.array(MAPPED_IDS + UNMAPPED_IDS[:3])
    probs = 1.0 / np.arange(1, len(ids) + 1)
    probs /= probs.sum()
    colours = rng.integers(0, 256, size=(256, 3))
    for label_path in sorted(glob.glob(osp.join(gta5_root, 'labels', '*.png'))):
        label = Image.open(label_path)
        w, h = label.size
        blocks = rng.choice(ids, size=(-(-h // block), -(-w // block)), p=probs)
        grid = np.repeat(np.repeat(blocks, block, 0), block, 1)[:h, :w].astype(np.uint8)
        out = Image.frombytes('P', (w, h), grid.tobytes())
        out.putpalette(label.getpalette())
        out.save(label_path)
        noise = rng.integers(-24, 25, size=(h, w, 3))
        img = np.clip(colours[grid] + noise, 0, 255).astype(np.uint8)
        Image.fromarray(img).save(osp.join(gta5_root, 'images', osp.basename(label_path)))


def save_backbone_weights(config: str, path: str, images: str, num: int = 8,
                          size: int = 256, residual_scale: float = 0.25, seed: int = 0) -> str:
    """Stand-in "ImageNet" weights for CONFIG's backbone: PyTorch's default initialisation,
    the last BN of every residual branch (and of every shortcut projection) scaling by
    ``residual_scale`` (as zero-init-residual schemes do, but not zero: the frozen BNs of CSG's
    configs would keep such branches dead), and all BatchNorm statistics measured on ``num``
    random ``size`` crops of the frames in ``images``, so that the frozen BNs (eval mode)
    normalise as trained ones do. With made-up statistics the deep stack collapses every input
    to nearly one feature (every queued CSG key a near copy of the positive); with measured
    statistics but unscaled branches the stage-4 features are large enough (std about 1.3 at
    R101's stage 4) that the config's first SGD steps blow the segmentation loss up to the
    hundreds (measured on 128 x 128 crops)."""
    import torch
    from mmengine.config import Config
    from mmseg.registry import MODELS
    from torch.nn.modules.batchnorm import _BatchNorm

    cfg = Config.fromfile(config)
    backbone_cfg = dict(cfg.model.backbone)
    backbone_cfg.pop('init_cfg', None)
    backbone_cfg.pop('pretrained', None)
    torch.manual_seed(seed)
    backbone = MODELS.build(backbone_cfg)
    rng = np.random.default_rng(seed)
    files = sorted(glob.glob(osp.join(images, '*.png')))
    mean = np.array(cfg.model.data_preprocessor.mean, dtype=np.float32)
    std = np.array(cfg.model.data_preprocessor.std, dtype=np.float32)
    crops = []
    for i in range(num):
        img = np.asarray(Image.open(files[i % len(files)]).convert('RGB'), dtype=np.float32)
        y = rng.integers(0, max(img.shape[0] - size, 0) + 1)
        x = rng.integers(0, max(img.shape[1] - size, 0) + 1)
        crops.append((img[y:y + size, x:x + size] - mean) / std)
    batch = torch.from_numpy(np.stack(crops)).permute(0, 3, 1, 2).contiguous()
    with torch.no_grad():
        for block in backbone.modules():
            if hasattr(block, 'downsample'):  # a residual block: scale its branch outputs
                last = block.norm3 if hasattr(block, 'norm3_name') else block.norm2
                last.weight.fill_(residual_scale)
                if block.downsample is not None:
                    block.downsample[-1].weight.fill_(residual_scale)
    backbone.eval()
    for m in backbone.modules():
        if isinstance(m, _BatchNorm):
            m.reset_running_stats()
            m.momentum = None  # cumulative average over the calibration batch
            m.train()
    with torch.no_grad():
        backbone(batch)
    torch.save(backbone.state_dict(), path)
    return path


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('config')
    parser.add_argument('root')
    parser.add_argument('--frames', type=int, default=8)
    parser.add_argument('--size', type=int, nargs=2, default=(1914, 1052), metavar=('W', 'H'),
                        help='GTA5 frame size (default: GTA5\'s 1914 x 1052)')
    parser.add_argument('--val-frames', type=int, default=2)
    parser.add_argument('--val-size', type=int, nargs=2, default=(2048, 1024),
                        metavar=('W', 'H'), help='Cityscapes frame size (default 2048 x 1024)')
    parser.add_argument('--block', type=int, default=64, help='label square side (pixels)')
    parser.add_argument('--options-out', help='file for the --cfg-options (default: stdout)')
    args = parser.parse_args(argv)
    gta5 = make_gta5(osp.join(args.root, 'gta5'), num=args.frames, size=tuple(args.size),
                     mismatch=False, orphans=False)
    make_learnable(gta5, args.block)
    city = make_cityscapes(osp.join(args.root, 'cityscapes'), num=args.val_frames,
                           size=tuple(args.val_size))
    ckpt = save_backbone_weights(args.config, osp.join(args.root, 'imagenet_backbone.pth'),
                                 osp.join(gta5, 'images'), size=min(256, *args.size))
    options = '\n'.join([
        f'train_dataloader.dataset.data_root={gta5}',
        f'val_dataloader.dataset.data_root={city}',
        f'test_dataloader.dataset.data_root={city}',
        f'model.backbone.init_cfg.checkpoint={ckpt}',
    ]) + '\n'
    if args.options_out:
        with open(args.options_out, 'w') as f:
            f.write(options)
    else:
        print(options, end='')
    return 0


if __name__ == '__main__':
    raise SystemExit(main())

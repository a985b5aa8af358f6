"""Strip the CSG-only weights from a checkpoint for deployment.

    python tools/model_converters/strip_csg.py IN.pth OUT.pth [--keep-meta]

Keeps the weights a plain (non-CSG) model of the same config needs: drops ``regularizer.*``
(frozen teacher, projection heads and their EMA copies, queues), the optimizer, the parameter
schedulers and the message hub. The result loads into the plain config of the model with no
unexpected keys. OUT must not exist (nothing is overwritten).
"""
import argparse
import os.path as osp
import sys

import torch


def strip(checkpoint: dict, keep_meta: bool = False) -> dict:
    """Return the deployable part of a runner checkpoint (or of a bare state dict)."""
    state = checkpoint.get('state_dict', checkpoint)
    kept = {k: v for k, v in state.items() if not k.startswith('regularizer.')}
    out = dict(state_dict=kept)
    if keep_meta and 'meta' in checkpoint:
        meta = dict(checkpoint['meta'])
        meta.pop('message_hub', None)
        out['meta'] = meta
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('src', help='checkpoint written by a CSG training run')
    parser.add_argument('dst', help='output file (must not exist)')
    parser.add_argument('--keep-meta', action='store_true',
                        help='keep the checkpoint meta (dataset_meta, ...) without the message hub')
    args = parser.parse_args(argv)
    if not osp.isfile(args.src):
        print(f'strip_csg.py: error: checkpoint not found: {args.src}', file=sys.stderr)
        return 2
    if osp.exists(args.dst):
        print(f'strip_csg.py: error: {args.dst} exists; choose another output path '
              '(nothing is overwritten)', file=sys.stderr)
        return 2
    from mmengine.runner.checkpoint import _load_checkpoint

    import csg_mm  # noqa: F401  (safe loading of runner checkpoints)
    ckpt = _load_checkpoint(args.src, map_location='cpu')
    out = strip(ckpt, args.keep_meta)
    dropped = len(ckpt.get('state_dict', ckpt)) - len(out['state_dict'])
    torch.save(out, args.dst)
    print(f'wrote {args.dst}: kept {len(out["state_dict"])} tensors, dropped {dropped} CSG-only '
          'tensors and the training state')
    return 0


if __name__ == '__main__':
    sys.exit(main())

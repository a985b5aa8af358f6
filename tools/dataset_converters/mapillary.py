"""Convert Mapillary Vistas v1.2 labels to the 19 Cityscapes train ids::

    python tools/dataset_converters/mapillary.py DATA_ROOT [--splits validation training]
        [--convention robustnet|openseg] [--short-side 1024] [--nproc 8]

The table is looked up by the label NAMES of the data set's own ``config.json`` (docs/datasets.md
lists it label by label). Writes ``{split}/labels_trainIds/*.png`` (sources never modified) and
the table applied as ``{split}/labels_trainIds.json``; a non-default ``--convention`` adds
``_CONVENTION`` to the folder name. ``--short-side N`` also writes the images and labels
downscaled to a shorter side of N pixels (images bicubic, labels nearest neighbour) to
``{split}/images_sN`` and ``{split}/labels_trainIds_sN``. Idempotent; image/label size mismatches
are resized with nearest neighbour (``--on-mismatch resize``, default) or excluded (``skip``);
labels that already hold train ids are refused, never mapped twice. A run whose table differs
from the one recorded in the ``.json`` (another ``--config``, a changed table) is refused before
any work, naming the record and the differences: remove the folder and its record first. Logic:
``csg_mm/datasets/converters/mapillary.py``.
Exit status: 0 done, 1 some labels failed or were refused, 2 bad input or a record of another
table.
"""
import argparse
import os.path as osp
import sys
from typing import Optional, Sequence

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))  # tools/: cli_utils
from cli_utils import add_conversion_arguments  # noqa: E402


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Convert Mapillary Vistas v1.2 labels to the 19 Cityscapes train ids')
    parser.add_argument('data_root', help='Mapillary folder holding config.json and validation/')
    parser.add_argument('--splits', nargs='+', choices=['training', 'validation'],
                        default=['validation'], help='splits to convert (default: validation)')
    parser.add_argument('--convention', default='robustnet',
                        help='which public 19-class table: robustnet (default) or openseg '
                        '(docs/datasets.md)')
    parser.add_argument('--short-side', type=int, default=None,
                        help='also write images and labels downscaled to this shorter side')
    parser.add_argument('--config', default=None,
                        help='label definitions (default: DATA_ROOT/config.json or '
                        'config_v1.2.json)')
    add_conversion_arguments(parser)
    return parser.parse_args(argv)


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = parse_args(argv)  # before the slow imports (torch, mmseg via csg_mm)
    from csg_mm.datasets.converters.common import run_cli
    from csg_mm.datasets.converters.mapillary import convert, summary_text
    return run_cli(convert, summary_text, data_root=args.data_root, splits=args.splits,
                   nproc=args.nproc, on_mismatch=args.on_mismatch, convention=args.convention,
                   short_side=args.short_side, config=args.config)


if __name__ == '__main__':
    sys.exit(main())

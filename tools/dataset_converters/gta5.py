"""Convert GTA5 labels (Cityscapes label ids) to the 19 Cityscapes train ids::

    python tools/dataset_converters/gta5.py DATA_ROOT [--nproc 8] [--split-dir DIR]

Writes ``labels/XXXXX_labelTrainIds.png`` next to the sources (never modified) and ``all.txt``
(usable frame ids) to ``--out-dir`` (default DATA_ROOT); with ``--split-dir DIR`` holding id
lists (e.g. the public split's ``train.txt``, ``val.txt``, ``test.txt``; ids like ``1``,
``00001`` or ``00001.png``) each list is written there too, keeping only usable frames.
A list is never overwritten unless this converter wrote it (hashes in ``gta5_lists.json``;
an identical one is left): your own ``train.txt`` in the output folder (e.g. ``--split-dir
DATA_ROOT``) is refused, naming it; pass another ``--out-dir``. The table applied is recorded in
``labels_labelTrainIds.json``; a run with another table is refused. Idempotent; size
mismatches (GTA5 frames 15188, 17705, ...) are resized with nearest neighbour
(``--on-mismatch resize``, default) or excluded (``skip``); labels that already hold train ids
are refused, never mapped twice. Logic: ``csg_mm/datasets/converters/gta5.py``.
Exit status: 0 done, 1 some labels failed or were refused, 2 bad input, a list it would
overwrite or a record of another table.
"""
import argparse
import os.path as osp
import sys
from typing import Optional, Sequence

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))  # tools/: cli_utils
from cli_utils import add_conversion_arguments  # noqa: E402


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Convert GTA5 labels (Cityscapes label ids) to Cityscapes train ids')
    parser.add_argument('data_root', help='GTA5 folder holding images/ and labels/')
    add_conversion_arguments(parser)
    parser.add_argument(
        '--split-dir',
        default=None,
        help='folder of id lists (*.txt, e.g. train.txt/val.txt/test.txt of the public split) '
        'to filter to the usable frames and write to --out-dir')
    parser.add_argument(
        '-o', '--out-dir', default=None, help='where to write the id lists (default DATA_ROOT)')
    return parser.parse_args(argv)


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = parse_args(argv)  # before the slow imports (torch, mmseg via csg_mm)
    from csg_mm.datasets.converters.common import run_cli
    from csg_mm.datasets.converters.gta5 import convert, summary_text
    return run_cli(convert, summary_text, data_root=args.data_root, nproc=args.nproc,
                   on_mismatch=args.on_mismatch, split_dir=args.split_dir, out_dir=args.out_dir)


if __name__ == '__main__':
    sys.exit(main())

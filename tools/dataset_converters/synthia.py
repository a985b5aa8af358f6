"""Convert SYNTHIA-RAND-CITYSCAPES labels to the 19 Cityscapes train ids::

    python tools/dataset_converters/synthia.py DATA_ROOT [--nproc 8]

Reads ``GT/LABELS/XXXXXXX.png`` (16-bit; class id in the channel OpenCV's IMREAD_UNCHANGED returns
last) and writes ``GT/LABELS/XXXXXXX_labelTrainIds.png`` next to it (sources never modified;
table: docs/datasets.md). Idempotent; size mismatches are resized with nearest neighbour
(``--on-mismatch resize``, default) or excluded (``skip``); labels that already hold train ids are
refused, never mapped twice. The table applied is recorded in ``GT/LABELS_labelTrainIds.json``; a
run with another table is refused. Logic: ``csg_mm/datasets/converters/synthia.py``.
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
        description='Convert SYNTHIA-RAND-CITYSCAPES labels to Cityscapes train ids')
    parser.add_argument('data_root', help='SYNTHIA folder holding RGB/ and GT/LABELS/')
    add_conversion_arguments(parser)
    return parser.parse_args(argv)


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = parse_args(argv)  # before the slow imports (torch, mmseg via csg_mm)
    from csg_mm.datasets.converters.common import format_summary, run_cli
    from csg_mm.datasets.converters.synthia import convert
    return run_cli(convert, lambda s: format_summary(s, 'SYNTHIA label conversion summary'),
                   data_root=args.data_root, nproc=args.nproc, on_mismatch=args.on_mismatch)


if __name__ == '__main__':
    sys.exit(main())

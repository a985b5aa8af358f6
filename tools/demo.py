"""A real syn-to-real experiment on a CPU in minutes: CSG on digits (docs/demo.md).

    python tools/demo.py [--seed N [N ...]] [--work-dir work_dirs/demo] [--quick] [--verbose]

Pretrains a teacher on the COARSE labels of real handwritten digits, trains the baseline, the
oracle, feature l2 and CSG on synthetic font digits for every seed (default: 5 seeds), tests them
on real digits and prints per method the mean accuracy and energy with 95 % t intervals, the
paired differences to the baseline and which of them are resolved. The protocol, statistics and
plots live in :mod:`csg_mm.apis.demo`; this script parses the command line and calls it.
"""
import argparse
import os.path as osp
import sys

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

PROG = 'demo.py'
METHOD_KEYS = ('baseline', 'oracle', 'feat-l2', 'csg')  # csg_mm.apis.demo.METHODS


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        prog=PROG, description='CSG syn-to-real demo on digits (CPU, minutes)')
    parser.add_argument('--seed', type=int, nargs='+', default=None,
                        help='experiment seeds (default: 0 1 2 3 4, quick: 0 1); two or more '
                        'give intervals and paired differences')
    parser.add_argument('--work-dir', default=osp.join('work_dirs', 'demo'),
                        help='output folder')
    parser.add_argument('--quick', action='store_true',
                        help='shortened protocol (for tests; the numbers mean nothing)')
    parser.add_argument('--methods', nargs='+', choices=METHOD_KEYS, default=None,
                        help='methods to train (default: all; the baseline is the reference '
                        'of the paired differences)')
    parser.add_argument('--threads', type=int, default=None,
                        help='torch CPU threads (default: 1; docs/demo.md, "Run time")')
    parser.add_argument('--csg-loss-weight', type=float, default=None,
                        help='variant: CSG lambda instead of the config\'s; results go to '
                        'seed<N>-csg-lw<W> (the teacher is shared)')
    parser.add_argument('--verbose', action='store_true',
                        help='show the runners\' logs (always written to the work dirs)')
    args = parser.parse_args(argv)
    if args.seed is not None and len(set(args.seed)) != len(args.seed):
        parser.error(f'each seed must appear once, got {args.seed}')
    if args.threads is not None and args.threads < 1:
        parser.error(f'--threads must be >= 1, got {args.threads}')
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    from csg_mm.apis.demo import run_demo
    command = 'python tools/demo.py ' + ' '.join(sys.argv[1:] if argv is None else argv)
    run_demo(seeds=args.seed, work_dir=args.work_dir, quick=args.quick, methods=args.methods,
             threads=args.threads, csg_loss_weight=args.csg_loss_weight, verbose=args.verbose,
             command=command.strip())
    return 0


if __name__ == '__main__':
    sys.exit(main())

"""Time from process start to the first trained iteration after resuming at iteration N, for
mmengine's IterBasedTrainLoop (replays N batches) and csg_mm's ResumableIterBasedTrainLoop
(starts the sampler at N), on a CSG GTA5 config that decodes generated 1914 x 1052 PNG frames
(tiny model; see csg_mm/utils/resume_benchmark.py).

    python tools/analysis_tools/benchmark_resume.py [--work-dir DIR] [--iters 0 1000 10000]
        [--loops stock resumable] [--batch-size 2] [--num-workers 2] [--repeats R] [--timeout S]
        [--config configs/csg/deeplabv2_r50_gta5.py]
"""
import argparse
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))
from cli_utils import CLIError, ensure_writable_dir, fail  # noqa: E402

PROG = 'benchmark_resume.py'
REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def parse_args(argv=None):
    parser = argparse.ArgumentParser(prog=PROG, description=__doc__.split('\n\n')[0])
    parser.add_argument('--work-dir', default='work_dirs/benchmark_resume',
                        help='folder for the generated frames, checkpoints and logs')
    parser.add_argument('--config', default=osp.join(REPO, 'configs/csg/deeplabv2_r50_gta5.py'),
                        help='CSG GTA5 config whose pipeline is used (the model is shrunk)')
    parser.add_argument('--iters', type=int, nargs='+', default=[0, 1000, 10000],
                        help='iterations to resume at')
    parser.add_argument('--loops', nargs='+', default=['stock', 'resumable'],
                        choices=['stock', 'resumable'])
    parser.add_argument('--frames', type=int, default=4, help='generated frames')
    parser.add_argument('--batch-size', type=int, default=2)
    parser.add_argument('--num-workers', type=int, default=2)
    parser.add_argument('--repeats', type=int, default=1,
                        help='interleaved rounds of all measurements (the table gives medians)')
    parser.add_argument('--timeout', type=float, default=7200,
                        help='seconds allowed per measurement (longer: reported as inf)')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    if (any(n < 0 for n in args.iters) or min(args.frames, args.batch_size, args.repeats) < 1):
        return fail(PROG, '--iters must be >= 0, --frames, --batch-size and --repeats >= 1')
    if not osp.isfile(args.config):
        return fail(PROG, f'config file not found: {args.config}')
    try:
        ensure_writable_dir(args.work_dir)
    except CLIError as exc:
        return fail(PROG, str(exc))
    from csg_mm.utils.resume_benchmark import benchmark_resume, format_table
    rows = benchmark_resume(args.work_dir, args.config, args.iters, args.loops, args.frames,
                            args.batch_size, args.num_workers, args.timeout, args.repeats)
    print(format_table(rows))
    return 0


if __name__ == '__main__':
    sys.exit(main())

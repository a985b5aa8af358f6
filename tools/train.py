"""Train a model with an mmseg or mmpretrain config (``default_scope`` picks the task).

    python tools/train.py CONFIG [--work-dir DIR] [--resume [CKPT]] [--amp]
                          [--cfg-options k=v ...] [--launcher {none,pytorch,slurm,mpi}]

Multi-process: ``tools/dist_train.sh CONFIG GPUS`` (torchrun; also on CPU-only machines, with
gloo) or ``tools/slurm_train.sh``.
"""
import argparse
import logging
import os
import os.path as osp
import sys

from cli_utils import (
    CLIError,
    destroy_process_group,
    ensure_writable_dir,
    fail,
    load_config,
    wait_for_all_ranks,
)
from mmengine.config import DictAction

PROG = 'train.py'


def parse_args(argv=None):
    """Parse the command line (the same options as mmseg's / mmpretrain's tools/train.py)."""
    parser = argparse.ArgumentParser(prog=PROG, description='Train a model (csg_mm)')
    parser.add_argument('config', nargs='?', help='train config file path')
    parser.add_argument('--work-dir', help='the dir to save logs and models')
    parser.add_argument(
        '--resume',
        nargs='?',
        type=str,
        const='auto',
        help='resume from CKPT if given, else from the latest checkpoint in the work dir (none '
        'there: a NEW run starts, with a warning in the log)')
    parser.add_argument(
        '--amp', action='store_true', help='enable automatic-mixed-precision training')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override config settings, xxx=yyy pairs merged into the config')
    parser.add_argument(
        '--launcher',
        choices=['none', 'pytorch', 'slurm', 'mpi'],
        default='none',
        help='job launcher')
    # torch.distributed.launch passes --local-rank (torch >= 2.0) or --local_rank.
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args(argv)
    resume_is_config = str(args.resume).endswith('.py')
    usage = f'the config comes first: {PROG} CONFIG --resume [CKPT]'
    if args.config is None:
        if not resume_is_config:
            parser.error('the following arguments are required: config' +
                         (f' ({usage})' if args.resume else ''))
        args.config, args.resume = args.resume, 'auto'  # `--resume CONFIG`: the latest ckpt
    elif resume_is_config:
        parser.error(f'--resume takes a checkpoint, not the config {args.resume}; {usage}')
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    return args


def is_remote(path):
    """Whether ``path`` has a URL-like scheme (``https://``, ``open-mmlab://``, ``s3://``)."""
    return '://' in str(path)




def check_checkpoint(path, what):
    """Check that a local checkpoint path names an existing file."""
    if path and not is_remote(path) and not osp.isfile(osp.expanduser(path)):
        raise CLIError(f'{what} not found: {path}')


def merge_args(cfg, args):
    """Apply the CLI arguments to ``cfg`` (CLI flags win over --cfg-options)."""
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
    cfg.launcher = args.launcher

    # work_dir priority: CLI > config > config file name
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir', None) is None:
        cfg.work_dir = osp.join('./work_dirs', osp.splitext(osp.basename(args.config))[0])

    if args.amp:
        optim_wrapper = cfg.get('optim_wrapper')
        if not optim_wrapper:
            raise CLIError('--amp needs an optim_wrapper in the config')
        import torch
        if not torch.cuda.is_available():
            raise CLIError('--amp uses mmengine\'s AmpOptimWrapper, which needs a GPU (none is '
                           'visible); train without --amp on CPU')
        wrapper_type = optim_wrapper.get('type', 'OptimWrapper')
        if wrapper_type == 'AmpOptimWrapper':
            from mmengine.logging import print_log
            print_log('AMP training is already enabled in your config.', logger='current',
                      level=logging.WARNING)
        elif wrapper_type == 'OptimWrapper':
            cfg.optim_wrapper.type = 'AmpOptimWrapper'
            cfg.optim_wrapper.setdefault('loss_scale', 'dynamic')
        else:
            raise CLIError('--amp needs optim_wrapper.type "OptimWrapper", '
                           f'but the config has "{wrapper_type}"')

    args.new_run = False
    if args.resume == 'auto':  # the latest checkpoint of the work dir, if it has one
        from csg_mm.utils.checkpoint import find_resume_checkpoint
        latest = find_resume_checkpoint(cfg.work_dir)
        if latest is None:  # a new run, as configured (load_from kept); main() logs a warning
            args.new_run, cfg.resume = True, False
        else:
            args.resume = latest
    if args.resume not in (None, 'auto'):
        from csg_mm.utils.checkpoint import check_resumable
        check_checkpoint(args.resume, 'resume checkpoint')
        check_resumable(args.resume)  # a weights-only file: one clear error, before building
        cfg.resume = True
        cfg.load_from = args.resume
    check_checkpoint(cfg.get('load_from'), 'load_from checkpoint')
    return cfg


def build_runner(cfg):
    """Build ``cfg.runner_type`` (default: mmengine's Runner) in the config's default scope."""
    from mmengine.registry import RUNNERS, init_default_scope
    from mmengine.runner import Runner

    if cfg.get('default_scope'):
        init_default_scope(cfg.default_scope)
    if 'runner_type' not in cfg:
        return Runner.from_cfg(cfg)
    return RUNNERS.build(cfg)


def main(argv=None):
    """Entry point; returns the process exit code."""
    args = parse_args(argv)
    if not osp.isfile(args.config):  # before the slow imports
        return _fail(f'config file not found: {args.config}')
    import csg_mm  # noqa: F401  (registers every csg_mm component)
    from csg_mm.utils.checkpoint import NotResumableError, UnsafeCheckpointError
    from csg_mm.utils.dist import DistLaunchError, check_launcher_env, setup_cpu_distributed

    try:
        check_launcher_env(args.launcher)
        cfg = merge_args(load_config(args.config), args)
        ensure_writable_dir(cfg.work_dir)
        setup_cpu_distributed(cfg, args.launcher)
        runner = build_runner(cfg)
        if args.new_run:  # in the run's log file, not only on the console
            from csg_mm.utils.checkpoint import new_run_message
            runner.logger.warning(new_run_message(cfg.work_dir, cfg.get('load_from')))
        runner.train()
        wait_for_all_ranks()
    except (CLIError, DistLaunchError, NotResumableError, UnsafeCheckpointError) as exc:
        return _fail(str(exc))
    finally:
        destroy_process_group()
    return 0


def _fail(message):
    return fail(PROG, message)


if __name__ == '__main__':
    sys.exit(main())

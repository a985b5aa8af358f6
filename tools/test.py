"""Test (and evaluate) a checkpoint with an mmseg or mmpretrain config.

    python tools/test.py CONFIG CHECKPOINT [--work-dir DIR] [--out OUT] [--show-dir DIR]
                         [--tta] [--cfg-options k=v ...] [--launcher {none,pytorch,slurm,mpi}]

``--out`` follows the task of the config's ``default_scope``: for mmseg it is a directory that
receives the predictions (``test_evaluator.output_dir``), for mmpretrain a pickle file of the
predictions. Multi-process: ``tools/dist_test.sh CONFIG CHECKPOINT GPUS``.

Every run writes a protocol record next to its log, ``WORK_DIR/<timestamp>/<timestamp>_protocol
.json`` and ``.md``: the per-dataset and mean results, the checkpoint and its iteration, the label
mappings, the test resolutions and the seeds (``csg_mm.engine.ProtocolRecordHook``).
"""
import argparse
import os
import os.path as osp
import sys
from copy import deepcopy

from cli_utils import (
    CLIError,
    destroy_process_group,
    ensure_writable_dir,
    fail,
    load_config,
    wait_for_all_ranks,
)
from mmengine.config import ConfigDict, DictAction

PROG = 'test.py'


def parse_args(argv=None):
    """Parse the command line (the options of mmseg's / mmpretrain's tools/test.py)."""
    parser = argparse.ArgumentParser(prog=PROG, description='Test (and eval) a model (csg_mm)')
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--work-dir', help='the dir to save logs and evaluation metrics')
    parser.add_argument(
        '--out',
        help='mmseg: directory for the predictions; mmpretrain: pickle file of the predictions')
    parser.add_argument('--show', action='store_true', help='show prediction results')
    parser.add_argument('--show-dir', help='directory where painted images will be saved')
    parser.add_argument(
        '--wait-time', type=float, default=2, help='the interval of show (s)')
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
    parser.add_argument('--tta', action='store_true', help='test time augmentation')
    # torch.distributed.launch passes --local-rank (torch >= 2.0) or --local_rank.
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args(argv)
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    return args




def _is_pretrain(cfg):
    return cfg.get('default_scope') == 'mmpretrain'


def _set_visualization(cfg, args):
    hooks = cfg.get('default_hooks') or {}
    if 'visualization' not in hooks:
        raise CLIError('--show/--show-dir need a "visualization" hook in default_hooks')
    vis = cfg.default_hooks.visualization
    if _is_pretrain(cfg):
        vis.enable = True
        vis.show = args.show
        vis.wait_time = args.wait_time
        vis.out_dir = args.show_dir
    else:
        vis.draw = True
        if args.show:
            vis.show = True
            vis.wait_time = args.wait_time
        if args.show_dir:
            cfg.visualizer.save_dir = args.show_dir


def _set_tta(cfg):
    if _is_pretrain(cfg):
        if 'tta_model' not in cfg:
            cfg.tta_model = dict(type='mmpretrain.CSGAverageClsScoreTTA')
        if 'tta_pipeline' not in cfg:
            test_pipeline = cfg.test_dataloader.dataset.pipeline
            cfg.tta_pipeline = deepcopy(test_pipeline)
            cfg.tta_pipeline[-1] = dict(
                type='TestTimeAug',
                transforms=[[dict(type='RandomFlip', prob=1.),
                             dict(type='RandomFlip', prob=0.)], [test_pipeline[-1]]])
        cfg.model = ConfigDict(**cfg.tta_model, module=cfg.model)
    else:
        missing = [key for key in ('tta_model', 'tta_pipeline') if key not in cfg]
        if missing:
            raise CLIError(
                f'--tta needs {" and ".join(missing)} in the config (as the stock mmseg dataset '
                "bases define them, e.g. mmseg::_base_/datasets/cityscapes.py: tta_model = "
                "dict(type='SegTTAModel') and a tta_pipeline with TestTimeAug)")
        cfg.tta_model.module = cfg.model
        cfg.model = cfg.tta_model
    dataset = cfg.test_dataloader.dataset
    # a multi-dataset test set (ConcatEvalDataset): the ONE tta_pipeline replaces each set's
    # pipeline, its test resolution included (the protocol record lists the Resize steps used)
    for sub in dataset.get('datasets') or [dataset]:
        sub.pipeline = deepcopy(cfg.tta_pipeline)


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

    if '://' not in args.checkpoint and not osp.isfile(osp.expanduser(args.checkpoint)):
        raise CLIError(f'checkpoint not found: {args.checkpoint}')
    cfg.load_from = args.checkpoint
    cfg.resume = False

    if args.show or args.show_dir:
        _set_visualization(cfg, args)
    if args.tta:
        _set_tta(cfg)
    if args.out is not None and not _is_pretrain(cfg):
        # an evaluator with `metrics` (e.g. MultiDatasetEvaluator) passes them to its metrics
        metrics = cfg.test_evaluator.get('metrics', cfg.test_evaluator)
        for metric in metrics if isinstance(metrics, list) else [metrics]:
            metric['output_dir'] = args.out
            metric['keep_results'] = True
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
    from csg_mm.engine import ProtocolRecordHook
    from csg_mm.utils.checkpoint import UnsafeCheckpointError
    from csg_mm.utils.dist import DistLaunchError, check_launcher_env, setup_cpu_distributed

    try:
        check_launcher_env(args.launcher)
        cfg = merge_args(load_config(args.config), args)
        ensure_writable_dir(cfg.work_dir)
        setup_cpu_distributed(cfg, args.launcher)
        runner = build_runner(cfg)
        if not any(isinstance(hook, ProtocolRecordHook) for hook in runner.hooks):
            runner.register_hook(ProtocolRecordHook())
        if args.out is not None and _is_pretrain(cfg):
            from mmengine.evaluator import DumpResults
            runner.test_evaluator.metrics.append(DumpResults(out_file_path=args.out))
        runner.test()
        wait_for_all_ranks()
    except (CLIError, DistLaunchError, UnsafeCheckpointError, FileExistsError) as exc:
        return _fail(str(exc))
    finally:
        destroy_process_group()
    return 0


def _fail(message):
    return fail(PROG, message)


if __name__ == '__main__':
    sys.exit(main())

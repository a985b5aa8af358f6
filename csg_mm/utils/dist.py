"""Distributed helpers: multi-process training on CPU-only machines, and a gather of tensors
whose first dimension differs between ranks.

mmengine 0.10.7 cannot launch several processes without CUDA: ``init_dist`` calls
``torch.cuda.set_device`` unconditionally and ``Runner.wrap_model`` builds
``DistributedDataParallel(device_ids=[LOCAL_RANK])``. :func:`setup_cpu_distributed` initialises a
``gloo`` process group itself before the runner is built (the runner then skips ``init_dist``
because ``is_distributed()`` is true), makes the model wrapper use ``device_ids=None`` and turns
SyncBN into BN (SyncBN has no CPU implementation).
"""
import datetime
import logging
import os
import subprocess
from typing import Dict, List

import torch
import torch.distributed as torch_dist
import torch.multiprocessing as mp
from mmengine.dist import all_gather
from mmengine.logging import print_log
from torch import Tensor

LAUNCHERS = ('none', 'pytorch', 'slurm', 'mpi')

_REQUIRED_ENV: Dict[str, List[str]] = {
    'pytorch': ['RANK', 'WORLD_SIZE', 'MASTER_ADDR', 'MASTER_PORT'],
    'slurm': ['SLURM_PROCID', 'SLURM_NTASKS', 'SLURM_NODELIST'],
    'mpi': ['OMPI_COMM_WORLD_LOCAL_RANK', 'OMPI_COMM_WORLD_RANK', 'OMPI_COMM_WORLD_SIZE',
            'MASTER_ADDR'],
}
_LAUNCHED_BY = {
    'pytorch': 'torchrun (tools/dist_train.sh, tools/dist_test.sh)',
    'slurm': 'srun (tools/slurm_train.sh, tools/slurm_test.sh)',
    'mpi': 'mpirun (Open MPI), with MASTER_ADDR exported',
}


class DistLaunchError(RuntimeError):
    """The process was started with a launcher whose environment is missing or invalid."""


def check_launcher_env(launcher: str) -> None:
    """Fail early, with one clear message, if ``launcher`` cannot work in this process.

    Raises:
        DistLaunchError: Unknown launcher, or environment variables that the launcher sets are
            missing (e.g. ``--launcher pytorch`` without torchrun).
    """
    if launcher not in LAUNCHERS:
        raise DistLaunchError(
            f'unknown launcher "{launcher}"; expected one of {", ".join(LAUNCHERS)}')
    if launcher == 'none' or (torch_dist.is_available() and torch_dist.is_initialized()):
        return
    missing = [name for name in _REQUIRED_ENV[launcher] if name not in os.environ]
    if missing:
        raise DistLaunchError(
            f'--launcher {launcher} needs the environment variable(s) {", ".join(missing)}, '
            f'which {_LAUNCHED_BY[launcher]} sets; start the job that way or use '
            '--launcher none')


def _set_env_from_launcher(launcher: str, port=None) -> None:
    """Set RANK / WORLD_SIZE / LOCAL_RANK / MASTER_* like mmengine's ``init_dist`` does."""
    env = os.environ
    if launcher == 'mpi':
        env.setdefault('MASTER_PORT', '29500')
        env['WORLD_SIZE'] = env['OMPI_COMM_WORLD_SIZE']
        env['RANK'] = env['OMPI_COMM_WORLD_RANK']
        env['LOCAL_RANK'] = env['OMPI_COMM_WORLD_LOCAL_RANK']
    elif launcher == 'slurm':
        if port is not None:
            env['MASTER_PORT'] = str(port)
        env.setdefault('MASTER_PORT', '29500')
        if 'MASTER_ADDR' not in env:
            env['MASTER_ADDR'] = subprocess.getoutput(
                f'scontrol show hostname {env["SLURM_NODELIST"]} | head -n1')
        env['WORLD_SIZE'] = env['SLURM_NTASKS']
        env['RANK'] = env['SLURM_PROCID']
        env['LOCAL_RANK'] = env.get('SLURM_LOCALID', '0')


def setup_cpu_distributed(cfg, launcher: str) -> bool:
    """Prepare ``cfg`` for a multi-process launch on a machine without CUDA.

    Does nothing (and returns ``False``) when ``launcher == 'none'``, when CUDA is available
    (mmengine's own NCCL path is used) or when a process group already exists. Otherwise it
    initialises a ``gloo`` process group from the launcher's environment (honouring
    ``env_cfg.dist_cfg.timeout``) and sets ``cfg.model_wrapper_cfg`` to a
    ``MMDistributedDataParallel`` with ``device_ids=None``, keeping the user's wrapper keys and the
    top-level ``find_unused_parameters``; SyncBN layers of ``cfg.model`` become BN (see
    :func:`revert_sync_bn_cfg`).

    Args:
        cfg (mmengine.Config): The full config; edited in place.
        launcher (str): One of ``'none'``, ``'pytorch'``, ``'slurm'``, ``'mpi'``.

    Returns:
        bool: Whether a CPU (gloo) process group was set up.
    """
    if launcher == 'none' or torch.cuda.is_available():
        return False
    check_launcher_env(launcher)
    env_cfg = cfg.get('env_cfg') or {}
    dist_cfg = dict(env_cfg.get('dist_cfg') or {})
    if not torch_dist.is_initialized():
        _set_env_from_launcher(launcher, port=dist_cfg.get('port'))
        if mp.get_start_method(allow_none=True) is None:
            mp.set_start_method('spawn')
        kwargs = {}
        if dist_cfg.get('timeout') is not None:
            kwargs['timeout'] = datetime.timedelta(seconds=dist_cfg['timeout'])
        torch_dist.init_process_group(
            backend='gloo',
            init_method='env://',
            rank=int(os.environ['RANK']),
            world_size=int(os.environ['WORLD_SIZE']),
            **kwargs)
    if 'env_cfg' in cfg and cfg.env_cfg.get('dist_cfg') is not None:
        cfg.env_cfg.dist_cfg.backend = 'gloo'
    _set_cpu_model_wrapper(cfg)
    revert_sync_bn_cfg(cfg)
    return True


def _set_cpu_model_wrapper(cfg) -> None:
    """Make the runner's DDP wrapper work on CPU (``device_ids=None``)."""
    from mmengine.registry import MODEL_WRAPPERS
    from torch.nn.parallel import DistributedDataParallel

    wrapper = dict(cfg.get('model_wrapper_cfg') or {})
    if not wrapper:
        wrapper = dict(
            broadcast_buffers=False,
            find_unused_parameters=cfg.get('find_unused_parameters', False))
    wrapper.setdefault('type', 'MMDistributedDataParallel')
    wrapper_type = wrapper['type']
    if isinstance(wrapper_type, str):
        wrapper_type = MODEL_WRAPPERS.get(wrapper_type)
    if isinstance(wrapper_type, type) and issubclass(wrapper_type, DistributedDataParallel):
        wrapper['device_ids'] = None
        wrapper.pop('output_device', None)
    cfg.model_wrapper_cfg = wrapper


# norm_cfg types whose layers synchronise batch statistics across processes: torch's
# SyncBatchNorm ('SyncBN') and mmcv's ('MMSyncBN'), names as registered in mmcv's MODELS.
SYNC_BN_TYPES = ('SyncBN', 'MMSyncBN')


def _revert_sync_bn(node, path: str, changed: List[str]) -> None:
    if isinstance(node, dict):
        norm_type = node.get('type')
        if isinstance(norm_type, str) and norm_type.split('.')[-1] in SYNC_BN_TYPES:
            node['type'] = 'BN'
            changed.append(path)
        for key, value in node.items():
            _revert_sync_bn(value, f'{path}.{key}', changed)
    elif isinstance(node, (list, tuple)):
        for i, value in enumerate(node):
            _revert_sync_bn(value, f'{path}.{i}', changed)


def revert_sync_bn_cfg(cfg) -> List[str]:
    """On a CPU-only multi-process launch, make ``cfg.model``'s SyncBN layers plain BN.

    torch's ``SyncBatchNorm`` (and mmcv's) only run on GPUs: ``DistributedDataParallel`` refuses a
    CPU module holding one (``SyncBatchNorm layers only work with GPU modules``). mmengine's
    runner reverts SyncBN to BN for a single process (``Runner.wrap_model`` calls
    ``mmengine.model.revert_sync_batchnorm`` when not distributed); this does the same, in the
    config, for a multi-process CPU launch: every ``type='SyncBN'`` / ``'MMSyncBN'`` dict under
    ``cfg.model`` (the ``norm_cfg`` of backbones, necks and heads) becomes ``type='BN'``, so each
    process normalises with its own batch statistics. A top-level ``sync_bn`` (which would convert
    BN back to SyncBN) is removed. Each change is logged.

    Args:
        cfg (mmengine.Config): The full config; edited in place.

    Returns:
        list[str]: The config paths changed (e.g. ``model.backbone.norm_cfg``).
    """
    changed: List[str] = []
    if cfg.get('model') is not None:
        _revert_sync_bn(cfg.model, 'model', changed)
    if changed:
        print_log(
            'CPU-only distributed launch (gloo): SyncBN needs GPUs, so these norm_cfg use BN '
            f'(batch statistics of each process) instead: {", ".join(changed)}',
            logger='current', level=logging.WARNING)
    if cfg.get('sync_bn') is not None:
        print_log(f'CPU-only distributed launch (gloo): sync_bn={cfg.sync_bn!r} ignored (SyncBN '
                  'needs GPUs)', logger='current', level=logging.WARNING)
        cfg.pop('sync_bn')
        changed.append('sync_bn')
    return changed


def all_gather_uneven(tensor: Tensor) -> List[Tensor]:
    """Gather ``tensor`` from every rank when the size of its first dimension may differ
    between ranks (e.g. a last batch smaller on some ranks, ``sampler.round_up=False``).

    ``torch.distributed.all_gather`` needs equal shapes (gloo aborts with "Received data size
    doesn't match expected size"), so the sizes are gathered first, every rank pads its tensor
    to the largest size, and the padding is cut off after the gather.

    Args:
        tensor (Tensor): ``(N_r, ...)`` on rank ``r``; the trailing dimensions and the dtype must
            agree across ranks. ``N_r`` may be 0.

    Returns:
        list[Tensor]: ``[tensor of rank 0, tensor of rank 1, ...]`` (rank order), each
        ``(N_r, ...)`` on ``tensor``'s device; ``[tensor]`` without a process group.
    """
    if not (torch_dist.is_available() and torch_dist.is_initialized()) or \
            torch_dist.get_world_size() == 1:
        return [tensor]
    num = torch.tensor([tensor.shape[0]], dtype=torch.long, device=tensor.device)
    sizes = [int(n.item()) for n in all_gather(num)]
    largest = max(sizes)
    if all(n == largest for n in sizes):
        return all_gather(tensor)
    padded = tensor.new_zeros((largest, *tensor.shape[1:]))
    padded[:tensor.shape[0]] = tensor
    return [part[:n] for part, n in zip(all_gather(padded), sizes)]

"""Two-process training and testing on CPU (gloo) through tools/dist_train.sh / dist_test.sh."""
import os
import os.path as osp
import socket
import subprocess
import sys

import pytest

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
DATA_DIR = osp.join(ROOT, 'tests', 'data')
TOY_CONFIG = osp.join(DATA_DIR, 'configs', 'toy_runner.py')


def _free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def _run_dist(script, *args, timeout=300):
    env = dict(os.environ)
    env.update(
        PYTHON=sys.executable,
        PORT=str(_free_port()),
        MASTER_ADDR='127.0.0.1',
        PYTHONPATH=os.pathsep.join([ROOT, DATA_DIR, env.get('PYTHONPATH', '')]),
        CUDA_VISIBLE_DEVICES='',  # the CPU path, also on a GPU machine
        OMP_NUM_THREADS='1')
    for name in ('RANK', 'WORLD_SIZE', 'LOCAL_RANK', 'MASTER_PORT'):
        env.pop(name, None)
    cmd = ['bash', osp.join(ROOT, 'tools', script), *map(str, args)]
    return subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=timeout)


@pytest.mark.skipif(sys.platform == 'win32', reason='bash launcher')
def test_two_process_cpu_train_and_test(tmp_path):
    work_dir = tmp_path / 'work'
    proc = _run_dist('dist_train.sh', TOY_CONFIG, 2, '--work-dir', work_dir)
    assert proc.returncode == 0, (proc.stdout[-3000:], proc.stderr[-3000:])
    assert (work_dir / 'iter_4.pth').is_file()
    logs = list(work_dir.glob('*/*.log'))
    assert logs
    log = logs[0].read_text()
    assert 'Distributed training: True' in log and 'GPU number: 2' in log  # world size 2

    proc = _run_dist('dist_test.sh', TOY_CONFIG, work_dir / 'iter_4.pth', 2,
                     '--work-dir', tmp_path / 'test')
    assert proc.returncode == 0, (proc.stdout[-3000:], proc.stderr[-3000:])


def test_cpu_model_wrapper_keeps_user_keys():
    from mmengine.config import Config

    from csg_mm.utils.dist import _set_cpu_model_wrapper

    cfg = Config(dict(find_unused_parameters=True))
    _set_cpu_model_wrapper(cfg)
    assert cfg.model_wrapper_cfg == dict(
        type='MMDistributedDataParallel', device_ids=None, broadcast_buffers=False,
        find_unused_parameters=True)

    cfg = Config(dict(model_wrapper_cfg=dict(
        type='MMSeparateDistributedDataParallel', broadcast_buffers=True)))
    _set_cpu_model_wrapper(cfg)  # a DistributedDataParallel subclass
    assert cfg.model_wrapper_cfg == dict(
        type='MMSeparateDistributedDataParallel', broadcast_buffers=True, device_ids=None)

    cfg = Config(dict(model_wrapper_cfg=dict(type='MMFullyShardedDataParallel')))
    _set_cpu_model_wrapper(cfg)  # not a DistributedDataParallel subclass: left alone
    assert cfg.model_wrapper_cfg == dict(type='MMFullyShardedDataParallel')

    cfg = Config(dict(model_wrapper_cfg=dict(find_unused_parameters=True, output_device=0)))
    _set_cpu_model_wrapper(cfg)
    assert cfg.model_wrapper_cfg == dict(
        type='MMDistributedDataParallel', device_ids=None, find_unused_parameters=True)


@pytest.mark.parametrize('launcher', ['pytorch', 'slurm', 'mpi'])
def test_check_launcher_env_names_missing_variables(launcher, monkeypatch):
    from csg_mm.utils.dist import _REQUIRED_ENV, DistLaunchError, check_launcher_env

    for name in _REQUIRED_ENV[launcher]:
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(DistLaunchError, match=_REQUIRED_ENV[launcher][0]):
        check_launcher_env(launcher)
    check_launcher_env('none')


def test_setup_cpu_distributed_slurm_single_process(monkeypatch):
    """The slurm path on CPU: env from SLURM_*, a 1-process gloo group, a CPU DDP wrapper."""
    import torch
    import torch.distributed as dist
    from mmengine.config import Config

    from csg_mm.utils import dist as dist_utils

    if torch.cuda.is_available():
        pytest.skip('the CPU path is only taken without CUDA')
    assert not dist.is_initialized()
    env = dict(SLURM_PROCID='0', SLURM_NTASKS='1', SLURM_NODELIST='localhost',
               SLURM_LOCALID='0', MASTER_ADDR='127.0.0.1', MASTER_PORT=str(_free_port()))
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    for key in ('RANK', 'WORLD_SIZE', 'LOCAL_RANK'):
        monkeypatch.delenv(key, raising=False)
    # keep this pytest process's multiprocessing start method untouched
    monkeypatch.setattr(dist_utils.mp, 'set_start_method', lambda *args, **kwargs: None)
    cfg = Config(dict(env_cfg=dict(dist_cfg=dict(backend='nccl', timeout=60))))
    try:
        assert dist_utils.setup_cpu_distributed(cfg, 'slurm')
        assert dist.is_initialized() and dist.get_backend() == 'gloo'
        assert dist.get_world_size() == 1 and dist.get_rank() == 0
        assert cfg.env_cfg.dist_cfg.backend == 'gloo'
        assert cfg.model_wrapper_cfg['device_ids'] is None
    finally:
        if dist.is_initialized():
            dist.destroy_process_group()

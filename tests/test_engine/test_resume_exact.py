"""Resume through the stock runner on tiny generated data: a run resumed at iteration N ends
with exactly the tensors of an uninterrupted run (torch.equal on every tensor of the
checkpoint), with dataloader workers, persistent workers, 2 gloo processes and for the epoch-based
classification loop (at and between epoch boundaries); the skipped batches are never loaded."""
import os
import os.path as osp
import socket
import subprocess
import sys

import pytest
import torch
from mmengine.config import Config

from tests.utils.fake_data import make_gta5
from tests.utils.io_counters import count_reads_and_decodes
from tests.utils.runner_utils import REPO, TINY_CFG_DIR, run_tool
from tests.utils.visda_fake_data import make_visda17

SEG_CFG = osp.join(TINY_CFG_DIR, 'tiny_csg_deeplabv2_gta5.py')
CLS_CFG = osp.join(TINY_CFG_DIR, 'tiny_csg_resnet_visda17.py')
_RUNS = iter(range(10**6))


@pytest.fixture(scope='module')
def gta5_root(tmp_path_factory):
    root = make_gta5(tmp_path_factory.mktemp('resume') / 'gta5', num=6, mismatch=False,
                     orphans=False)
    run_tool(['tools/dataset_converters/gta5.py', root, '--nproc', '1'])
    return root


def _load(path):
    return torch.load(path, map_location='cpu', weights_only=False)


def assert_same_tensors(a, b, where='checkpoint'):
    """Every tensor equal (torch.equal), every other leaf equal, the same structure."""
    if isinstance(a, torch.Tensor):
        assert isinstance(b, torch.Tensor) and a.dtype == b.dtype and torch.equal(a, b), where
    elif isinstance(a, dict):
        assert a.keys() == b.keys(), where
        for key in a:
            assert_same_tensors(a[key], b[key], f'{where}.{key}')
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b)):
            assert_same_tensors(x, y, f'{where}[{i}]')
    else:
        assert a == b, where


def assert_same_training_state(path_a, path_b):
    a, b = _load(path_a), _load(path_b)
    for key in ('state_dict', 'optimizer', 'param_schedulers'):
        assert_same_tensors(a[key], b[key], key)
    assert (a['meta']['epoch'], a['meta']['iter']) == (b['meta']['epoch'], b['meta']['iter'])
    return a


def _runner_cfg(path, work_dir, **options):
    """Config ``path`` with ``options`` merged, a unique experiment name, no validation."""
    cfg = Config.fromfile(path)
    cfg.merge_from_dict({
        'work_dir': str(work_dir),
        'experiment_name': f'resume_{os.getpid()}_{next(_RUNS)}',
        'default_hooks.logger.interval': 100,
        **options,
    })
    cfg.val_dataloader = cfg.val_cfg = cfg.val_evaluator = None
    cfg.test_dataloader = cfg.test_cfg = cfg.test_evaluator = None
    return cfg


def _seg_cfg(gta5_root, ckpt, work_dir, **overrides):
    return _runner_cfg(SEG_CFG, work_dir, **{
        'train_dataloader.dataset.data_root': gta5_root,
        'model.backbone.init_cfg.checkpoint': str(ckpt),
        **overrides,
    })


def _train(cfg, resume_from=None):
    from mmengine.registry import RUNNERS

    import csg_mm  # noqa: F401
    if resume_from is not None:
        cfg.resume, cfg.load_from = True, str(resume_from)
    runner = RUNNERS.build(cfg)
    runner.train()
    return runner


@pytest.mark.slow
@pytest.mark.parametrize('persistent', [False, True], ids=['workers2', 'persistent'])
def test_seg_resume_is_exact_with_workers(gta5_root, tiny_imagenet_ckpt, tmp_path, persistent):
    opts = {'train_dataloader.num_workers': 2,
            'train_dataloader.persistent_workers': persistent}
    full = _train(_seg_cfg(gta5_root, tiny_imagenet_ckpt, tmp_path / 'full', **opts))
    assert type(full.train_loop).__name__ == 'ResumableIterBasedTrainLoop'
    _train(_seg_cfg(gta5_root, tiny_imagenet_ckpt, tmp_path / 'part', **opts),
           resume_from=tmp_path / 'full' / 'iter_2.pth')
    a = assert_same_training_state(tmp_path / 'full' / 'iter_4.pth',
                                   tmp_path / 'part' / 'iter_4.pth')
    state = a['state_dict']
    # the CSG state is part of what was compared: queues, pointers, key heads and EMA steps
    for name in ('regularizer.head.queue_stage3', 'regularizer.head.queue_ptr_stage4',
                 'regularizer.neck.key_projs.0.steps'):
        assert name in state, name
    assert state['regularizer.neck.key_projs.0.steps'].item() == 4


def test_seg_resume_loads_only_the_trained_batches(gta5_root, tiny_imagenet_ckpt, tmp_path,
                                                   monkeypatch):
    reads, decodes = count_reads_and_decodes(monkeypatch)
    _train(_seg_cfg(gta5_root, tiny_imagenet_ckpt, tmp_path / 'full'))
    full_reads, full_decodes = list(reads), len(decodes)
    del reads[:], decodes[:]
    _train(_seg_cfg(gta5_root, tiny_imagenet_ckpt, tmp_path / 'part'),
           resume_from=tmp_path / 'full' / 'iter_2.pth')
    # 4 iterations x batch 2 x (image + label); resumed at 2: only iterations 3 and 4 load
    assert len(full_reads) == 4 * 2 * 2 and full_decodes == 4 * 2 * 2
    assert reads == full_reads[2 * 2 * 2:]  # the same files, in the same order
    assert len(decodes) == 2 * 2 * 2
    assert_same_training_state(tmp_path / 'full' / 'iter_4.pth',
                               tmp_path / 'part' / 'iter_4.pth')


def _free_port():
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def _dist_train(cfg_path, work_dir, *extra):
    env = dict(os.environ, PYTHON=sys.executable, PORT=str(_free_port()),
               MASTER_ADDR='127.0.0.1', PYTHONPATH=REPO, CUDA_VISIBLE_DEVICES='',
               OMP_NUM_THREADS='1')
    for name in ('RANK', 'WORLD_SIZE', 'LOCAL_RANK', 'MASTER_PORT'):
        env.pop(name, None)
    proc = subprocess.run(
        ['bash', 'tools/dist_train.sh', str(cfg_path), '2', '--work-dir', str(work_dir), *extra],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]


@pytest.mark.slow
def test_seg_resume_is_exact_with_two_gloo_ranks(gta5_root, tiny_imagenet_ckpt, tmp_path):
    cfg = _seg_cfg(gta5_root, tiny_imagenet_ckpt, tmp_path, **{
        'train_dataloader.batch_size': 1, 'train_dataloader.num_workers': 1})
    cfg_path = tmp_path / 'dist_cfg.py'
    cfg.dump(str(cfg_path))
    _dist_train(cfg_path, tmp_path / 'full')
    _dist_train(cfg_path, tmp_path / 'part', '--resume', str(tmp_path / 'full' / 'iter_2.pth'))
    assert_same_training_state(tmp_path / 'full' / 'iter_4.pth',
                               tmp_path / 'part' / 'iter_4.pth')


@pytest.fixture(scope='module')
def visda_root(tmp_path_factory):
    root = tmp_path_factory.mktemp('visda17')
    make_visda17(root, per_class=1, size=(32, 32), splits=('train', ))
    return str(root)


@pytest.fixture(scope='module')
def tiny_cls_ckpt(tmp_path_factory):
    from mmpretrain.registry import MODELS

    import csg_mm  # noqa: F401
    from tests.utils.weights import save_fake_imagenet_backbone
    return save_fake_imagenet_backbone(
        MODELS,
        dict(type='ResNet', depth=18, base_channels=8, stem_channels=8, num_stages=4,
             out_indices=(0, 1, 2, 3), style='pytorch'),
        tmp_path_factory.mktemp('pretrained_cls') / 'tiny_resnet18_cls.pth', seed=321)


def _cls_cfg(root, ckpt, work_dir):
    cfg = _runner_cfg(CLS_CFG, work_dir, **{
        'train_dataloader.dataset.data_root': root,
        'train_dataloader.num_workers': 2,
        'train_dataloader.persistent_workers': True,
        'model.backbone.init_cfg.checkpoint': str(ckpt),
    })
    # epoch_1.pth / epoch_2.pth (the default) and a checkpoint after every iteration
    cfg.custom_hooks = list(cfg.custom_hooks) + [
        dict(type='CheckpointHook', by_epoch=False, interval=1, max_keep_ckpts=-1)]
    return cfg


@pytest.fixture(scope='module')
def cls_full_run(visda_root, tiny_cls_ckpt, tmp_path_factory):
    """An uninterrupted 2-epoch run (3 iterations an epoch) with 2 persistent workers."""
    full = tmp_path_factory.mktemp('cls_full')
    runner = _train(_cls_cfg(visda_root, tiny_cls_ckpt, full))
    assert type(runner.train_loop).__name__ == 'ResumableEpochBasedTrainLoop'
    assert len(runner.train_loop.dataloader) == 3  # 12 images, batch 4
    return full


@pytest.mark.slow
@pytest.mark.parametrize('resume_from', ['epoch_1.pth', 'iter_3.pth', 'iter_4.pth'],
                         ids=['epoch-boundary', 'last-batch-of-epoch', 'mid-epoch'])
def test_cls_resume_is_exact(visda_root, tiny_cls_ckpt, cls_full_run, tmp_path, resume_from):
    _train(_cls_cfg(visda_root, tiny_cls_ckpt, tmp_path / 'part'),
           resume_from=cls_full_run / resume_from)
    a = assert_same_training_state(cls_full_run / 'epoch_2.pth', tmp_path / 'part' / 'epoch_2.pth')
    assert (a['meta']['epoch'], a['meta']['iter']) == (2, 6)

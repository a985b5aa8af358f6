"""Issue 13, item 1: a config that asks for CSG never trains without it.

mmengine's ``Runner.from_cfg`` ignores ``runner_type='CSGRunner'``, so a config with the CSG mixin
builds the plain EncoderDecoder there; ``CSGMomentumHook`` stops it before the first iteration.
"""
import os.path as osp
from types import SimpleNamespace

import pytest
from mmengine.config import Config
from mmengine.registry import RUNNERS, init_default_scope
from mmengine.runner import Runner
from torch import nn

import csg_mm  # noqa: F401
from csg_mm.engine import CSGMomentumHook, apply_csg_mixin
from csg_mm.engine.hooks.csg_momentum_hook import CSGNotBuiltError
from tests.utils.runner_utils import TINY_CFG_DIR

TINY_CSG = osp.join(TINY_CFG_DIR, 'tiny_csg_deeplabv2_gta5.py')  # the paper config, via the mixin


def _tiny_cfg(data, ckpt, work_dir):
    gta5, cityscapes = data
    cfg = Config.fromfile(TINY_CSG)
    cfg.train_dataloader.dataset.data_root = gta5
    cfg.val_dataloader.dataset.data_root = cityscapes
    cfg.test_dataloader.dataset.data_root = cityscapes
    cfg.model.backbone.init_cfg.checkpoint = str(ckpt)
    cfg.train_cfg.max_iters = 1
    cfg.work_dir = str(work_dir)
    return cfg


def test_runner_from_cfg_stops_before_training(trap_seg_data, tiny_imagenet_ckpt, tmp_path):
    cfg = _tiny_cfg(trap_seg_data, tiny_imagenet_ckpt, tmp_path / 'plain')
    assert cfg.runner_type == 'CSGRunner'
    init_default_scope('mmseg')
    runner = Runner.from_cfg(cfg)  # ignores runner_type: the plain model
    assert type(runner.model).__name__ == 'EncoderDecoder'
    with pytest.raises(CSGNotBuiltError) as info:
        runner.train()
    message = str(info.value)
    for hint in ('WITHOUT CSG', 'RUNNERS.build(cfg)', 'tools/train.py', 'apply_csg_mixin'):
        assert hint in message
    assert runner.iter == 0  # not one step trained


def test_documented_routes_build_csg(trap_seg_data, tiny_imagenet_ckpt, tmp_path):
    """RUNNERS.build, apply_csg_mixin + Runner.from_cfg, and the config the runner dumped
    (reloaded, with either runner) all give the CSG model."""
    init_default_scope('mmseg')
    cfg = _tiny_cfg(trap_seg_data, tiny_imagenet_ckpt, tmp_path / 'csg')
    runner = RUNNERS.build(cfg)
    assert type(runner.model).__name__ == 'CSGEncoderDecoder'
    dumped = osp.join(cfg.work_dir, osp.basename(TINY_CSG))  # Runner.dump_config
    assert osp.isfile(dumped)
    cfg.work_dir = str(tmp_path / 'applied')
    runner = Runner.from_cfg(apply_csg_mixin(cfg))
    assert type(runner.model).__name__ == 'CSGEncoderDecoder'
    reloaded = Config.fromfile(dumped)
    assert reloaded.model.type == 'CSGEncoderDecoder'
    assert apply_csg_mixin(reloaded).to_dict() == reloaded.to_dict()  # idempotent
    reloaded.work_dir = str(tmp_path / 'reloaded')
    assert type(Runner.from_cfg(reloaded).model).__name__ == 'CSGEncoderDecoder'


def test_mixin_restores_a_dropped_momentum_hook():
    cfg = Config.fromfile(TINY_CSG)
    cfg.custom_hooks = [dict(type='EmptyCacheHook')]  # a user list without the mixin's hook
    applied = apply_csg_mixin(cfg)
    assert [h['type'] for h in applied.custom_hooks] == ['EmptyCacheHook', 'CSGMomentumHook']


def test_hook_without_csg_model_names_the_regularizer():
    """Not a mixin config (e.g. a classification config with regularizer=None)."""
    runner = SimpleNamespace(model=nn.Linear(2, 2), cfg=Config(dict(model=dict(type='X'))),
                             logger=None)
    with pytest.raises(CSGNotBuiltError, match="regularizer=dict\\(type='CSGRegularizer'"):
        CSGMomentumHook().before_train(runner)

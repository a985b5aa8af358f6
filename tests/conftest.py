"""Shared fixtures: tiny backbones with a generated "ImageNet" checkpoint (no downloads)."""
import copy
import os

import pytest
import torch

from tests.utils.weights import save_fake_imagenet_backbone

# Deterministic, quiet, CPU-only tests on 2 cores.
os.environ.setdefault('OMP_NUM_THREADS', '2')
torch.set_num_threads(2)


def tiny_resnet_cfg(checkpoint=None, **kwargs):
    """mmseg ResNet-18 at 1/8 width, dilated like DeepLabV2 (output stride 8), frozen BN."""
    cfg = dict(
        type='ResNet',
        depth=18,
        base_channels=8,
        stem_channels=8,
        num_stages=4,
        out_indices=(0, 1, 2, 3),
        strides=(1, 2, 1, 1),
        dilations=(1, 1, 2, 4),
        contract_dilation=True,
        norm_cfg=dict(type='BN', requires_grad=False),
        norm_eval=True,
        style='pytorch')
    if checkpoint is not None:
        cfg['init_cfg'] = dict(type='Pretrained', checkpoint=str(checkpoint))
    cfg.update(kwargs)
    return cfg


@pytest.fixture(scope='session')
def tiny_imagenet_ckpt(tmp_path_factory):
    """Fake "ImageNet" weights for `tiny_resnet_cfg` (mmseg ResNet)."""
    from mmseg.registry import MODELS

    import csg_mm  # noqa: F401
    return save_fake_imagenet_backbone(
        MODELS, tiny_resnet_cfg(),
        tmp_path_factory.mktemp('pretrained') / 'tiny_resnet18.pth')


@pytest.fixture
def tiny_backbone_cfg(tiny_imagenet_ckpt):
    return copy.deepcopy(tiny_resnet_cfg(tiny_imagenet_ckpt))


@pytest.fixture(scope='session', autouse=True)
def _session_default_scope():
    """The default scopes that exist when the session starts (before any fixture builds a
    runner)."""
    from mmengine.registry import DefaultScope
    return dict(DefaultScope._instance_dict)


@pytest.fixture(autouse=True)
def _restore_default_scope(_session_default_scope):
    """No test or fixture leaks its default scope into later tests: after every test the
    scopes are those of the session's start. (A leaked 'mmseg' scope makes mmpretrain
    registries resolve in mmseg's and vice versa; a module-scoped fixture that builds a runner
    sets one before any per-test snapshot could be taken.)"""
    from mmengine.registry import DefaultScope
    yield
    DefaultScope._instance_dict.clear()
    DefaultScope._instance_dict.update(_session_default_scope)

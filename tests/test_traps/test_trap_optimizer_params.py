"""Issue 13, item 5: the optimizer holds exactly the trainable parameters -- never the frozen
teacher or the EMA key projections -- on every route: the paper's segmentation config (through
the mixin), a stock mmseg config + the mixin (no ``paramwise_cfg``), the classification config."""
import logging
import os.path as osp

import pytest
from mmengine.config import Config
from mmengine.logging import MMLogger
from mmengine.optim import build_optim_wrapper
from mmengine.registry import init_default_scope

import csg_mm  # noqa: F401
from csg_mm.engine import apply_csg_mixin
from tests.utils.runner_utils import REPO, TINY_CFG_DIR

STOCK_MIXIN = osp.join(REPO, 'configs/csg/mixin/pspnet_r50-d8_4xb2-40k_csg_gta5-to-cityscapes-'
                       '512x1024.py')


def _build(cfg):
    init_default_scope(cfg.default_scope)
    if cfg.default_scope == 'mmseg':
        from mmseg.registry import MODELS
    else:
        from mmpretrain.registry import MODELS
    return MODELS.build(cfg.model)


def _optimizer_params(optim_wrapper):
    return [p for group in optim_wrapper.optimizer.param_groups for p in group['params']]


def _check_exact(model, optim_wrapper):
    held = _optimizer_params(optim_wrapper)
    trainable = [p for p in model.parameters() if p.requires_grad]
    assert len(held) == len(trainable)
    assert {id(p) for p in held} == {id(p) for p in trainable}
    reg = model.regularizer
    frozen = [*reg.teacher.parameters(), *reg.neck.key_projs.parameters()]
    assert frozen and not {id(p) for p in frozen} & {id(p) for p in held}


def test_stock_config_with_mixin():
    cfg = Config.fromfile(STOCK_MIXIN)
    assert not cfg.optim_wrapper.get('paramwise_cfg')  # the stock config has none
    cfg = apply_csg_mixin(cfg)
    assert cfg.optim_wrapper.constructor == 'TrainableOptimWrapperConstructor'
    model = _build(cfg)
    _check_exact(model, build_optim_wrapper(model, cfg.optim_wrapper))
    # the trap: mmengine's default constructor hands it model.parameters(), frozen ones included
    stock = build_optim_wrapper(
        model, dict(cfg.optim_wrapper, constructor='DefaultOptimWrapperConstructor'))
    assert len(_optimizer_params(stock)) == len(list(model.parameters()))
    assert len(list(model.parameters())) > sum(p.requires_grad for p in model.parameters())


@pytest.mark.parametrize('name', ['tiny_csg_deeplabv2_gta5.py', 'tiny_csg_resnet_visda17.py'])
def test_paper_configs(name):
    cfg = Config.fromfile(osp.join(TINY_CFG_DIR, name))
    if cfg.get('runner_type') == 'CSGRunner':
        cfg = apply_csg_mixin(cfg)  # what CSGRunner does
    assert cfg.optim_wrapper.paramwise_cfg.custom_keys  # backbone lr x 0.1
    model = _build(cfg)
    logger = MMLogger.get_current_instance()
    records = []
    handler = logging.Handler()
    handler.emit = records.append
    logger.addHandler(handler)
    try:
        optim_wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
    finally:
        logger.removeHandler(handler)
    _check_exact(model, optim_wrapper)
    messages = [r.getMessage() for r in records]
    if cfg.optim_wrapper.get('constructor') == 'TrainableOptimWrapperConstructor':
        # one line counts the frozen parameters, instead of mmengine's warning for each
        assert not [m for m in messages if 'is skipped since' in m]
        assert len([m for m in messages if 'are not in the optimizer' in m]) == 1
    lrs = {id(p): group['lr'] for group in optim_wrapper.optimizer.param_groups
           for p in group['params']}
    base_lr = cfg.optim_wrapper.optimizer.lr
    assert {lrs[id(p)] for p in model.backbone.parameters() if p.requires_grad} == {base_lr * 0.1}
    assert {lrs[id(p)] for p in model.regularizer.neck.query_projs.parameters()} == {base_lr}

"""Every shipped VisDA-17 config loads and builds its model (no weights are loaded); the main CSG
config has the paper's settings (DESIGN.md 1.3); every ablation and every Table 1 baseline differs
from the config it derives from in exactly what it claims."""
import copy
import glob
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.optim import build_optim_wrapper
from mmengine.registry import init_default_scope

import csg_mm  # noqa: F401
from tests.utils.runner_utils import REPO

CSG_DIR = osp.join(REPO, 'configs', 'csg')
CLS_CONFIGS = sorted(glob.glob(osp.join(CSG_DIR, '*visda17*.py')) +
                     glob.glob(osp.join(CSG_DIR, 'ablations', '*.py')))
MAIN = 'resnet101_csg_4xb8-30e_visda17.py'
VANILLA = 'resnet101_4xb8-30e_visda17.py'
# helper variables that only feed the real settings (which are compared instead)
HELPER_KEYS = ('view_pipeline', 'train_pipeline', 'test_pipeline', 'rand_augment',
               'csg_regularizer')


def _load(name):
    path = name if osp.isabs(name) else osp.join(CSG_DIR, name)
    return Config.fromfile(path)


def _model_cfg(cfg):
    """``cfg.model`` with the top-level ``data_preprocessor`` merged in, as the runner does."""
    model = copy.deepcopy(cfg.model)
    if cfg.get('data_preprocessor') is not None:
        model.setdefault('data_preprocessor', copy.deepcopy(cfg.data_preprocessor))
    return model


def _build(cfg):
    from mmpretrain.registry import MODELS
    init_default_scope(cfg.default_scope)
    return MODELS.build(_model_cfg(cfg))


def _settings(cfg):
    """The config as a plain dict without the helper variables."""
    out = cfg.to_dict()
    for key in HELPER_KEYS:
        out.pop(key, None)
    return out


def _regularizer_type(name):
    if 'feat-l2' in name:
        return 'FeatureL2Regularizer'
    if 'l2sp' in name:
        return 'L2SPRegularizer'
    if 'csg' in name:
        return 'CSGRegularizer'
    return None


@pytest.mark.parametrize('path', CLS_CONFIGS, ids=lambda p: osp.relpath(p, CSG_DIR))
def test_config_builds(path):
    cfg = _load(path)
    assert cfg.default_scope == 'mmpretrain'
    model = _build(cfg)  # init_weights() is not called: no weight files needed
    assert type(model).__name__ == 'CSGImageClassifier'
    reg_type = _regularizer_type(osp.basename(path))
    if reg_type is None:
        assert model.regularizer is None
    else:
        assert type(model.regularizer).__name__ == reg_type
    assert model.backbone.norm_eval and model.backbone.depth == 101
    assert cfg.model.backbone.init_cfg.checkpoint.endswith('resnet101-63fe2227.pth')
    assert cfg.train_dataloader.dataset.type == 'VisDA17Dataset'
    assert cfg.train_dataloader.dataset.split == 'train'
    assert cfg.val_dataloader.dataset.split == 'validation'
    evaluators = cfg.val_evaluator if isinstance(cfg.val_evaluator, list) else [
        cfg.val_evaluator]
    assert 'VisDAMetric' in [e['type'] for e in evaluators]
    hooks = [h['type'] for h in cfg.get('custom_hooks', [])]
    pre = type(model.data_preprocessor).__name__
    if reg_type == 'CSGRegularizer':  # two views, momentum hook
        assert pre == 'SelfSupDataPreprocessor'
        multi_view = cfg.train_dataloader.dataset.pipeline[1]
        assert multi_view.type == 'MultiView' and multi_view.num_views == 2
        assert cfg.train_dataloader.collate_fn.type == 'default_collate'
        assert hooks == ['CSGMomentumHook']
    else:  # one view
        assert pre == 'ClsDataPreprocessor'
        assert 'MultiView' not in [t['type'] for t in cfg.train_dataloader.dataset.pipeline]
        assert 'CSGMomentumHook' not in hooks


def test_main_csg_config_settings():
    """DESIGN.md 1.3, VisDA-17 column."""
    cfg = _load(MAIN)
    # SGD lr 1e-4, momentum 0.9, wd 5e-4, backbone lr x0.1
    opt = cfg.optim_wrapper
    assert (opt.optimizer.type, opt.optimizer.lr, opt.optimizer.momentum,
            opt.optimizer.weight_decay) == ('SGD', 1e-4, 0.9, 5e-4)
    assert opt.paramwise_cfg.custom_keys == {'backbone': dict(lr_mult=0.1)}
    # poly 0.9 (+ the authors' 100-iteration warm-up), 30 epochs, batch 8 x 4 GPUs = 32
    warmup, poly = cfg.param_scheduler
    assert (warmup.type, warmup.by_epoch, warmup.end) == ('LinearLR', False, 100)
    assert (poly.type, poly.power, poly.end) == ('PolyLR', 0.9, 30)
    assert cfg.train_cfg.max_epochs == 30
    assert cfg.train_cfg.type == 'ResumableEpochBasedTrainLoop'  # epoch-based, exact resume
    assert cfg.train_dataloader.batch_size * 4 == 32 == cfg.auto_scale_lr.base_batch_size
    # CSG: lambda 0.1, G = {3, 4}, A-pool over the whole map, K = 65536, t = 0.07, m = 0.999
    reg = cfg.model.regularizer
    assert reg.type == 'CSGRegularizer' and tuple(reg.stages) == (3, 4)
    assert reg.pool == dict(type='CSGPooling', pool_type='apool', grid=1)
    assert reg.head == dict(type='CSGContrastiveHead', queue_len=65536, temperature=0.07,
                            loss_weight=0.1)
    assert reg.neck == dict(type='CSGProjectionNeck', out_channels=128, momentum=0.001)
    assert reg.attention == 'key'
    # views: RandAugment 1 op at M = 6 of 30, Resize 224, RandomCrop 224; test: Resize + Center
    view = cfg.train_dataloader.dataset.pipeline[1].transforms[0]
    assert [t['type'] for t in view] == ['RandAugment', 'ResizeEdge', 'RandomCrop']
    assert (view[0].num_policies, view[0].magnitude_level, view[0].total_level) == (1, 6, 30)
    assert view[1].scale == 224 and view[2].crop_size == 224
    test_pipe = cfg.test_dataloader.dataset.pipeline
    assert [t['type'] for t in test_pipe[1:3]] == ['ResizeEdge', 'CenterCrop']
    assert test_pipe[1].scale == 224 and test_pipe[2].crop_size == 224
    assert cfg.test_evaluator == dict(type='VisDAMetric')

    model = _build(cfg)
    # ResNet-101 with frozen BN statistics, head MLP 2048-512-12
    assert model.backbone.depth == 101 and model.backbone.norm_eval
    linears = [m for m in model.head.modules() if isinstance(m, torch.nn.Linear)]
    assert [(m.in_features, m.out_features) for m in linears] == [(2048, 512), (512, 12)]
    reg = model.regularizer
    assert reg.stages == [3, 4] and reg.in_channels == [1024, 2048]
    assert reg.head.loss_weight == 0.1 and reg.head.queue_len == 65536
    # the teacher is frozen and out of the optimisation; the backbone trains at 0.1 x lr, the
    # new head and the CSG projection heads at the full lr
    assert not any(p.requires_grad for p in reg.teacher.parameters())
    optim = build_optim_wrapper(model, cfg.optim_wrapper).optimizer
    lr_of = {id(p): g['lr'] for g in optim.param_groups for p in g['params']}
    assert lr_of[id(model.backbone.conv1.weight)] == pytest.approx(1e-5)
    assert all(lr_of[id(p)] == pytest.approx(1e-4) for p in model.head.parameters())
    trainable_neck = [p for p in reg.neck.parameters() if p.requires_grad]
    assert trainable_neck and all(lr_of[id(p)] == pytest.approx(1e-4) for p in trainable_neck)


def _set_view_magnitude(cfg, m):
    view = cfg['train_dataloader']['dataset']['pipeline'][1]['transforms'][0]
    if m == 0:  # no augmentation at all
        assert view[0]['type'] == 'RandAugment'
        del view[0]
    else:
        view[0]['magnitude_level'] = m


def _set(path, value):
    def apply(cfg):
        *parents, leaf = path.split('.')
        for key in parents:
            cfg = cfg[key]
        cfg[leaf] = value
    return apply


# ablation file -> what it claims to change in the main config (paper Tables 2-4)
ABLATIONS = {
    'csg_r101_visda17_gap.py': _set('model.regularizer.pool.pool_type', 'gap'),
    'csg_r101_visda17_stages-4.py': _set('model.regularizer.stages', (4, )),
    'csg_r101_visda17_stages-2-3-4.py': _set('model.regularizer.stages', (2, 3, 4)),
    'csg_r101_visda17_stages-1-2-3-4.py': _set('model.regularizer.stages', (1, 2, 3, 4)),
    'csg_r101_visda17_randaug-m0.py': lambda c: _set_view_magnitude(c, 0),
    'csg_r101_visda17_randaug-m3.py': lambda c: _set_view_magnitude(c, 3),
    'csg_r101_visda17_randaug-m12.py': lambda c: _set_view_magnitude(c, 12),
    'csg_r101_visda17_randaug-m18.py': lambda c: _set_view_magnitude(c, 18),
}


# Table 1 baselines -> (the config they derive from, what they claim to change)
BASELINES = {
    'resnet101_oracle_4xb8-30e_visda17.py': (VANILLA, _set('model.backbone.frozen_stages', 4)),
    'resnet101_feat-l2_4xb8-30e_visda17.py':
    (VANILLA, _set('model.regularizer',
                   dict(type='FeatureL2Regularizer', stages=(4, ), loss_weight=1.0))),
    'resnet101_l2sp_4xb8-30e_visda17.py':
    (VANILLA, _set('model.regularizer', dict(type='L2SPRegularizer', loss_weight=0.01))),
    'csg_r101_visda17.py': (MAIN, lambda c: None),  # short names: identical
    'baseline_r101_visda17.py': (VANILLA, lambda c: None),
}


def test_every_ablation_is_listed():
    shipped = {osp.basename(p) for p in glob.glob(osp.join(CSG_DIR, 'ablations', '*.py'))}
    assert shipped == set(ABLATIONS)


@pytest.mark.parametrize('name', list(ABLATIONS))
def test_ablation_differs_only_in_its_claim(name):
    main = _settings(_load(MAIN))
    expected = copy.deepcopy(main)
    ABLATIONS[name](expected)
    assert expected != main  # the claim changes something
    assert _settings(_load(osp.join(CSG_DIR, 'ablations', name))) == expected


@pytest.mark.parametrize('name', list(BASELINES))
def test_baseline_differs_only_in_its_claim(name):
    parent, claim = BASELINES[name]
    expected = _settings(_load(parent))
    claim(expected)
    assert _settings(_load(name)) == expected


def test_csg_config_is_the_vanilla_one_plus_csg():
    """The CSG config = the vanilla baseline + the two-view data, the regulariser and the
    momentum hook; model, optimisation and evaluation are shared."""
    csg, vanilla = _settings(_load(MAIN)), _settings(_load(VANILLA))
    for key in ('optim_wrapper', 'param_scheduler', 'train_cfg', 'val_cfg', 'test_cfg',
                'val_evaluator', 'test_evaluator', 'default_hooks', 'auto_scale_lr'):
        assert csg[key] == vanilla[key], key
    assert csg['val_dataloader'] == {**vanilla['val_dataloader'],
                                     'collate_fn': dict(type='default_collate')}
    for key in ('backbone', 'neck', 'head'):
        assert csg['model'][key] == vanilla['model'][key], key
    assert vanilla['model']['regularizer'] is None
    assert csg['model']['regularizer']['type'] == 'CSGRegularizer'

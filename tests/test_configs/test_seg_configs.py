"""Every shipped segmentation config loads and builds; the CSG mixin turns stock mmseg models of
four families into CSG ones that train a step."""
import glob
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.hooks import Hook
from mmengine.registry import RUNNERS, init_default_scope
from mmseg.registry import MODELS

import csg_mm  # noqa: F401
from csg_mm.engine import apply_csg_mixin
from tests.utils.fake_data import make_cityscapes, make_gta5
from tests.utils.runner_utils import REPO, run_tool

SEG_CONFIGS = sorted(glob.glob(osp.join(REPO, 'configs/csg/*gta5*.py')))
MIXIN_CONFIGS = sorted(glob.glob(osp.join(REPO, 'configs/csg/mixin/*.py')))


def _load(path):
    cfg = Config.fromfile(path)
    if cfg.get('runner_type') == 'CSGRunner':
        cfg = apply_csg_mixin(cfg)
    return cfg


@pytest.mark.parametrize('path', SEG_CONFIGS + MIXIN_CONFIGS, ids=osp.basename)
def test_config_builds(path):
    cfg = _load(path)
    init_default_scope(cfg.default_scope)
    model = MODELS.build(cfg.model)
    is_csg = 'baseline' not in osp.basename(path)
    assert (type(model).__name__ == 'CSGEncoderDecoder') == is_csg
    if is_csg:
        reg = model.regularizer
        assert reg.stages == [3, 4]
        assert reg.head.loss_weight == 75.0 and reg.head.queue_len == 65536
        assert reg.attention == 'key'
        train_set = cfg.train_dataloader.dataset  # GTA5, or a ConcatDataset of sources
        for source in train_set.get('datasets', [train_set]):
            types = [t['type'] for t in source.pipeline]
            assert types[-2:] == ['KeyMapper', 'PackCSGSegInputs']
        assert cfg.model.data_preprocessor.type == 'CSGSegDataPreProcessor'
        assert [h['type'] for h in cfg.custom_hooks] == ['CSGMomentumHook']


def test_paper_config_settings():
    cfg = _load(osp.join(REPO, 'configs/csg/deeplabv2_r101_gta5.py'))
    bb = cfg.model.backbone
    assert (bb.type, bb.depth, bb.strides, bb.dilations) == ('ResNet', 101, (1, 2, 1, 1),
                                                             (1, 1, 2, 4))
    assert bb.norm_eval and not bb.norm_cfg.requires_grad
    assert bb.init_cfg.checkpoint.endswith('resnet101-63fe2227.pth')
    assert cfg.model.decode_head.type == 'DeepLabV2Head'
    assert cfg.model.regularizer.pool == dict(type='CSGPooling', pool_type='apool', grid=8)
    opt = cfg.optim_wrapper
    assert (opt.optimizer.lr, opt.optimizer.momentum, opt.optimizer.weight_decay) == (1e-3, 0.9,
                                                                                    5e-4)
    assert opt.paramwise_cfg.custom_keys['backbone'].lr_mult == 0.1
    assert cfg.train_dataloader.batch_size * 4 * cfg.train_cfg.max_iters == 6 * 100000
    assert cfg.model.test_cfg.mode == 'whole'
    test_pipe = cfg.test_dataloader.dataset.pipeline
    assert test_pipe[1] == dict(type='Resize', scale=(2048, 1024), keep_ratio=True)


@pytest.fixture(scope='module')
def seg_data(tmp_path_factory):
    root = tmp_path_factory.mktemp('mixindata')
    gta5 = make_gta5(root / 'gta5', num=2, mismatch=False, orphans=False)
    run_tool(['tools/dataset_converters/gta5.py', gta5, '--nproc', '1'])
    return gta5, make_cityscapes(root / 'cityscapes', num=1)


@pytest.mark.slow
@pytest.mark.parametrize('path', MIXIN_CONFIGS, ids=osp.basename)
def test_mixin_trains_a_step(path, seg_data, tmp_path):
    cfg = Config.fromfile(path)
    cfg.model.pop('pretrained', None)
    cfg.model.backbone.init_cfg = None
    cfg.model.data_preprocessor.size = (64, 64)
    cfg.train_dataloader.update(batch_size=2, num_workers=0, persistent_workers=False)
    cfg.train_dataloader.dataset.data_root = seg_data[0]
    cfg.train_dataloader.dataset.pipeline = [
        dict(type='LoadImageFromFile'),
        dict(type='LoadAnnotations'),
        dict(type='RandomCrop', crop_size=(64, 64)),
        dict(type='RandomFlip', prob=0.5),
        dict(type='PackSegInputs'),
    ]
    cfg.csg.regularizer.head.queue_len = 256
    cfg.csg.regularizer.pool.grid = 2
    cfg.train_cfg = dict(type='IterBasedTrainLoop', max_iters=1, val_interval=100)
    cfg.val_cfg = cfg.val_dataloader = cfg.val_evaluator = None
    cfg.test_cfg = cfg.test_dataloader = cfg.test_evaluator = None
    cfg.default_hooks.checkpoint.interval = 100
    cfg.param_scheduler = []
    cfg.work_dir = str(tmp_path)
    runner = RUNNERS.build(cfg)
    model = runner.model
    assert type(model).__name__ == 'CSGEncoderDecoder'
    teacher = model.regularizer.teacher
    snapshot = {}

    class _Snapshot(Hook):  # after init_weights, before the first iteration

        def before_train(self, runner):
            snapshot.update({k: v.clone() for k, v in teacher.state_dict().items()})

    runner.register_hook(_Snapshot(), priority='LOWEST')
    runner.train()
    assert model.regularizer.head.queue_ptr(3).item() == 2 * 4
    assert snapshot
    for k, v in teacher.state_dict().items():
        torch.testing.assert_close(v, snapshot[k])


def test_mixin_applies_inside_a_tta_wrapper():
    """tools/test.py --tta wraps the model (SegTTAModel(module=EncoderDecoder)) before the
    CSGRunner applies the mixin: the wrapped model becomes the CSG one (it used to be refused:
    "model.type is 'SegTTAModel'"); a wrapper around something else is still refused."""
    cfg = Config.fromfile(osp.join(REPO, 'configs/csg/deeplabv2_r50_gta5.py'))
    cfg.model = dict(type='SegTTAModel', module=cfg.model)
    applied = apply_csg_mixin(cfg)
    assert applied.model.type == 'SegTTAModel'
    assert applied.model.module.type == 'CSGEncoderDecoder'
    assert applied.model.module.regularizer.type == 'CSGRegularizer'
    assert applied.model.module.data_preprocessor.type == 'CSGSegDataPreProcessor'
    cfg.model = dict(type='SegTTAModel', module=dict(type='ImageClassifier'))
    with pytest.raises(ValueError, match="model.type is 'ImageClassifier'"):
        apply_csg_mixin(cfg)

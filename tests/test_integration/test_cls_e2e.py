"""End to end through the stock mmpretrain runner on a generated VisDA-17-like folder:
CSG train (two views) -> validate (mean class accuracy, hyperspherical energy) -> save ->
tools/test.py (CSG config, plain config, flip TTA) -> resume and continue; and the paper's Table 1
baselines (vanilla, ImageNet oracle, feature l2, L2-SP), each for one epoch."""
import os.path as osp
import re

import pytest
import torch

from tests.utils.runner_utils import REPO, TINY_CFG_DIR, run_tool
from tests.utils.visda_fake_data import make_visda17
from tests.utils.weights import save_fake_imagenet_backbone

CSG_CFG = osp.join(TINY_CFG_DIR, 'tiny_csg_resnet_visda17.py')
PLAIN_CFG = osp.join(TINY_CFG_DIR, 'tiny_resnet_visda17.py')
PLAIN_BASE = "'../../../configs/csg/resnet101_4xb8-30e_visda17.py'"
ITERS_PER_EPOCH = 3  # 12 classes x 1 image, batch 4
QUEUE_LEN = 64


def tiny_cls_resnet_cfg():
    """The backbone of the tiny VisDA configs: mmpretrain ResNet-18 at 1/8 width (torchvision
    key layout: conv1, bn1, layer1.0.conv1, ..., layerN.0.downsample.{0,1})."""
    return dict(
        type='ResNet',
        depth=18,
        base_channels=8,
        stem_channels=8,
        num_stages=4,
        out_indices=(0, 1, 2, 3),
        style='pytorch')


@pytest.fixture(scope='session')
def tiny_cls_imagenet_ckpt(tmp_path_factory):
    """Fake "ImageNet" weights for the tiny configs' mmpretrain ResNet."""
    from mmpretrain.registry import MODELS

    import csg_mm  # noqa: F401
    return save_fake_imagenet_backbone(
        MODELS, tiny_cls_resnet_cfg(),
        tmp_path_factory.mktemp('pretrained_cls') / 'tiny_resnet18_cls.pth', seed=321)


@pytest.fixture(scope='module')
def visda_root(tmp_path_factory):
    root = tmp_path_factory.mktemp('visda17')
    make_visda17(root, per_class=1, size=(32, 32))
    return str(root)


def _opts(root, ckpt):
    return [
        f'train_dataloader.dataset.data_root={root}',
        f'val_dataloader.dataset.data_root={root}',
        f'test_dataloader.dataset.data_root={root}',
        f'model.backbone.init_cfg.checkpoint={ckpt}',
    ]


def _ckpt(path):
    return torch.load(path, map_location='cpu', weights_only=False)


def _metric(text, key):
    """The last logged value of ``key`` (e.g. ``visda/mean_class_acc``)."""
    values = re.findall(re.escape(key) + r': (-?[0-9.]+|nan)', text)
    assert values, f'{key} not in the log'
    return float(values[-1])


def _tiny_variant(real_cfg, tmp_path):
    """The tiny single-view body of ``tiny_resnet_visda17.py`` on top of another shipped
    single-view config (oracle, feature l2, L2-SP), so that the shipped file itself is run."""
    with open(PLAIN_CFG) as f:
        text = f.read()
    assert text.count(PLAIN_BASE) == 1
    path = tmp_path / f'tiny_{real_cfg}'
    path.write_text(text.replace(PLAIN_BASE, repr(osp.join(REPO, 'configs', 'csg', real_cfg))))
    return str(path)


@pytest.mark.slow
def test_csg_train_validate_test_resume(visda_root, tiny_cls_imagenet_ckpt, tmp_path):
    opts = _opts(visda_root, tiny_cls_imagenet_ckpt)
    work = str(tmp_path / 'work')
    out = run_tool(['tools/train.py', CSG_CFG, '--work-dir', work, '--cfg-options', *opts])
    log = out.stdout + out.stderr
    for key in ('csg.loss_stage3', 'csg.acc_stage3', 'csg.loss_stage4', 'csg.acc_stage4',
                'loss: ', 'Epoch(val) [2]', 'visda/mean_class_acc', 'visda/acc_skateboard',
                'diversity/energy_s0', 'diversity/energy_s2'):
        assert key in log, key
    assert 0.0 <= _metric(log, 'visda/mean_class_acc') <= 100.0
    assert _metric(log, 'diversity/energy_s0') > 0  # post-ReLU features: positive E_0
    assert osp.isfile(osp.join(work, 'epoch_1.pth'))
    ckpt = _ckpt(osp.join(work, 'epoch_2.pth'))
    state = ckpt['state_dict']
    iters = 2 * ITERS_PER_EPOCH
    assert ckpt['meta']['epoch'] == 2 and ckpt['meta']['iter'] == iters
    for stage in (3, 4):
        assert state[f'regularizer.head.queue_ptr_stage{stage}'].item() == (iters * 4) % QUEUE_LEN
    assert state['regularizer.neck.key_projs.0.steps'].item() == iters

    # the frozen teacher still holds the "ImageNet" weights; the student has moved
    imagenet = torch.load(tiny_cls_imagenet_ckpt, map_location='cpu')
    for name, value in imagenet.items():
        torch.testing.assert_close(state[f'regularizer.teacher.backbone.{name}'], value)
    assert any(not torch.equal(state[f'backbone.{n}'], v) for n, v in imagenet.items())

    # tools/test.py with the CSG config: both metrics, the validation numbers again (the test
    # split is the validation split)
    ckpt_path = osp.join(work, 'epoch_2.pth')
    res = run_tool(['tools/test.py', CSG_CFG, ckpt_path, '--work-dir', str(tmp_path / 'test'),
                    '--cfg-options', *opts])
    text = res.stdout + res.stderr
    assert 'VisDA-2017 per-class accuracy' in text and 'diversity/energy_s0' in text
    assert _metric(text, 'visda/mean_class_acc') == _metric(log, 'visda/mean_class_acc')

    # the authors' flip-averaged protocol, with the plain (non-CSG) config on the CSG checkpoint:
    # tools/test.py --tta (class scores averaged over the image and its mirror)
    res = run_tool(['tools/test.py', PLAIN_CFG, ckpt_path, '--tta', '--work-dir',
                    str(tmp_path / 'test_tta'), '--cfg-options', *opts,
                    'test_evaluator.flip_average=True'])
    text = res.stdout + res.stderr
    assert 'per-class accuracy (flip-averaged predictions)' in text
    assert 0.0 <= _metric(text, 'visda/mean_class_acc') <= 100.0
    # and with the CSG config, whose evaluator has the energy metric: the merged (flip-averaged)
    # predictions keep their diversity features (CSGAverageClsScoreTTA)
    res = run_tool(['tools/test.py', CSG_CFG, ckpt_path, '--tta', '--work-dir',
                    str(tmp_path / 'test_tta_csg'), '--cfg-options', *opts])
    text = res.stdout + res.stderr
    assert 'diversity/energy_s0' in text

    # resume (latest checkpoint of the work dir) and continue for one more epoch
    out = run_tool(['tools/train.py', CSG_CFG, '--work-dir', work, '--resume', '--cfg-options',
                    *opts, 'train_cfg.max_epochs=3', 'param_scheduler.1.end=3'])
    log = out.stdout + out.stderr
    assert 'Epoch(train) [3]' in log and 'Epoch(train) [1]' not in log
    assert 'csg.loss_stage4' in log and 'visda/mean_class_acc' in log
    state = _ckpt(osp.join(work, 'epoch_3.pth'))['state_dict']
    iters = 3 * ITERS_PER_EPOCH
    # the queue pointer and the momentum steps continued from the checkpoint
    assert state['regularizer.head.queue_ptr_stage4'].item() == (iters * 4) % QUEUE_LEN
    assert state['regularizer.neck.key_projs.1.steps'].item() == iters


BASELINES = {
    # shipped config: (logged regulariser keys, keys that must not be logged)
    'resnet101_4xb8-30e_visda17.py': ((), ('csg.', 'feat_l2.', 'l2sp.')),
    'resnet101_oracle_4xb8-30e_visda17.py': ((), ('csg.', 'feat_l2.', 'l2sp.')),
    'resnet101_feat-l2_4xb8-30e_visda17.py': (('feat_l2.loss_stage4', ), ('csg.', 'l2sp.')),
    'resnet101_l2sp_4xb8-30e_visda17.py': (('l2sp.loss_weight_l2', ), ('csg.', 'feat_l2.')),
}


@pytest.mark.slow
@pytest.mark.parametrize('real_cfg', list(BASELINES), ids=['vanilla', 'oracle', 'feat-l2', 'l2sp'])
def test_baseline_trains(real_cfg, visda_root, tiny_cls_imagenet_ckpt, tmp_path):
    cfg = PLAIN_CFG if real_cfg == 'resnet101_4xb8-30e_visda17.py' else _tiny_variant(
        real_cfg, tmp_path)
    work = str(tmp_path / 'work')
    oracle = 'oracle' in real_cfg
    extra = []
    if oracle:  # save every iteration, train the head fast
        extra = ['default_hooks.checkpoint.by_epoch=False', 'default_hooks.checkpoint.interval=1',
                  'optim_wrapper.optimizer.lr=0.1']
    out = run_tool(['tools/train.py', cfg, '--work-dir', work, '--cfg-options',
                    *_opts(visda_root, tiny_cls_imagenet_ckpt), *extra])
    log = out.stdout + out.stderr
    logged, absent = BASELINES[real_cfg]
    for key in (*logged, 'loss: ', 'visda/mean_class_acc', 'diversity/energy_s0'):
        assert key in log, key
    for key in absent:
        assert f'{key}loss' not in log, key
    imagenet = torch.load(tiny_cls_imagenet_ckpt, map_location='cpu')
    if not oracle:
        state = _ckpt(osp.join(work, 'epoch_1.pth'))['state_dict']
        assert any(not torch.equal(state[f'backbone.{n}'], v) for n, v in imagenet.items())
        return
    # ImageNet oracle: the backbone (weights and BN statistics) stays the ImageNet one, the new
    # head trains
    first = _ckpt(osp.join(work, 'iter_1.pth'))['state_dict']
    last = _ckpt(osp.join(work, 'iter_3.pth'))['state_dict']
    for name, value in imagenet.items():
        torch.testing.assert_close(last[f'backbone.{name}'], value, msg=name)
    head = [n for n in last if n.startswith('head.')]
    assert head and any(not torch.equal(first[n], last[n]) for n in head)

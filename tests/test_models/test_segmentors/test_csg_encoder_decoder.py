"""CSGEncoderDecoder: one student pass, csg.* losses, stock predict, iteration-0 signature."""
import copy
import math

import pytest
import torch
from mmengine.config import ConfigDict
from mmengine.registry import init_default_scope
from mmengine.structures import PixelData
from mmseg.registry import MODELS
from mmseg.structures import SegDataSample

import csg_mm  # noqa: F401
from csg_mm.engine import CSGMomentumHook


def _model_cfg(backbone, regularizer='default', **kwargs):
    cfg = ConfigDict(
        type='CSGEncoderDecoder',
        data_preprocessor=dict(type='CSGSegDataPreProcessor', size=(32, 32)),
        backbone=copy.deepcopy(backbone),
        decode_head=dict(type='DeepLabV2Head', in_channels=64, in_index=3, channels=64,
                         num_classes=19, dropout_ratio=0.0),
        test_cfg=dict(mode='whole'))
    if regularizer == 'default':
        cfg['regularizer'] = dict(
            type='CSGRegularizer', stages=(3, 4),
            pool=dict(type='CSGPooling', pool_type='apool', grid=2),
            head=dict(type='CSGContrastiveHead', queue_len=65536, loss_weight=1.0), **kwargs)
    else:
        cfg['regularizer'] = regularizer
    return cfg


def _samples(n, size=32):
    out = []
    for _ in range(n):
        s = SegDataSample()
        s.gt_sem_seg = PixelData(data=torch.randint(0, 19, (1, size, size)))
        s.set_metainfo(dict(img_shape=(size, size), ori_shape=(size, size),
                            pad_shape=(size, size), padding_size=[0, 0, 0, 0]))
        out.append(s)
    return out


@pytest.fixture
def built(tiny_backbone_cfg):
    init_default_scope('mmseg')
    torch.manual_seed(0)
    model = MODELS.build(_model_cfg(tiny_backbone_cfg))
    model.init_weights()
    model.train()
    return model


def test_loss_keys_and_one_student_pass(built, monkeypatch):
    calls = []
    orig = built.backbone.forward
    monkeypatch.setattr(built.backbone, 'forward', lambda x: calls.append(x.shape) or orig(x))
    x = torch.rand(2, 3, 32, 32)
    losses = built.loss([x, x.flip(-1)], _samples(2))
    assert {'decode.loss_ce', 'decode.acc_seg', 'csg.loss_stage3', 'csg.acc_stage3',
            'csg.loss_stage4', 'csg.acc_stage4'} <= set(losses)
    # one student pass with gradients + one no-grad eval pass on the key view (paper-exact)
    assert len(calls) == 2
    total = sum(v for k, v in losses.items() if 'loss' in k)
    total.backward()
    assert all(p.grad is None for p in built.regularizer.teacher.parameters())
    assert all(p.grad is None for p in built.regularizer.neck.key_projs.parameters())
    assert any(p.grad is not None for p in built.regularizer.neck.query_projs.parameters())


@pytest.mark.parametrize('attention', ['key', 'anchor'])
def test_no_grad_passes_run_before_the_student_and_change_nothing(tiny_backbone_cfg,
                                                                  monkeypatch, attention):
    """The teacher (and the key-view student pass) run first, without a graph; the losses equal
    those of running them after the student's pass (the regulariser on its own)."""
    init_default_scope('mmseg')
    torch.manual_seed(0)
    model = MODELS.build(_model_cfg(tiny_backbone_cfg, attention=attention))
    model.init_weights()
    model.train()
    twin = copy.deepcopy(model)
    order = []
    teacher_fwd, student_fwd = model.regularizer.teacher.forward, model.backbone.forward
    monkeypatch.setattr(model.regularizer.teacher, 'forward',
                        lambda x: order.append(('teacher', torch.is_grad_enabled()))
                        or teacher_fwd(x))
    monkeypatch.setattr(model.backbone, 'forward',
                        lambda x: order.append(('student', torch.is_grad_enabled()))
                        or student_fwd(x))
    x, x_k = torch.rand(2, 3, 32, 32), torch.rand(2, 3, 32, 32)
    losses = model.loss([x, x_k], _samples(2))
    expected = [('student', False)] if attention == 'key' else []
    assert order == [('teacher', False)] + expected + [('student', True)]
    feats = twin.backbone(x)
    ref = twin.regularizer.prefixed_loss(feats, x, x_k, twin.backbone)  # prepared inside
    for k, v in ref.items():
        torch.testing.assert_close(losses[k], v)


def test_anchor_attention_uses_one_student_pass(tiny_backbone_cfg, monkeypatch):
    init_default_scope('mmseg')
    model = MODELS.build(_model_cfg(tiny_backbone_cfg, attention='anchor'))
    model.init_weights()
    calls = []
    orig = model.backbone.forward
    monkeypatch.setattr(model.backbone, 'forward', lambda x: calls.append(1) or orig(x))
    x = torch.rand(2, 3, 32, 32)
    model.loss([x, x], _samples(2))
    assert len(calls) == 1


def test_predict_and_forward_equal_encoder_decoder(built, tiny_backbone_cfg):
    plain_cfg = _model_cfg(tiny_backbone_cfg)
    plain_cfg['type'] = 'EncoderDecoder'
    plain_cfg['data_preprocessor']['type'] = 'SegDataPreProcessor'
    plain_cfg.pop('regularizer')
    plain = MODELS.build(plain_cfg)
    missing = plain.load_state_dict(built.state_dict(), strict=False)
    assert not missing.missing_keys
    assert all(k.startswith('regularizer.') for k in missing.unexpected_keys)
    built.eval()
    plain.eval()
    x = torch.rand(1, 3, 32, 32)
    with torch.no_grad():
        torch.testing.assert_close(built._forward(x), plain._forward(x))
        a = built.predict(x, _samples(1))[0].seg_logits.data
        b = plain.predict(x, _samples(1))[0].seg_logits.data
    torch.testing.assert_close(a, b)
    # CSG results also carry the 8 x 8-patch features of the last stage for the energy metric
    feat = built.predict(x, _samples(1))[0].diversity_feat
    assert feat.shape == (16, 64)  # 4 x 4 last-stage map at 32 x 32: grid 8 clamped to 4


def test_iteration_zero_signature(built):
    """Student = teacher, h~ = h, identical views: the positive logit is 1/t and the loss is
    about log(1 + K exp(1/(2*128*t^2)) exp(-1/t)) = 0.087 per stage, not log(K + 1) = 11.09."""
    from types import SimpleNamespace
    hook = CSGMomentumHook()
    runner = SimpleNamespace(model=built, logger=None)
    hook.before_train(runner)
    hook.before_train_iter(runner, 0)
    x = torch.rand(4, 3, 32, 32)
    losses = built.loss([x, x], _samples(4))
    expected = math.log(1 + 65536 * math.exp(1 / (2 * 128 * 0.07**2)) * math.exp(-1 / 0.07))
    for stage in (3, 4):
        assert losses[f'csg.loss_stage{stage}'].item() == pytest.approx(expected, rel=0.25)
        assert losses[f'csg.acc_stage{stage}'].item() == pytest.approx(100.0)


def test_no_regularizer_trains_like_encoder_decoder(tiny_backbone_cfg):
    init_default_scope('mmseg')
    model = MODELS.build(_model_cfg(tiny_backbone_cfg, regularizer=None))
    losses = model.loss(torch.rand(2, 3, 32, 32), _samples(2))
    assert not any(k.startswith('csg.') for k in losses)


def test_amp_bf16_step(built):
    x = torch.rand(2, 3, 32, 32)
    with torch.autocast('cpu', dtype=torch.bfloat16):
        losses = built.loss([x, x], _samples(2))
    assert losses['csg.loss_stage4'].dtype == torch.float32
    sum(v for k, v in losses.items() if 'loss' in k).backward()


def test_amp_optim_wrapper_bf16_train_step(built, monkeypatch):
    """A step through mmengine's AmpOptimWrapper (optim_context + update_params, as
    BaseModel.train_step runs it). The wrapper refuses to be built without a GPU; its CPU path
    (mmengine's autocast) is bfloat16, which is what runs here."""
    from mmengine.optim import build_optim_wrapper
    from mmengine.optim.optimizer import amp_optimizer_wrapper
    monkeypatch.setattr(amp_optimizer_wrapper, 'is_cuda_available', lambda: True)
    wrapper = build_optim_wrapper(built, dict(type='AmpOptimWrapper', dtype='bfloat16',
                                              optimizer=dict(type='SGD', lr=0.1)))
    teacher = {k: v.clone() for k, v in built.regularizer.teacher.state_dict().items()}
    before = built.regularizer.neck.query_projs[0][0].weight.detach().clone()
    with wrapper.optim_context(built):
        losses = built.loss([torch.rand(2, 3, 32, 32), torch.rand(2, 3, 32, 32)], _samples(2))
    assert losses['csg.loss_stage4'].dtype == torch.float32
    parsed, _ = built.parse_losses(losses)
    wrapper.update_params(parsed)
    assert torch.isfinite(parsed)
    assert not torch.equal(before, built.regularizer.neck.query_projs[0][0].weight)
    for k, v in built.regularizer.teacher.state_dict().items():
        assert torch.equal(v, teacher[k]), k


def test_fp16_autocast_step(built):
    """float16 autocast (CUDA AMP's dtype, here on CPU): the A-pool attention and the InfoNCE
    run in float32, so the CSG losses are finite float32 and gradients reach the student."""
    x = torch.rand(2, 3, 32, 32)
    with torch.autocast('cpu', dtype=torch.float16):
        losses = built.loss([x, x.flip(-1)], _samples(2))
    for stage in (3, 4):
        loss = losses[f'csg.loss_stage{stage}']
        assert loss.dtype == torch.float32 and torch.isfinite(loss)
    sum(v for k, v in losses.items() if 'loss' in k).backward()
    grad = built.backbone.layer3[0].conv1.weight.grad
    assert grad is not None and torch.isfinite(grad).all()

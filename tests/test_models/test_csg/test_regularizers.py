"""CSGRegularizer / comparisons: build-time checks, teacher, both attention modes."""
import copy

import pytest
import torch
from mmseg.registry import MODELS

from csg_mm.models.csg import (
    CSGRegularizer,
    FeatureL2Regularizer,
    FrozenTeacher,
    L2SPRegularizer,
    build_regularizer,
)


def _csg_cfg(**kwargs):
    cfg = dict(
        type='CSGRegularizer',
        stages=(3, 4),
        pool=dict(type='CSGPooling', pool_type='apool', grid=2),
        head=dict(type='CSGContrastiveHead', queue_len=64),
    )
    cfg.update(kwargs)
    return cfg


def _student(cfg):
    backbone = MODELS.build(copy.deepcopy(cfg))
    backbone.init_weights()
    backbone.train()
    return backbone


def test_channels_inferred_and_teacher_frozen(tiny_backbone_cfg):
    reg = build_regularizer(_csg_cfg(), tiny_backbone_cfg, MODELS)
    assert isinstance(reg, CSGRegularizer) and isinstance(reg.teacher, FrozenTeacher)
    assert reg.in_channels == [32, 64]  # layer3 / layer4 of ResNet-18 at 1/8 width
    assert all(not p.requires_grad for p in reg.teacher.parameters())
    reg.train()
    assert not reg.teacher.training and not any(m.training for m in reg.teacher.modules())


def test_stage_not_output_is_a_build_time_error(tiny_backbone_cfg):
    cfg = dict(tiny_backbone_cfg, out_indices=(3, ))
    with pytest.raises(ValueError, match=r'stage\(s\) \[3\] are not outputs .* outputs stages '
                       r'\[4\]'):
        build_regularizer(_csg_cfg(), cfg, MODELS)
    with pytest.raises(ValueError, match='in_channels is inferred'):
        build_regularizer(_csg_cfg(neck=dict(type='CSGProjectionNeck', in_channels=[1, 2])),
                          tiny_backbone_cfg, MODELS)
    with pytest.raises(ValueError, match='attention'):
        build_regularizer(_csg_cfg(attention='teacher'), tiny_backbone_cfg, MODELS)


def test_teacher_init_cfg_override(tiny_backbone_cfg, tmp_path):
    other = MODELS.build(copy.deepcopy(tiny_backbone_cfg))
    with torch.no_grad():
        for p in other.parameters():
            p.fill_(0.5)
    path = tmp_path / 'other.pth'
    torch.save(other.state_dict(), path)
    reg = build_regularizer(
        _csg_cfg(teacher_init_cfg=dict(type='Pretrained', checkpoint=str(path))),
        tiny_backbone_cfg, MODELS)
    reg.init_weights()
    assert all((p == 0.5).all() for p in reg.teacher.parameters())


@pytest.mark.parametrize('attention', ['key', 'anchor'])
def test_identical_views_give_identical_embeddings_at_init(tiny_backbone_cfg, attention):
    reg = build_regularizer(_csg_cfg(attention=attention), tiny_backbone_cfg, MODELS)
    reg.init_weights()
    reg.neck.momentum_update()  # h~ = h, as the hook does before iteration 0
    student = _student(tiny_backbone_cfg)
    x = torch.rand(2, 3, 32, 32)
    queries, keys = reg.embed(student(x), x, student)
    for q, k in zip(queries, keys):
        assert q.shape == (2 * 4, 128)
        torch.testing.assert_close(q, k, rtol=1e-4, atol=1e-5)
        assert q.requires_grad and not k.requires_grad


def test_key_attention_comes_from_the_student_on_the_key_view(tiny_backbone_cfg):
    reg_key = build_regularizer(_csg_cfg(attention='key'), tiny_backbone_cfg, MODELS)
    reg_anchor = build_regularizer(_csg_cfg(attention='anchor'), tiny_backbone_cfg, MODELS)
    for reg in (reg_key, reg_anchor):
        reg.init_weights()
    reg_anchor.neck.load_state_dict(reg_key.neck.state_dict())
    student = _student(tiny_backbone_cfg)
    x_q, x_k = torch.rand(1, 3, 32, 32), torch.rand(1, 3, 32, 32)
    feats = student(x_q)
    _, keys_key = reg_key.embed(feats, x_k, student)
    _, keys_anchor = reg_anchor.embed(feats, x_k, student)
    assert not torch.allclose(keys_key[0], keys_anchor[0])
    # paper-exact: attention from the student's own features of the key view
    with torch.no_grad():
        attn = reg_key.select(student(x_k))
        teacher = reg_key.select(reg_key.teacher(x_k))
        ref = reg_key.neck.forward_key([reg_key.pool(t, a) for t, a in zip(teacher, attn)])
    torch.testing.assert_close(keys_key[0], ref[0])
    assert student.training  # restored after the eval-mode key pass


def test_teacher_and_key_view_passes_build_no_graph(tiny_backbone_cfg, monkeypatch):
    reg = build_regularizer(_csg_cfg(attention='key'), tiny_backbone_cfg, MODELS)
    student = _student(tiny_backbone_cfg)
    grad_modes = []
    orig = student.forward
    monkeypatch.setattr(student, 'forward',
                        lambda x: grad_modes.append((torch.is_grad_enabled(),
                                                     student.training)) or orig(x))
    x = torch.rand(1, 3, 32, 32)
    feats = student(x)
    t_out = reg.teacher(x)
    assert all(t.grad_fn is None and not t.requires_grad for t in t_out)
    queries, keys = reg.embed(feats, x, student)
    # the first call is the anchor pass (graph, train mode); the key pass has no graph, eval mode
    assert grad_modes == [(True, True), (False, False)]
    assert all(k.grad_fn is None for k in keys) and all(q.grad_fn is not None for q in queries)


def test_loss_enqueues_keys(tiny_backbone_cfg):
    reg = build_regularizer(_csg_cfg(), tiny_backbone_cfg, MODELS)
    reg.init_weights()
    student = _student(tiny_backbone_cfg)
    x = torch.rand(2, 3, 32, 32)
    losses = reg.prefixed_loss(student(x), x, x, student)
    assert set(losses) == {'csg.loss_stage3', 'csg.acc_stage3', 'csg.loss_stage4',
                           'csg.acc_stage4'}
    assert reg.head.queue_ptr(3).item() == 8 and reg.head.queue_ptr(4).item() == 8


def test_comparison_regularizers_zero_at_init_positive_after_moving(tiny_backbone_cfg):
    for cfg in (dict(type='FeatureL2Regularizer', stages=(3, 4)),
                dict(type='L2SPRegularizer', loss_weight=1.0)):
        reg = build_regularizer(cfg, tiny_backbone_cfg, MODELS)
        assert isinstance(reg, (FeatureL2Regularizer, L2SPRegularizer))
        reg.init_weights()
        student = _student(tiny_backbone_cfg)
        x = torch.rand(2, 3, 32, 32)
        loss = sum(reg.loss(student(x), x, x, student).values())
        assert loss.item() == pytest.approx(0.0, abs=1e-10)
        with torch.no_grad():
            for p in student.parameters():
                if p.requires_grad:
                    p.add_(0.01)
        loss = sum(reg.loss(student(x), x, x, student).values())
        assert loss.item() > 0
        loss.backward()

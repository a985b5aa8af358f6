"""Tests of csg_mm's DeepLabV2Head (sum of dilated 3x3 classifiers)."""
import pytest
import torch
import torch.nn.functional as F
from mmengine.structures import PixelData
from mmseg.registry import MODELS
from mmseg.structures import SegDataSample

from csg_mm.models.decode_heads import DeepLabV2Head


def _inputs(channels=16, size=(9, 11), batch=2):
    torch.manual_seed(0)
    return tuple(torch.randn(batch, c, *size) for c in (4, 8, 12, channels))


def test_build_from_registry_and_defaults():
    head = MODELS.build(dict(type='DeepLabV2Head'))
    assert isinstance(head, DeepLabV2Head)
    assert head.in_channels == 2048 and head.in_index == -1 and head.num_classes == 19
    assert head.dilations == (6, 12, 18, 24)
    assert head.dropout is None
    assert len(head.conv_seg) == 4
    for conv, d in zip(head.conv_seg, (6, 12, 18, 24)):
        assert conv.in_channels == 2048 and conv.out_channels == 19
        assert conv.kernel_size == (3, 3)
        assert conv.dilation == (d, d) and conv.padding == (d, d)
        assert conv.bias is not None
    # only the four branch convolutions: no extra 1x1 classifier or channel layer
    convs = [m for m in head.modules() if isinstance(m, torch.nn.Conv2d)]
    assert len(convs) == 4


def test_output_shape_uses_last_stage():
    head = DeepLabV2Head(in_channels=16, num_classes=5)
    out = head(_inputs(16, (9, 11)))
    assert out.shape == (2, 5, 9, 11)
    out = DeepLabV2Head(in_channels=2048, num_classes=19)(
        (torch.randn(1, 2048, 8, 8), ))
    assert out.shape == (1, 19, 8, 8)


def test_output_is_sum_of_branches():
    head = DeepLabV2Head(in_channels=16, num_classes=5)
    head.init_weights()
    for conv in head.conv_seg:  # non-zero biases so that they count too
        torch.nn.init.normal_(conv.bias)
    inputs = _inputs(16, (13, 10))
    x = inputs[-1]
    expected = sum(
        F.conv2d(x, conv.weight, conv.bias, padding=d, dilation=d)
        for conv, d in zip(head.conv_seg, (6, 12, 18, 24)))
    branch_sum = sum(conv(x) for conv in head.conv_seg)
    out = head(inputs)
    torch.testing.assert_close(out, expected)
    torch.testing.assert_close(out, branch_sum)


def test_dilations_configurable():
    head = DeepLabV2Head(in_channels=8, num_classes=3, dilations=(1, 3))
    assert head.dilations == (1, 3) and len(head.conv_seg) == 2
    assert [c.dilation for c in head.conv_seg] == [(1, 1), (3, 3)]
    assert [c.padding for c in head.conv_seg] == [(1, 1), (3, 3)]
    x = torch.randn(1, 8, 7, 7)
    out = head((x, ))
    ref = sum(F.conv2d(x, c.weight, c.bias, padding=d, dilation=d)
              for c, d in zip(head.conv_seg, (1, 3)))
    torch.testing.assert_close(out, ref)
    with pytest.raises(ValueError):
        DeepLabV2Head(in_channels=8, num_classes=3, dilations=())
    with pytest.raises(ValueError):
        DeepLabV2Head(in_channels=8, num_classes=3, dilations=(0, 2))


def test_single_feature_map_only():
    with pytest.raises(ValueError):
        DeepLabV2Head(in_channels=8, num_classes=3, input_transform='resize_concat')
    with pytest.raises(TypeError):
        DeepLabV2Head(in_channels=[8, 8], in_index=[2, 3], num_classes=3)


def test_init_weights_normal_001_bias_zero():
    head = DeepLabV2Head(in_channels=512, num_classes=19)
    for conv in head.conv_seg:
        torch.nn.init.constant_(conv.weight, 1.0)
        torch.nn.init.constant_(conv.bias, 1.0)
    head.init_weights()
    for conv in head.conv_seg:
        assert torch.all(conv.bias == 0)
        assert abs(conv.weight.std().item() - 0.01) < 1e-3
        assert abs(conv.weight.mean().item()) < 1e-3


def test_channels_argument_is_ignored():
    head = DeepLabV2Head(in_channels=8, num_classes=3, channels=512)
    assert head.conv_seg[0].in_channels == 8


def _samples(batch, size, num_classes):
    samples = []
    for _ in range(batch):
        label = torch.randint(0, num_classes, (1, *size))
        label[0, 0, :5] = 255  # ignored pixels
        s = SegDataSample()
        s.gt_sem_seg = PixelData(data=label)
        samples.append(s)
    return samples


def test_loss_by_feat_and_backward():
    head = DeepLabV2Head(in_channels=16, num_classes=5)
    inputs = _inputs(16, (8, 8))
    samples = _samples(2, (32, 32), 5)  # labels at 4x the logits' resolution
    logits = head(inputs)
    losses = head.loss_by_feat(logits, samples)
    assert set(losses) == {'loss_ce', 'acc_seg'}
    assert torch.isfinite(losses['loss_ce']) and losses['loss_ce'] > 0
    losses['loss_ce'].backward()
    assert all(c.weight.grad is not None and c.weight.grad.abs().sum() > 0
               for c in head.conv_seg)
    losses = head.loss(inputs, samples, train_cfg=dict())
    assert torch.isfinite(losses['loss_ce'])


def test_predict_resizes_to_input():
    head = DeepLabV2Head(in_channels=16, num_classes=5)
    out = head.predict(_inputs(16, (8, 8), batch=1), [dict(img_shape=(32, 32))], test_cfg=dict())
    assert out.shape == (1, 5, 32, 32)

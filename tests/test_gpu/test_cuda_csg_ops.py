"""CSG's own kernels on the GPU against float64 CPU references: the fused InfoNCE, A-pool
(forward and backward, float32 and under float16 / bfloat16 autocast) and the queue update.

Bounds are on ``||out - ref|| / ||ref||`` (``rel_err``): values computed in float32 (the InfoNCE
always, the A-pool attention always) within 1e-4; values stored in a half type within two of its
epsilons (float16: 2 * 2**-10, bfloat16: 2 * 2**-7), i.e. a rounding or two. The reference gets
the very inputs the kernel gets (the half-rounded ones under autocast), upcast to float64.
"""
import copy

import pytest
import torch
import torch.nn.functional as F

from csg_mm.models.csg import CSGContrastiveHead, apool
from csg_mm.models.csg.queue_info_nce import queue_info_nce
from tests.test_models.test_csg.test_pooling import _apool_ref, _patches
from tests.test_models.test_csg.test_queue_info_nce import dense_reference

pytestmark = pytest.mark.gpu
AUTOCAST = [None, torch.float16, torch.bfloat16]
FLOAT32_BOUND = 1e-4


def _bound(dtype) -> float:
    return FLOAT32_BOUND if dtype in (None, torch.float32) else 2 * torch.finfo(dtype).eps


def _autocast(device, dtype):
    return torch.autocast(device.type, dtype=dtype, enabled=dtype is not None)


@pytest.mark.parametrize('chunk', [None, 1000])
@pytest.mark.parametrize('dtype', AUTOCAST, ids=str)
def test_fused_info_nce_matches_the_dense_float64_loss(device, rel_err, dtype, chunk):
    """The paper's GTA5 setting: N = 2 images x 8 x 8 patches, D = 128, K = 65,536, t = 0.07;
    the query is a linear layer's output, so under autocast it arrives in the half type. On the
    CPU (dry run) K = 4,096."""
    torch.manual_seed(0)
    n, d, k = 128, 128, 65536 if device.type == 'cuda' else 4096
    queue = F.normalize(torch.randn(k, d, device=device), dim=1)
    x = torch.randn(n, d, device=device)
    weight = (torch.randn(d, d, device=device) / d**0.5).requires_grad_()
    key = torch.randn(n, d, device=device)
    upstream = torch.rand(n, device=device)  # a non-uniform incoming gradient
    with _autocast(device, dtype):
        query = x @ weight
        query.retain_grad()
        nce, pos, max_neg = queue_info_nce(query, key, queue, 0.07, chunk)
    assert query.dtype == (dtype or torch.float32)
    assert nce.dtype == pos.dtype == max_neg.dtype == torch.float32
    (nce * upstream).sum().backward()

    q64 = query.detach().double().cpu().requires_grad_()
    ref, ref_pos, ref_max = dense_reference(q64, key.double().cpu(), queue.double().cpu(), 0.07)
    (ref * upstream.double().cpu()).sum().backward()
    assert rel_err(nce, ref) < FLOAT32_BOUND
    assert rel_err(pos, ref_pos) < FLOAT32_BOUND
    assert rel_err(max_neg, ref_max) < FLOAT32_BOUND
    assert query.grad.dtype == query.dtype
    assert rel_err(query.grad, q64.grad) < _bound(dtype)


def _apool_reference(v, u, grid):
    """A-pool per patch, written as the paper's equation (test_pooling's ``_apool_ref``)."""
    out = [[_apool_ref(pv[b], pu[b]) for pv, pu in zip(_patches(v, grid), _patches(u, grid))]
           for b in range(v.shape[0])]
    return torch.stack([torch.stack(row) for row in out]).reshape(-1, v.shape[1])


@pytest.mark.parametrize('separate', [False, True], ids=['self-attention', 'key-attention'])
@pytest.mark.parametrize('divides', [True, False], ids=['grid-divides', 'uneven-grid'])
@pytest.mark.parametrize('dtype', AUTOCAST, ids=str)
def test_apool_forward_and_backward_match_the_float64_equation(device, rel_err, dtype, divides,
                                                               separate):
    """8 x 8 grid on maps of a 512 x 512 crop at output stride 8 (64 x 64; the fast path) and on
    a map the grid does not divide (the general path); post-ReLU inputs, in the half type under
    autocast as a convolution would give them. Fewer channels on the CPU (dry run)."""
    torch.manual_seed(0)
    channels = 256 if device.type == 'cuda' else 32
    shape = (2, channels, 64, 64) if divides else (2, channels, 65, 63)
    grid = 8
    feat_dtype = dtype or torch.float32
    v = F.relu(torch.randn(shape, device=device)).to(feat_dtype).requires_grad_()
    u = (F.relu(torch.randn(shape, device=device)).to(feat_dtype).requires_grad_()
         if separate else None)
    with _autocast(device, dtype):
        out = apool(v, grid, u)
    upstream = torch.randn(out.shape, device=device)
    out.backward(upstream.to(out.dtype))

    v64 = v.detach().double().cpu().requires_grad_()
    u64 = u.detach().double().cpu().requires_grad_() if separate else v64
    ref = _apool_reference(v64, u64, grid)
    ref.backward(upstream.double().cpu())
    assert out.shape == ref.shape and out.dtype == feat_dtype
    assert rel_err(out, ref) < _bound(dtype)
    assert rel_err(v.grad, v64.grad) < _bound(dtype)
    if separate:
        assert rel_err(u.grad, u64.grad) < _bound(dtype)


@pytest.mark.parametrize('dtype', AUTOCAST, ids=str)
def test_queue_update_wraps_around(device, dtype):
    """Hand-computed positions: K = 100, pointer at 90: 30 keys fill rows 90..99 then 0..19
    (pointer 20); 250 keys: only the newest 100 survive, written from row (20 + 250 - 100) % 100
    = 70 on (pointer 70). Keys arrive in the half type under autocast; the queue stays float32
    unit vectors."""
    torch.manual_seed(0)
    head = CSGContrastiveHead(stages=(3, 4), feat_dim=16, queue_len=100).to(device)
    head.queue_ptr(3)[0] = 90
    head.queue_ptr(4)[0] = 90
    before = copy.deepcopy(head.queue(4))
    keys = [torch.randn(30, 16, device=device).to(dtype or torch.float32) for _ in range(2)]
    head.enqueue(keys)
    for stage, key in zip((3, 4), keys):
        want = F.normalize(key.float(), dim=1)
        queue = head.queue(stage)
        assert queue.dtype == torch.float32 and queue.device.type == device.type
        torch.testing.assert_close(queue[90:], want[:10])
        torch.testing.assert_close(queue[:20], want[10:])
        assert int(head.queue_ptr(stage)) == 20
    torch.testing.assert_close(head.queue(4)[20:90], before[20:90])  # untouched rows

    many = [torch.randn(250, 16, device=device).to(dtype or torch.float32) for _ in range(2)]
    head.enqueue(many)
    for stage, key in zip((3, 4), many):
        want = F.normalize(key[-100:].float(), dim=1)
        torch.testing.assert_close(head.queue(stage)[70:], want[:30])
        torch.testing.assert_close(head.queue(stage)[:70], want[30:])
        assert int(head.queue_ptr(stage)) == 70

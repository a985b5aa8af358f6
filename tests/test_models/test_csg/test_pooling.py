"""Pooling against DESIGN.md 1.1: GAP, A-pool, n x n grid chunking."""
import pytest
import torch

from csg_mm.models.csg import CSGPooling, apool, apool_attention, gap_pool


def _patches(x, n):
    """Reference chunking: torch.tensor_split borders, row-major patch order."""
    out = []
    for rows in torch.tensor_split(x, n, dim=2):
        for patch in torch.tensor_split(rows, n, dim=3):
            out.append(patch)
    return out


def _apool_ref(v, u):
    """A-pool of one (C, h, w) patch v with the attention from u, written as in the paper."""
    vbar = u.mean(dim=(1, 2))
    scores = torch.einsum('chw,c->hw', u, vbar)
    a = scores / scores.sum()
    return torch.einsum('hw,chw->c', a, v)


@pytest.mark.parametrize('shape,grid', [((2, 3, 4, 4), 1), ((2, 3, 8, 8), 2), ((1, 5, 7, 9), 3)])
def test_gap_matches_patch_means(shape, grid):
    x = torch.rand(shape)
    got = gap_pool(x, grid)
    ref = torch.stack([torch.stack([p[b].mean(dim=(1, 2)) for p in _patches(x, grid)])
                       for b in range(shape[0])]).reshape(-1, shape[1])
    torch.testing.assert_close(got, ref)


@pytest.mark.parametrize('shape,grid', [((2, 4, 4, 4), 1), ((2, 4, 8, 8), 2), ((1, 3, 7, 9), 3)])
def test_apool_matches_equation(shape, grid):
    v = torch.rand(shape, dtype=torch.float64)
    u = torch.rand(shape, dtype=torch.float64)
    for attn, src in ((None, v), (u, u)):
        got = apool(v, grid, attn)
        ref = torch.stack([
            torch.stack([_apool_ref(pv[b], pu[b])
                         for pv, pu in zip(_patches(v, grid), _patches(src, grid))])
            for b in range(shape[0])
        ]).reshape(-1, shape[1])
        torch.testing.assert_close(got, ref)


def test_apool_weights_sum_to_one_per_patch_and_uniform_features_give_gap():
    x = torch.rand(2, 3, 8, 8)
    w = apool_attention(x, grid=2).reshape(2, 2, 4, 2, 4)
    torch.testing.assert_close(w.sum(dim=(2, 4)), torch.ones(2, 2, 2))
    flat = torch.ones(1, 3, 8, 8) * torch.rand(1, 3, 1, 1)
    torch.testing.assert_close(apool(flat, 2), gap_pool(flat, 2))


def test_apool_all_zero_patch_is_finite():
    x = torch.rand(1, 2, 4, 4)
    x[..., :2, :2] = 0
    out = apool(x, grid=2)
    assert torch.isfinite(out).all()
    torch.testing.assert_close(out[0], torch.zeros(2))


def test_apool_gradient_flows_to_features():
    x = torch.rand(1, 3, 4, 4, requires_grad=True)
    apool(x, 2).sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0


def test_grid_larger_than_map_is_a_clear_error():
    with pytest.raises(ValueError, match=r'grid 8x8 is larger than the feature map \(4x6\)'):
        gap_pool(torch.rand(1, 2, 4, 6), 8)


def test_pooling_module_validates_and_maps_attention():
    with pytest.raises(ValueError, match='pool_type'):
        CSGPooling(pool_type='max')
    with pytest.raises(ValueError, match='grid'):
        CSGPooling(grid=0)
    pool = CSGPooling('apool', grid=2)
    x = torch.rand(2, 3, 4, 4)
    weights, ratio = pool.attention_map(x)
    assert weights.shape == ratio.shape == (2, 4, 4)
    # ratio over the uniform weight (1 / 4 pixels per patch) averages to 1 in each patch
    torch.testing.assert_close(ratio.reshape(2, 2, 2, 2, 2).mean(dim=(2, 4)),
                               torch.ones(2, 2, 2))


def _apool_index_path(v, grid, u=None):
    """A-pool by the general (index_add) path, differentiated by autograd."""
    from csg_mm.models.csg.pooling import _patch_sum, grid_patch_ids
    b, c, h, w = v.shape
    weights = apool_attention(v if u is None else u, grid)
    ids = grid_patch_ids(h, w, grid)
    pooled = _patch_sum(v.reshape(b, c, h * w) * weights[:, None], ids, grid * grid)
    return pooled.permute(0, 2, 1).reshape(-1, c)


@pytest.mark.parametrize('separate', [False, True])
def test_grid_apool_backward_passes_gradcheck(separate):
    torch.manual_seed(0)
    v = torch.rand(2, 3, 4, 6, dtype=torch.float64, requires_grad=True)
    u = torch.rand(2, 5, 4, 6, dtype=torch.float64, requires_grad=True) if separate else None
    inputs = (v, u) if separate else (v, )
    assert torch.autograd.gradcheck(lambda *x: apool(x[0], 2, x[1] if separate else None),
                                    inputs)


def test_grid_apool_equals_the_general_path_with_gradients():
    torch.manual_seed(0)
    v = torch.rand(2, 4, 8, 8, dtype=torch.float64)
    v[0, :, :4, :4] = 0  # an all-zero patch: uniform weights, no gradient through them
    u = torch.rand(2, 3, 8, 8, dtype=torch.float64)
    dy = torch.randn(2 * 4, 4, dtype=torch.float64)
    for attn in (None, u):
        grads = []
        for fn in (lambda x, a: apool(x, 2, a), lambda x, a: _apool_index_path(x, 2, a)):
            x = v.clone().requires_grad_()
            a = None if attn is None else attn.clone().requires_grad_()
            out = fn(x, a)
            out.backward(dy)
            grads.append((out.detach(), x.grad, None if a is None else a.grad))
        for got, ref in zip(*grads):
            if ref is not None:
                torch.testing.assert_close(got, ref)
    assert torch.isfinite(grads[0][1]).all()


def test_grid_apool_attention_is_float32_for_half_maps():
    """Under float16 autocast Z (a sum over C x h x w products) overflows float16."""
    torch.manual_seed(0)
    v = 40 * torch.rand(2, 64, 8, 8)  # Z per 4 x 4 patch ~ 16 x 64 x 20 x 20 > 65504
    half = v.half().requires_grad_()
    out = apool(half, 2)
    assert out.dtype == torch.float16 and torch.isfinite(out).all()
    torch.testing.assert_close(out.float(), apool(half.detach().float(), 2), rtol=2e-3, atol=2e-2)
    out.float().sum().backward()
    assert half.grad.dtype == torch.float16 and torch.isfinite(half.grad).all()

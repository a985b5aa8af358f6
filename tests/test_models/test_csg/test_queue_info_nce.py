"""The fused, chunked InfoNCE against the dense reference (DESIGN.md 1.1, Eq. 3)."""
import pytest
import torch
import torch.nn.functional as F

from csg_mm.models.csg.queue_info_nce import default_chunk_size, queue_info_nce


def dense_reference(query, key, queue, t):
    """Cross-entropy over the (N, 1 + K) logits with target 0, by plain autograd."""
    q, k = F.normalize(query, dim=1), F.normalize(key, dim=1)
    logits = torch.cat([(q * k).sum(1, keepdim=True), q @ queue.t()], 1) / t
    nce = F.cross_entropy(logits, torch.zeros(len(q), dtype=torch.long), reduction='none')
    return nce, logits[:, 0], logits[:, 1:].max(1).values


@pytest.mark.parametrize('chunk', [None, 1, 7, 16, 37, 1000])
@pytest.mark.parametrize('t', [0.07, 0.01])
def test_loss_and_gradient_equal_the_dense_cross_entropy(chunk, t):
    torch.manual_seed(0)
    queue = F.normalize(torch.randn(37, 8, dtype=torch.float64), dim=1)
    query = torch.randn(6, 8, dtype=torch.float64, requires_grad=True)
    key = query.detach() + 0.3 * torch.randn(6, 8, dtype=torch.float64)
    weights = torch.rand(6, dtype=torch.float64)  # a non-uniform upstream gradient
    ref, ref_pos, ref_max = dense_reference(query, key, queue, t)
    (ref * weights).sum().backward()
    ref_grad, query.grad = query.grad.clone(), None

    nce, pos, max_neg = queue_info_nce(query.float(), key.float(), queue.float(), t, chunk)
    assert nce.dtype == pos.dtype == max_neg.dtype == torch.float32
    assert not pos.requires_grad and not max_neg.requires_grad
    (nce * weights.float()).sum().backward()
    # t = 0.01: logits up to 100, exp(100) overflows float32 without the running maximum
    torch.testing.assert_close(nce.double(), ref.detach(), rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(pos.double(), ref_pos.detach(), rtol=1e-5, atol=1e-4)
    torch.testing.assert_close(max_neg.double(), ref_max.detach(), rtol=1e-5, atol=1e-4)
    torch.testing.assert_close(query.grad, ref_grad, rtol=1e-4,
                               atol=1e-5 * ref_grad.abs().max().item())


def test_key_and_queue_get_no_gradient_and_no_grad_mode_skips_it():
    queue = F.normalize(torch.randn(10, 4), dim=1).requires_grad_()
    query = torch.randn(3, 4, requires_grad=True)
    key = torch.randn(3, 4, requires_grad=True)
    queue_info_nce(query, key, queue, 0.1)[0].sum().backward()
    assert query.grad is not None and key.grad is None and queue.grad is None
    with torch.no_grad():
        nce = queue_info_nce(query, key, queue, 0.1)[0]
    assert not nce.requires_grad


def test_backward_does_not_read_the_queue():
    queue = F.normalize(torch.randn(10, 4), dim=1)
    query = torch.randn(3, 4, requires_grad=True)
    nce = queue_info_nce(query, torch.randn(3, 4), queue, 0.1)[0]
    expected = torch.autograd.grad(nce.sum(), query, retain_graph=True)[0]
    queue.normal_()  # updated in place, as the head's enqueue does
    torch.testing.assert_close(torch.autograd.grad(nce.sum(), query)[0], expected)


def test_chunk_size_bounds_the_logits_memory():
    assert default_chunk_size(128, 65536) * 128 == 2**18
    assert default_chunk_size(4096, 65536) == 1024
    assert default_chunk_size(2, 100) == 100
    assert default_chunk_size(128, 65536, 'cuda') == 32768  # fewer, larger kernels


def test_shape_errors_name_the_shapes():
    with pytest.raises(ValueError, match=r'\(3, 4\), \(3, 5\)'):
        queue_info_nce(torch.randn(3, 4), torch.randn(3, 5), torch.randn(8, 4), 0.1)
    with pytest.raises(ValueError, match=r'\(8, 5\)'):
        queue_info_nce(torch.randn(3, 4), torch.randn(3, 4), torch.randn(8, 5), 0.1)

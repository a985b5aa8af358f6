"""InfoNCE against a queue of negatives, fused and chunked over the queue.

The loss of one query (Oord et al. 2018; CSG, Chen et al., ICLR 2021, Eq. 3), with the query
``q`` and the key ``k`` unit vectors, the queue ``Q = (n_1 .. n_K)`` of unit negatives and the
temperature ``t``::

    l_0 = q.k / t,   l_j = q.n_j / t   (j = 1 .. K)
    L   = -log softmax(l)_0 = logsumexp(l_0, l_1, .., l_K) - l_0

and its gradient with respect to ``s = q / t`` (the only input that receives one)::

    dL/ds = sum_{j=0..K} p_j v_j - k = sum_{j=1..K} p_j (n_j - k),
    p = softmax(l),  v_0 = k,  v_j = n_j

Since ``L`` of row ``i`` depends on row ``i`` of ``s`` alone, the per-row gradient ``(N, D)`` is
computed during the forward pass and scaled by the incoming per-row gradient in the backward pass.
So the ``(N, K)`` logits never exist at once: the queue is processed in chunks of ``chunk_size``
keys with an online log-sum-exp (running row maximum, rescaled sums), each chunk costing one
``(N, D) x (D, C)`` matmul for the logits and one ``(N, C) x (C, D)`` matmul for the gradient,
with the exponentials taken in place while the chunk is in cache. Memory is ``O(N * chunk)``
instead of the ``O(N * K)`` logits plus their gradient, and the backward pass does not read the
queue, so the queue may be updated in place right after the forward pass.
"""
from typing import Optional, Tuple

import torch
from torch import Tensor


def default_chunk_size(num_queries: int, queue_len: int, device_type: str = 'cpu') -> int:
    """Keys per chunk, at least 1024: about 2**18 logits (1 MiB float32) per chunk on CPU, where
    a chunk should stay in cache; about 2**22 (16 MiB) on accelerators, where fewer, larger
    kernels are faster."""
    budget = 2**18 if device_type == 'cpu' else 2**22
    return min(queue_len, max(1024, budget // max(num_queries, 1)))


class _QueueInfoNCE(torch.autograd.Function):

    @staticmethod
    def forward(ctx, scaled_query: Tensor, key: Tensor, queue: Tensor, chunk_size: int,
                with_grad: bool) -> Tuple[Tensor, Tensor, Tensor]:
        s, k = scaled_query, key
        pos = (s * k).sum(1)  # l_0, (N,)
        run_max = pos.clone()  # running row maximum over the logits seen so far
        neg_sum = torch.zeros_like(pos)  # sum_{j>=1} exp(l_j - run_max)
        # sum_{j>=1} exp(l_j - run_max) n_j; the gradient is taken as sum_{j>=1} p_j (n_j - k),
        # which equals sum_{j>=0} p_j v_j - k without its cancellation when p_0 -> 1
        grad = torch.zeros_like(s) if with_grad else None
        max_neg = torch.full_like(pos, float('-inf'))
        for start in range(0, queue.shape[0], chunk_size):
            chunk = queue[start:start + chunk_size]  # (C, D)
            logits = s @ chunk.t()  # (N, C)
            chunk_max = logits.amax(1)
            torch.maximum(max_neg, chunk_max, out=max_neg)
            new_max = torch.maximum(run_max, chunk_max)
            rescale = (run_max - new_max).exp_()
            neg_sum.mul_(rescale)
            logits.sub_(new_max[:, None]).exp_()
            neg_sum.add_(logits.sum(1))
            if grad is not None:
                grad.mul_(rescale[:, None]).addmm_(logits, chunk)
            run_max = new_max
        total = (pos - run_max).exp_().add_(neg_sum)  # sum_{j>=0} exp(l_j - run_max)
        nce = run_max + total.log() - pos
        if grad is not None:
            grad.addcmul_(neg_sum[:, None], k, value=-1).div_(total[:, None])
        ctx.save_for_backward(grad)
        ctx.mark_non_differentiable(pos, max_neg)
        return nce, pos, max_neg

    @staticmethod
    def backward(ctx, grad_nce: Tensor, *unused):
        grad, = ctx.saved_tensors  # set: backward only runs when the query needs a gradient
        return grad_nce[:, None] * grad, None, None, None, None


def queue_info_nce(query: Tensor,
                   key: Tensor,
                   queue: Tensor,
                   temperature: float,
                   chunk_size: Optional[int] = None) -> Tuple[Tensor, Tensor, Tensor]:
    """Per-query InfoNCE against a queue, in float32 whatever autocast does.

    Args:
        query (Tensor): ``(N, D)`` queries (normalised here; gradients flow through).
        key (Tensor): ``(N, D)`` positives (normalised here; no gradient).
        queue (Tensor): ``(K, D)`` unit-norm negatives (no gradient).
        temperature (float): ``t``.
        chunk_size (int, optional): keys per chunk. Defaults to :func:`default_chunk_size` for
            the query's device.

    Returns:
        tuple: ``nce`` ``(N,)`` (differentiable), the positive logits ``l_0`` ``(N,)`` and the
        largest negative logits ``max_j l_j`` ``(N,)`` (both without gradient).
    """
    if query.dim() != 2 or key.shape != query.shape or queue.dim() != 2 \
            or queue.shape[1] != query.shape[1]:
        raise ValueError(f'queue_info_nce: expected query (N, D), key (N, D), queue (K, D); got '
                         f'{tuple(query.shape)}, {tuple(key.shape)}, {tuple(queue.shape)}')
    chunk_size = chunk_size or default_chunk_size(query.shape[0], queue.shape[0],
                                                  query.device.type)
    with torch.autocast(device_type=query.device.type, enabled=False):
        # 1/t folded into the (N, D) query: no pass over the (N, K) logits
        scaled = torch.nn.functional.normalize(query.float(), dim=1).div(temperature)
        key = torch.nn.functional.normalize(key.detach().float(), dim=1)
        with_grad = torch.is_grad_enabled() and scaled.requires_grad
        return _QueueInfoNCE.apply(scaled, key, queue.detach().float(), chunk_size, with_grad)

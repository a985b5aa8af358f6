"""Contrastive head of CSG: per-stage negative queues and InfoNCE."""
from typing import Dict, Optional, Sequence

import torch
import torch.nn.functional as F
from mmengine.model import BaseModule
from mmengine.registry import MODELS
from torch import Tensor

from ...utils.dist import all_gather_uneven
from .queue_info_nce import queue_info_nce


@MODELS.register_module()
class CSGContrastiveHead(BaseModule):
    """InfoNCE against a queue of negatives, one queue per CSG stage (Chen et al., ICLR 2021,
    Eq. 3 and Sec. 3.2).

    For a query ``z_a`` (student, anchor view), its positive ``z+`` (teacher, key view, same image
    and patch) and the queue ``Q`` of the ``K`` most recent positives of earlier iterations::

        L_NCE = -log( exp(z_a.z+ / t) / (exp(z_a.z+ / t) + sum_{z- in Q} exp(z_a.z- / t)) )

    averaged over images and patches, i.e. the cross-entropy over ``1 + K`` logits with target 0.
    The loss of each stage is multiplied by ``loss_weight`` (``lambda``). The logged
    ``acc_stage{l}`` is the top-1 ranking accuracy: how often the positive has the largest logit.

    After the loss, :meth:`enqueue` writes this iteration's positives, gathered from all ranks
    first (in rank order; ranks may hold different numbers of keys, e.g. a smaller last batch),
    at the queue pointer with wrap-around, so the queues stay identical on all ranks. Queues
    (initialised with random unit vectors) and pointers are buffers, so checkpoints save and
    restore them.

    Similarities and the loss are computed in float32 whatever autocast does.

    Args:
        stages (Sequence[int]): the CSG stages (1-based ResNet stage numbers), used for names.
        feat_dim (int): embedding dimension. Defaults to 128.
        queue_len (int): ``K``. Defaults to 65536.
        temperature (float): ``t``. Defaults to 0.07.
        loss_weight (float): ``lambda``. Defaults to 1.0.
        chunk_size (int, optional): queue keys per chunk of the fused loss (memory
            ``O(N * chunk_size)``). Defaults to about 2**18 logits per chunk on CPU, 2**22 on
            GPUs.
        init_cfg (dict, optional): initialisation config.
    """

    def __init__(self,
                 stages: Sequence[int],
                 feat_dim: int = 128,
                 queue_len: int = 65536,
                 temperature: float = 0.07,
                 loss_weight: float = 1.0,
                 chunk_size: Optional[int] = None,
                 init_cfg=None) -> None:
        super().__init__(init_cfg=init_cfg)
        if queue_len < 1:
            raise ValueError(f'CSG queue_len must be >= 1, got {queue_len}')
        if temperature <= 0:
            raise ValueError(f'CSG temperature must be > 0, got {temperature}')
        self.stages = list(stages)
        self.feat_dim = feat_dim
        self.queue_len = queue_len
        self.temperature = temperature
        self.loss_weight = loss_weight
        if chunk_size is not None and chunk_size < 1:
            raise ValueError(f'CSG chunk_size must be >= 1 or None, got {chunk_size}')
        self.chunk_size = chunk_size
        for stage in self.stages:
            queue = F.normalize(torch.randn(queue_len, feat_dim), dim=1)
            self.register_buffer(f'queue_stage{stage}', queue)
            self.register_buffer(f'queue_ptr_stage{stage}', torch.zeros(1, dtype=torch.long))

    def queue(self, stage: int) -> Tensor:
        return getattr(self, f'queue_stage{stage}')

    def queue_ptr(self, stage: int) -> Tensor:
        return getattr(self, f'queue_ptr_stage{stage}')

    def loss(self, queries: Sequence[Tensor], keys: Sequence[Tensor]) -> Dict[str, Tensor]:
        """Per-stage weighted InfoNCE and ranking accuracy.

        Computed by :func:`queue_info_nce`: fused and chunked over the queue, so the
        ``(N, 1 + K)`` logits are never materialised and the backward pass does not read the
        queue (which :meth:`enqueue` may then update in place).

        Args:
            queries: per stage ``(N, D)`` query embeddings (normalised here).
            keys: per stage ``(N, D)`` positive key embeddings (normalised here, no gradient).

        Returns:
            dict: ``loss_stage{l}`` and ``acc_stage{l}`` (percent) per stage.
        """
        losses = {}
        for stage, query, key in zip(self.stages, queries, keys):
            nce, pos, max_neg = queue_info_nce(query, key, self.queue(stage),
                                               self.temperature, self.chunk_size)
            losses[f'loss_stage{stage}'] = self.loss_weight * nce.mean()
            # argmax over [pos, neg] is 0 (ties go to the first index) iff pos >= max(neg)
            losses[f'acc_stage{stage}'] = (pos >= max_neg).float().mean() * 100
        return losses

    @torch.no_grad()
    def enqueue(self, keys: Sequence[Tensor]) -> None:
        """Write this iteration's positives of all ranks (rank order; their numbers may differ
        between ranks) into the queues, with wrap-around."""
        for stage, key in zip(self.stages, keys):
            key = F.normalize(key.detach().float(), dim=1)
            key = torch.cat(all_gather_uneven(key), dim=0)
            queue, ptr = self.queue(stage), self.queue_ptr(stage)
            num, start = key.shape[0], int(ptr.item())
            if num >= self.queue_len:  # only the newest K keys survive
                start = (start + num - self.queue_len) % self.queue_len
                key, num = key[-self.queue_len:], self.queue_len
            idx = (start + torch.arange(num, device=queue.device)) % self.queue_len
            # in place: the loss's backward pass does not read the queue
            queue.index_copy_(0, idx, key.to(queue.dtype))
            ptr[0] = (start + num) % self.queue_len

    def extra_repr(self) -> str:
        return (f'stages={self.stages}, feat_dim={self.feat_dim}, queue_len={self.queue_len}, '
                f'temperature={self.temperature}, loss_weight={self.loss_weight}')

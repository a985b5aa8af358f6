"""Projection heads of CSG and their momentum (EMA) key copies."""
from typing import List, Optional, Sequence

import torch
from mmengine.model import BaseModule, ExponentialMovingAverage
from mmengine.registry import MODELS
from torch import Tensor, nn


@MODELS.register_module()
class CSGProjectionNeck(BaseModule):
    """Per-stage projection MLPs ``h`` and their key copies ``h~`` (Chen et al., ICLR 2021,
    Sec. 3.2).

    For every CSG stage ``l`` with ``C_l`` channels::

        h_l  = Linear(C_l, C_l) -> ReLU -> Linear(C_l, out_channels)       (trained)
        h~_l <- (1 - momentum) * h~_l + momentum * h_l                      (EMA, no gradients)

    ``momentum`` follows mmengine's convention (:class:`mmengine.model.ExponentialMovingAverage`),
    so the paper's ``m = 0.999`` is ``momentum=0.001``. The first update copies ``h`` into ``h~``,
    so ``h~ = h`` at iteration 0. Updates are driven by
    :class:`csg_mm.engine.hooks.CSGMomentumHook` once per training iteration, before the keys are
    computed.

    Args:
        in_channels (Sequence[int]): ``C_l`` per stage. CSG models infer these from the backbone;
            users never type them.
        hid_channels (int, optional): hidden width; ``C_l`` when None (paper).
        out_channels (int): embedding dimension. Defaults to 128.
        momentum (float): EMA momentum in mmengine's convention. Defaults to 0.001.
        init_cfg (dict, optional): initialisation config.
    """

    def __init__(self,
                 in_channels: Sequence[int],
                 hid_channels: Optional[int] = None,
                 out_channels: int = 128,
                 momentum: float = 0.001,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if not in_channels:
            raise ValueError('CSGProjectionNeck needs at least one stage (in_channels is empty)')
        self.in_channels = list(in_channels)
        self.out_channels = out_channels
        self.momentum = momentum
        self.query_projs = nn.ModuleList(
            nn.Sequential(
                nn.Linear(c, hid_channels or c), nn.ReLU(inplace=True),
                nn.Linear(hid_channels or c, out_channels)) for c in self.in_channels)
        self.key_projs = nn.ModuleList(
            ExponentialMovingAverage(p, momentum=momentum) for p in self.query_projs)

    def init_weights(self) -> None:
        super().init_weights()
        # Restart the EMA so the next update copies the (re-)initialised query projections.
        for key_proj in self.key_projs:
            key_proj.steps.zero_()

    @torch.no_grad()
    def momentum_update(self, momentum: Optional[float] = None) -> None:
        """``h~ <- (1 - momentum) h~ + momentum h`` for every stage (a copy at the first call)."""
        for query_proj, key_proj in zip(self.query_projs, self.key_projs):
            if momentum is not None:
                key_proj.momentum = momentum
            key_proj.update_parameters(query_proj)

    def forward_query(self, pooled: Sequence[Tensor]) -> List[Tensor]:
        """``h_l(pooled_l)`` per stage (not normalised)."""
        return [proj(x) for proj, x in zip(self.query_projs, pooled)]

    @torch.no_grad()
    def forward_key(self, pooled: Sequence[Tensor]) -> List[Tensor]:
        """``h~_l(pooled_l)`` per stage (not normalised, no graph)."""
        return [proj(x) for proj, x in zip(self.key_projs, pooled)]

    def forward(self, pooled: Sequence[Tensor]) -> List[Tensor]:
        return self.forward_query(pooled)

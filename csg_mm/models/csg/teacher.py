"""The frozen ImageNet teacher ``f_eo`` of CSG."""
import copy
from typing import Optional, Tuple

import torch
from mmengine.model import BaseModule
from mmengine.registry import MODELS, Registry
from torch import Tensor, nn


@MODELS.register_module()
class FrozenTeacher(BaseModule):
    """A frozen copy of the student's backbone architecture holding the ImageNet weights
    (Chen et al., ICLR 2021, Sec. 3.1: ``f_eo``, "the only source of real knowledge").

    * built from the student's backbone config (same architecture, same ``out_indices``), with its
      own ``init_cfg`` (by default the student's ImageNet ``init_cfg``/``pretrained``), so it is
      initialised by ``init_weights`` like the student's backbone but independently of
      ``load_from``, which only restores what a checkpoint holds;
    * ``requires_grad=False`` on every parameter: no gradients, so no optimizer ever changes it;
    * always in eval mode (BN uses the ImageNet statistics), whatever ``train()`` the runner calls;
    * forward runs under ``torch.no_grad()``: it builds no autograd graph;
    * not used by ``predict()``: inference never runs it.

    Args:
        backbone (nn.Module): the built teacher backbone.
    """

    def __init__(self, backbone: nn.Module) -> None:
        super().__init__()
        self.backbone = backbone
        self._freeze()

    def _freeze(self) -> None:
        self.backbone.requires_grad_(False)
        super().train(False)

    def train(self, mode: bool = True) -> 'FrozenTeacher':
        """Stay in eval mode whatever the runner asks."""
        return super().train(False)

    def init_weights(self) -> None:
        super().init_weights()
        self._freeze()

    @torch.no_grad()
    def forward(self, inputs: Tensor) -> Tuple[Tensor, ...]:
        return tuple(self.backbone(inputs))

    @classmethod
    def from_student_cfg(cls,
                         backbone_cfg: dict,
                         registry: Registry,
                         init_cfg: Optional[dict] = None) -> 'FrozenTeacher':
        """Build the teacher from the student's backbone config.

        Args:
            backbone_cfg (dict): the student's backbone config (with its ImageNet ``init_cfg`` or
                ``pretrained``).
            registry (Registry): the task's model registry (mmseg or mmpretrain ``MODELS``).
            init_cfg (dict, optional): the teacher's own ``init_cfg``; replaces the student's
                ``init_cfg``/``pretrained`` when given (e.g. when the student starts elsewhere).
        """
        cfg = copy.deepcopy(backbone_cfg)
        if init_cfg is not None:
            cfg.pop('pretrained', None)
            cfg['init_cfg'] = copy.deepcopy(init_cfg)
        return cls(registry.build(cfg))

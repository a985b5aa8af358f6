"""The paper's Table 1 comparison regularisers that retain ImageNet knowledge.

Both are config-selectable alternatives to :class:`CSGRegularizer` in the ``regularizer`` slot of
the CSG models, and share its frozen ImageNet teacher.
"""
from typing import Dict, Optional, Sequence, Tuple

import torch
import torch.nn.functional as F
from mmengine.registry import MODELS
from torch import Tensor, nn

from .csg_regularizer import BaseSyn2RealRegularizer
from .teacher import FrozenTeacher


@MODELS.register_module()
class FeatureL2Regularizer(BaseSyn2RealRegularizer):
    """Feature l2 distance to the frozen ImageNet model (paper Table 1, "Feature l2")::

        L = lambda * sum_{l in G} mean_{b, c, i, j} (f_e(x)_l - f_eo(x)_l)^2

    on the anchor view ``x``. Zero while the student equals the teacher.

    Args:
        teacher (FrozenTeacher): the frozen ImageNet backbone.
        stages (Sequence[int]): ``G``. Defaults to ``(4, )``.
        loss_weight (float): ``lambda``. Defaults to 1.0.
    """

    def __init__(self,
                 teacher: FrozenTeacher,
                 stages: Sequence[int] = (4, ),
                 loss_weight: float = 1.0,
                 in_shape: Tuple[int, int, int] = (3, 64, 64),
                 init_cfg=None) -> None:
        super().__init__(teacher, stages, in_shape, prefix='feat_l2', init_cfg=init_cfg)
        self.loss_weight = loss_weight

    def prepare(self, inputs: Tensor, key_inputs: Tensor, student: nn.Module) -> dict:
        """The teacher's maps of the anchor view (no graph)."""
        return dict(teacher_feats=self.select(self.teacher(inputs)))

    def loss(self, student_feats: Sequence[Tensor], inputs: Tensor, key_inputs: Tensor,
             student: nn.Module, prepared: Optional[dict] = None) -> Dict[str, Tensor]:
        if prepared is None:
            prepared = self.prepare(inputs, key_inputs, student)
        teacher_feats = prepared['teacher_feats']
        losses = {}
        for stage, f_s, f_t in zip(self.stages, self.select(student_feats), teacher_feats):
            losses[f'loss_stage{stage}'] = self.loss_weight * F.mse_loss(
                f_s.float(), f_t.float())
        return losses


@MODELS.register_module()
class L2SPRegularizer(BaseSyn2RealRegularizer):
    """Weight l2 distance to the initial (ImageNet) weights, L2-SP (Li et al., ICML 2018; paper
    Table 1, "Weight l2")::

        L = lambda / 2 * sum_w ||w - w0||^2

    over the student backbone's trainable parameters; ``w0`` are the frozen teacher's parameters
    of the same name (the ImageNet weights). Zero at initialisation.

    Args:
        teacher (FrozenTeacher): the frozen ImageNet backbone.
        loss_weight (float): ``lambda``. Defaults to 1e-2.
    """

    def __init__(self,
                 teacher: FrozenTeacher,
                 loss_weight: float = 1e-2,
                 in_shape: Tuple[int, int, int] = (3, 64, 64),
                 init_cfg=None) -> None:
        super().__init__(teacher, (1, ), in_shape, prefix='l2sp', init_cfg=init_cfg)
        self.loss_weight = loss_weight

    def loss(self, student_feats: Sequence[Tensor], inputs: Tensor, key_inputs: Tensor,
             student: nn.Module, prepared: Optional[dict] = None) -> Dict[str, Tensor]:
        reference = dict(self.teacher.backbone.named_parameters())
        dist = inputs.new_zeros((), dtype=torch.float32)
        for name, param in student.named_parameters():
            if param.requires_grad:
                if name not in reference:
                    raise KeyError(f'L2SPRegularizer: the teacher has no parameter {name!r}; '
                                   f'teacher and student backbones must match')
                dist = dist + (param.float() - reference[name].float()).pow(2).sum()
        return dict(loss_weight_l2=0.5 * self.loss_weight * dist)

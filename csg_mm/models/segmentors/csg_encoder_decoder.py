"""MMSegmentation EncoderDecoder with a syn-to-real regulariser (CSG by default)."""
import copy
from typing import Optional

import torch
from mmseg.models.segmentors import EncoderDecoder
from mmseg.registry import MODELS
from mmseg.utils import ConfigType, OptConfigType, OptSampleList, SampleList
from torch import Tensor

from ..csg import build_regularizer, gap_pool, split_views


@MODELS.register_module()
class CSGEncoderDecoder(EncoderDecoder):
    """:class:`mmseg.models.EncoderDecoder` trained with Contrastive Syn-to-Real Generalization
    (Chen et al., ICLR 2021)::

        L = L_task + lambda * sum_{l in G} L_NCE^l

    ``loss()`` runs the student backbone ONCE on the anchor view, feeds the neck/decode/auxiliary
    heads as :class:`EncoderDecoder` does, and adds the regulariser's losses under its prefix
    (``csg.`` for :class:`csg_mm.models.CSGRegularizer`; ``feat_l2.`` / ``l2sp.`` for the
    comparisons). ``predict()``, ``_forward()`` and ``inference`` are inherited unchanged: the
    teacher, projections and queues are never used at test time.

    Training inputs are a list ``[anchor, key]`` of two views made by the CSG pipeline
    (``KeyMapper`` + :class:`PackCSGSegInputs`) and :class:`CSGSegDataPreProcessor`; a single
    tensor serves as both views.

    Args:
        backbone, decode_head, neck, auxiliary_head, train_cfg, test_cfg, data_preprocessor,
        pretrained, init_cfg: as :class:`EncoderDecoder`.
        regularizer (dict, optional): the regulariser config; its teacher is built from
            ``backbone`` (with ``pretrained`` applied). None trains like :class:`EncoderDecoder`.
    """

    def __init__(self,
                 backbone: ConfigType,
                 decode_head: ConfigType,
                 regularizer: OptConfigType = dict(type='CSGRegularizer'),
                 neck: OptConfigType = None,
                 auxiliary_head: OptConfigType = None,
                 train_cfg: OptConfigType = None,
                 test_cfg: OptConfigType = None,
                 data_preprocessor: OptConfigType = None,
                 pretrained: Optional[str] = None,
                 init_cfg=None) -> None:
        teacher_cfg = copy.deepcopy(backbone)
        if pretrained is not None and teacher_cfg.get('pretrained') is None:
            teacher_cfg['pretrained'] = pretrained
        super().__init__(
            backbone=backbone,
            decode_head=decode_head,
            neck=neck,
            auxiliary_head=auxiliary_head,
            train_cfg=train_cfg,
            test_cfg=test_cfg,
            data_preprocessor=data_preprocessor,
            pretrained=pretrained,
            init_cfg=init_cfg)
        self._diversity_feats = None
        self._diversity_grid = 0
        self.regularizer = None
        if regularizer is not None:
            self.regularizer = build_regularizer(regularizer, teacher_cfg, MODELS)

    def loss(self, inputs, data_samples: SampleList) -> dict:
        """Decode (+ auxiliary) losses plus the regulariser's, from one student backbone pass.

        Args:
            inputs (Tensor | list[Tensor]): ``(B, 3, H, W)`` or ``[anchor, key]``.
            data_samples (list[SegDataSample]): with ``gt_sem_seg``.
        """
        inputs_q, inputs_k = split_views(inputs)
        prepared = None
        if self.regularizer is not None:  # no-grad passes first: see BaseSyn2RealRegularizer
            prepared = self.regularizer.prepare(inputs_q, inputs_k, self.backbone)
        stage_feats = self.backbone(inputs_q)
        x = self.neck(stage_feats) if self.with_neck else stage_feats
        losses = self._decode_head_forward_train(x, data_samples)
        if self.with_auxiliary_head:
            losses.update(self._auxiliary_head_forward_train(x, data_samples))
        if self.regularizer is not None:
            losses.update(
                self.regularizer.prefixed_loss(stage_feats, inputs_q, inputs_k, self.backbone,
                                              prepared))
        return losses

    def extract_feat(self, inputs: Tensor):
        """As :meth:`EncoderDecoder.extract_feat` (a two-view list uses the anchor); during
        :meth:`predict` it also keeps the last stage's ``n x n``-patch GAP features."""
        x = self.backbone(split_views(inputs)[0])
        if self._diversity_feats is not None:
            last = x[-1].detach()
            grid = min(self._diversity_grid, *last.shape[2:])  # small maps: one pixel per patch
            self._diversity_feats.append(
                gap_pool(last, grid).reshape(last.shape[0], grid * grid, -1))
        return self.neck(x) if self.with_neck else x

    def predict(self, inputs: Tensor, data_samples: OptSampleList = None) -> SampleList:
        """:meth:`EncoderDecoder.predict`, plus a ``diversity_feat`` field ``(P, C)`` on every
        result: the last backbone stage (post-ReLU) average-pooled over an ``n x n`` grid of
        patches (``n = test_cfg.diversity_grid``, default 8; paper Eq. 6 setting; sliding-window
        inference concatenates the patches of all windows; a map smaller than the grid gives one
        patch per pixel), for
        :class:`csg_mm.evaluation.HypersphericalEnergyMetric`. ``diversity_grid=0`` disables
        it. The predictions themselves are unchanged."""
        grid = (self.test_cfg or {}).get('diversity_grid', 8)
        self._diversity_grid = grid
        self._diversity_feats = [] if grid else None
        try:
            results = super().predict(inputs, data_samples)
            if grid:
                feats = torch.cat(self._diversity_feats, dim=1)
                for result, feat in zip(results, feats):
                    result.set_field(feat, 'diversity_feat')
        finally:
            self._diversity_feats = None
        return results

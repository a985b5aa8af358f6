"""MMPretrain ImageClassifier with a syn-to-real regulariser (CSG by default)."""
import copy
from typing import List, Optional

from mmpretrain.models.classifiers import ImageClassifier
from mmpretrain.registry import MODELS
from mmpretrain.structures import DataSample

from ..csg import build_regularizer, gap_pool, split_views


@MODELS.register_module()
class CSGImageClassifier(ImageClassifier):
    """:class:`mmpretrain.models.ImageClassifier` trained with Contrastive Syn-to-Real
    Generalization (Chen et al., ICLR 2021)::

        L = L_CE + lambda * sum_{l in G} L_NCE^l

    ``loss()`` runs the student backbone ONCE on the anchor view, feeds neck and head as
    :class:`ImageClassifier` does and adds the regulariser's losses under its prefix (``csg.``,
    ``feat_l2.`` or ``l2sp.``). ``predict()`` and ``extract_feat()`` are unchanged.

    Training inputs are ``[anchor, key]`` (mmpretrain ``MultiView`` + ``PackInputs`` +
    ``SelfSupDataPreprocessor``); a single tensor serves as both views.

    Args:
        backbone, neck, head, pretrained, train_cfg, data_preprocessor, init_cfg: as
            :class:`ImageClassifier`. The teacher takes the backbone's ``init_cfg`` (the ImageNet
            weights), so give them there rather than in the model-level ``pretrained``.
        regularizer (dict, optional): the regulariser config. None trains like
            :class:`ImageClassifier`.
    """

    def __init__(self,
                 backbone: dict,
                 regularizer: Optional[dict] = dict(type='CSGRegularizer'),
                 neck: Optional[dict] = None,
                 head: Optional[dict] = None,
                 pretrained: Optional[str] = None,
                 train_cfg: Optional[dict] = None,
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[dict] = None) -> None:
        teacher_cfg = copy.deepcopy(backbone)
        if isinstance(data_preprocessor, dict) and str(data_preprocessor.get(
                'type', '')).split('.')[-1] == 'SelfSupDataPreprocessor':
            # ImageClassifier adds `batch_augments` to a dict preprocessor, which the multi-view
            # SelfSupDataPreprocessor does not take: build it here.
            if train_cfg:
                raise ValueError('CSGImageClassifier: train_cfg batch augments need a '
                                 'ClsDataPreprocessor; SelfSupDataPreprocessor (two views) '
                                 'takes none')
            data_preprocessor = MODELS.build(data_preprocessor)
        super().__init__(
            backbone=backbone,
            neck=neck,
            head=head,
            pretrained=pretrained,
            train_cfg=train_cfg,
            data_preprocessor=data_preprocessor,
            init_cfg=init_cfg)
        self.regularizer = None
        if regularizer is not None:
            self.regularizer = build_regularizer(regularizer, teacher_cfg, MODELS)

    def loss(self, inputs, data_samples: List[DataSample]) -> dict:
        """Classification loss plus the regulariser's, from one student backbone pass.

        Args:
            inputs (Tensor | list[Tensor]): ``(B, 3, H, W)`` or ``[anchor, key]``.
            data_samples (list[DataSample]): with ``gt_label``.
        """
        inputs_q, inputs_k = split_views(inputs)
        prepared = None
        if self.regularizer is not None:  # no-grad passes first: see BaseSyn2RealRegularizer
            prepared = self.regularizer.prepare(inputs_q, inputs_k, self.backbone)
        stage_feats = self.backbone(inputs_q)
        x = self.neck(stage_feats) if self.with_neck else stage_feats
        losses = self.head.loss(x, data_samples)
        if self.regularizer is not None:
            losses.update(
                self.regularizer.prefixed_loss(stage_feats, inputs_q, inputs_k, self.backbone,
                                              prepared))
        return losses

    def predict(self,
                inputs,
                data_samples: Optional[List[DataSample]] = None,
                **kwargs) -> List[DataSample]:
        """:meth:`ImageClassifier.predict`, plus a ``diversity_feat`` field ``(1, C)`` on every
        result: the last backbone stage (post-ReLU) global-average-pooled, the features of the
        paper's Table 1 energies (:class:`csg_mm.evaluation.HypersphericalEnergyMetric`). The
        predictions themselves are unchanged."""
        stage_feats = self.backbone(split_views(inputs)[0])
        feats = self.neck(stage_feats) if self.with_neck else stage_feats
        results = self.head.predict(feats, data_samples, **kwargs)
        pooled = gap_pool(stage_feats[-1].detach(), 1)
        for result, feat in zip(results, pooled):
            result.set_field(feat[None], 'diversity_feat')
        return results

    def extract_feat(self, inputs, stage: str = 'neck'):
        # Stock behaviour; a two-view list uses the anchor.
        return super().extract_feat(split_views(inputs)[0], stage)

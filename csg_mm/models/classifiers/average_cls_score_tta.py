"""Flip-averaged test-time augmentation that keeps CSG's diversity features."""
from typing import List

import torch
from mmpretrain.models import AverageClsScoreTTA
from mmpretrain.registry import MODELS
from mmpretrain.structures import DataSample


@MODELS.register_module()
class CSGAverageClsScoreTTA(AverageClsScoreTTA):
    """mmpretrain's :class:`AverageClsScoreTTA` (class scores averaged over the augmented views),
    whose merged predictions also carry ``diversity_feat``: the mean of the views' features, so
    :class:`~csg_mm.evaluation.HypersphericalEnergyMetric` works with ``tools/test.py --tta``
    (the stock merge keeps the scores only).

    Views without the field (a model that does not attach it) give a merged prediction without
    it, as before.
    """

    def _merge_single_sample(self, data_samples: List[DataSample]) -> DataSample:
        merged = super()._merge_single_sample(data_samples)
        feats = [s.get('diversity_feat') for s in data_samples]
        if feats and all(f is not None for f in feats):
            merged.set_field(torch.stack(feats).mean(0), 'diversity_feat')
        return merged

"""CSGAverageClsScoreTTA: averaged scores (as mmpretrain's) and averaged diversity features."""
import torch
from mmpretrain.structures import DataSample

import csg_mm  # noqa: F401
from csg_mm.evaluation import HypersphericalEnergyMetric
from csg_mm.models import CSGAverageClsScoreTTA


class _FeatureClassifier(torch.nn.Module):
    """Stands in for a CSG classifier: a score and a (1, C) diversity feature per view."""

    def __init__(self, with_feat=True):
        super().__init__()
        self.with_feat = with_feat

    def test_step(self, data):
        out = []
        for i, sample in enumerate(data['data_samples']):
            flip = float(sample.flip)
            res = sample.clone().set_pred_score(torch.tensor([flip, 1 - flip]))
            if self.with_feat:
                res.set_field(torch.tensor([[1.0 + i, flip]]), 'diversity_feat')
            out.append(res)
        return out


def _batch():
    views = [[DataSample(metainfo=dict(flip=f)).set_gt_label(0) for _ in range(3)]
             for f in (True, False)]
    return dict(inputs=[torch.zeros(3, 3, 4, 4)] * 2, data_samples=views)


def test_scores_and_diversity_features_are_averaged_over_the_views():
    merged = CSGAverageClsScoreTTA(module=_FeatureClassifier()).test_step(_batch())
    assert len(merged) == 3
    for i, sample in enumerate(merged):
        torch.testing.assert_close(sample.pred_score, torch.tensor([0.5, 0.5]))
        torch.testing.assert_close(sample.diversity_feat, torch.tensor([[1.0 + i, 0.5]]))
    metric = HypersphericalEnergyMetric()
    metric.process({}, [s.to_dict() for s in merged])
    energies = metric.compute_metrics(metric.results)  # the evaluator adds 'diversity/'
    assert set(energies) == {'energy_s0', 'energy_s1', 'energy_s2'}


def test_views_without_features_merge_as_before():
    merged = CSGAverageClsScoreTTA(module=_FeatureClassifier(with_feat=False)).test_step(_batch())
    assert 'diversity_feat' not in merged[0]
    torch.testing.assert_close(merged[0].pred_score, torch.tensor([0.5, 0.5]))

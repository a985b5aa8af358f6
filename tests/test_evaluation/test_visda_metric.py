"""VisDAMetric: mean of per-class accuracies (the VisDA-2017 protocol)."""
import math

import pytest
import torch
from mmengine.evaluator import Evaluator
from mmpretrain.evaluation import Accuracy, SingleLabelMetric
from mmpretrain.structures import DataSample

import csg_mm.evaluation.metrics.visda_metric as visda_metric_module
from csg_mm.datasets.visda17 import VISDA17_CATEGORIES
from csg_mm.evaluation import VisDAMetric


def _samples_from_labels(preds, gts):
    return [DataSample().set_gt_label(g).set_pred_label(p) for p, g in zip(preds, gts)]


def _samples_from_scores(scores, gts):
    return [DataSample().set_gt_label(int(g)).set_pred_score(s) for s, g in zip(scores, gts)]


def _evaluate(metric, samples, dataset_meta=None):
    evaluator = Evaluator(metric)
    if dataset_meta is not None:
        evaluator.dataset_meta = dataset_meta
    evaluator.process(samples)
    return evaluator.evaluate(len(samples))


# Hand-computed example, 3 classes, 20 samples:
#   class 0: 10 samples,  9 correct (1 predicted as 1)       -> 90 %
#   class 1:  5 samples,  2 correct (3 predicted as 0)       -> 40 %
#   class 2:  5 samples,  1 correct (2 as 0, 2 as 1)         -> 20 %
# mean class accuracy = (90 + 40 + 20) / 3 = 50 %;  overall = (9 + 2 + 1) / 20 = 60 %.
HAND_GT = [0] * 10 + [1] * 5 + [2] * 5
HAND_PRED = [0] * 9 + [1] + [1, 1, 0, 0, 0] + [2, 0, 0, 1, 1]
HAND_CLASSES = ('cat', 'dog', 'horse')


@pytest.mark.parametrize('as_scores', [False, True])
def test_hand_computed(as_scores):
    if as_scores:
        scores = torch.nn.functional.one_hot(torch.tensor(HAND_PRED), 3).float() * 0.8 + 0.05
        samples = _samples_from_scores(scores, HAND_GT)
    else:
        samples = _samples_from_labels(HAND_PRED, HAND_GT)
    res = _evaluate(VisDAMetric(classes=HAND_CLASSES), samples)
    assert res == pytest.approx({
        'visda/mean_class_acc': 50.0,
        'visda/overall_acc': 60.0,
        'visda/acc_cat': 90.0,
        'visda/acc_dog': 40.0,
        'visda/acc_horse': 20.0,
    })
    # the same numbers from mmpretrain's metrics
    mmpre = _evaluate(SingleLabelMetric(items=['recall'], average='macro', num_classes=3),
                      _samples_from_labels(HAND_PRED, HAND_GT))
    assert mmpre['single-label/recall'] == pytest.approx(50.0)


def test_equals_mmpretrain_macro_recall_on_random_data():
    torch.manual_seed(0)
    n, c = 1000, 12
    gts = torch.randint(0, c, (n, ))
    # imbalanced, better than chance: mean class acc and overall acc differ
    gts[:300] = 7
    scores = torch.rand(n, c)
    scores[torch.arange(n), gts] += torch.rand(n) * 0.6
    scores = scores.softmax(-1)
    samples = _samples_from_scores(scores, gts)

    res = _evaluate(VisDAMetric(), samples)
    recall = _evaluate(SingleLabelMetric(items=['recall'], average='macro'), samples)
    per_class = _evaluate(SingleLabelMetric(items=['recall'], average=None), samples)
    acc = _evaluate(Accuracy(topk=1), samples)

    assert res['visda/mean_class_acc'] == pytest.approx(recall['single-label/recall'], abs=1e-4)
    assert res['visda/overall_acc'] == pytest.approx(acc['accuracy/top1'], abs=1e-4)
    assert [res[f'visda/acc_{name}'] for name in VISDA17_CATEGORIES] == pytest.approx(
        per_class['single-label/recall_classwise'], abs=1e-4)
    assert abs(res['visda/mean_class_acc'] - res['visda/overall_acc']) > 0.1


def test_classes_from_dataset_meta_and_defaults():
    samples = _samples_from_labels(HAND_PRED, HAND_GT)
    res = _evaluate(VisDAMetric(), samples, dataset_meta=dict(classes=('a', 'b', 'c')))
    assert set(res) == {'visda/mean_class_acc', 'visda/overall_acc', 'visda/acc_a',
                        'visda/acc_b', 'visda/acc_c'}
    res = _evaluate(VisDAMetric(prefix='val'), _samples_from_labels([0, 11], [0, 11]))
    assert set(res) == {'val/mean_class_acc', 'val/overall_acc'} | {
        f'val/acc_{name}' for name in VISDA17_CATEGORIES}


def test_absent_class_is_nan_and_left_out(monkeypatch):
    logged = []
    monkeypatch.setattr(visda_metric_module, 'print_log', lambda msg, **kw: logged.append(msg))
    # class 1 never occurs in the ground truth
    res = _evaluate(VisDAMetric(classes=HAND_CLASSES),
                    _samples_from_labels([0, 0, 2, 1], [0, 0, 2, 2]))
    assert math.isnan(res['visda/acc_dog'])
    assert res['visda/acc_cat'] == 100.0 and res['visda/acc_horse'] == 50.0
    assert res['visda/mean_class_acc'] == pytest.approx(75.0)
    assert res['visda/overall_acc'] == pytest.approx(75.0)
    assert any('dog' in m and 'left out' in m for m in logged)


def test_per_class_table_is_logged(monkeypatch):
    logged = []
    monkeypatch.setattr(visda_metric_module, 'print_log', lambda msg, **kw: logged.append(msg))
    _evaluate(VisDAMetric(classes=HAND_CLASSES), _samples_from_labels(HAND_PRED, HAND_GT))
    table = [m for m in logged if 'per-class accuracy' in m]
    assert len(table) == 1
    for text in ('cat', 'dog', 'horse', '90.00', '40.00', '20.00', '50.00', '60.00'):
        assert text in table[0]


def test_flip_average_warns_without_tta(monkeypatch):
    logged = []
    monkeypatch.setattr(visda_metric_module, 'print_log',
                        lambda msg, **kw: logged.append((msg, kw.get('level'))))
    samples = _samples_from_labels(HAND_PRED, HAND_GT)
    _evaluate(VisDAMetric(classes=HAND_CLASSES, flip_average=True), samples)
    assert any('--tta' in m and lvl is not None for m, lvl in logged)

    # merged TTA samples keep the meta information of the first (flipped) view: no warning
    logged.clear()
    flipped = []
    for s in _samples_from_labels(HAND_PRED, HAND_GT):
        s.set_metainfo(dict(flip=True, flip_direction='horizontal'))
        flipped.append(s)
    res = _evaluate(VisDAMetric(classes=HAND_CLASSES, flip_average=True), flipped)
    assert not any('--tta' in m for m, _ in logged)
    assert any('flip-averaged' in m for m, _ in logged)
    assert res['visda/mean_class_acc'] == pytest.approx(50.0)


class _FlipSensitiveClassifier(torch.nn.Module):
    """Stands in for a classifier: wrong on the plain view, right on the mirrored one."""

    def test_step(self, data):
        out = []
        for sample in data['data_samples']:
            score = [0.75, 0.25, 0.0] if sample.flip else [0.45, 0.55, 0.0]
            out.append(sample.clone().set_pred_score(torch.tensor(score)))
        return out


def test_average_cls_score_tta_then_metric():
    """AverageClsScoreTTA averages the scores of the two views; the metric scores the average."""
    from mmpretrain.models import AverageClsScoreTTA

    def views(flip):
        return [DataSample(metainfo=dict(flip=flip)).set_gt_label(0) for _ in range(2)]

    # a TTA batch as default_collate makes it: one entry per augmentation
    batch = dict(inputs=[torch.zeros(2, 3, 4, 4)] * 2, data_samples=[views(True), views(False)])
    merged = AverageClsScoreTTA(module=_FlipSensitiveClassifier()).test_step(batch)
    assert len(merged) == 2
    assert merged[0].pred_score.tolist() == pytest.approx([0.6, 0.4, 0.0])

    # single view (plain): wrong; flip-averaged (0.6, 0.4, 0): right, and no warning
    single = _FlipSensitiveClassifier().test_step(dict(data_samples=views(False)))
    assert _evaluate(VisDAMetric(classes=HAND_CLASSES), single)['visda/overall_acc'] == 0.0
    res = _evaluate(VisDAMetric(classes=HAND_CLASSES, flip_average=True), merged)
    assert res['visda/overall_acc'] == 100.0
    assert res['visda/mean_class_acc'] == 100.0


def test_input_errors():
    with pytest.raises(ValueError, match='pred_score has 3 entries but there are 12 classes'):
        _evaluate(VisDAMetric(), _samples_from_scores(torch.rand(2, 3), [0, 1]))
    with pytest.raises(ValueError, match='ground-truth label 5 is out of range'):
        _evaluate(VisDAMetric(classes=HAND_CLASSES), _samples_from_labels([0, 1], [0, 5]))
    with pytest.raises(KeyError, match='neither pred_score nor pred_label'):
        _evaluate(VisDAMetric(), [DataSample().set_gt_label(0)])
    with pytest.raises(KeyError, match='no gt_label'):
        _evaluate(VisDAMetric(), [DataSample().set_pred_label(0)])


def test_registered_in_mmpretrain():
    from mmpretrain.registry import METRICS
    metric = METRICS.build(dict(type='VisDAMetric', flip_average=True))
    assert isinstance(metric, VisDAMetric) and metric.flip_average

"""MultiDatasetEvaluator, ConcatEvalDataset and ClassSubsetIoUMetric on hand-computed cases:
per-dataset metrics and their unweighted mean (not the pooled mIoU), any batch size, uneven
dataset sizes, two gloo processes."""
import json
import os
import socket

import numpy as np
import pytest
import torch
import torch.multiprocessing as mp
from mmengine.dataset import BaseDataset, DefaultSampler
from mmengine.evaluator import Evaluator
from mmengine.registry import EVALUATOR, init_default_scope
from mmengine.structures import PixelData
from mmseg.evaluation import IoUMetric
from mmseg.structures import SegDataSample

import csg_mm  # noqa: F401
from csg_mm.datasets import ConcatEvalDataset
from csg_mm.evaluation import ClassSubsetIoUMetric, MultiDatasetEvaluator
from csg_mm.evaluation.metrics.class_subset_iou_metric import SYNTHIA_13_CLASSES, SYNTHIA_16_CLASSES

CLASSES = ('a', 'b')
# Every sample is (ground truth, prediction), one row of pixels, classes 0 / 1.
PERFECT = ([0, 1], [0, 1])  # IoU a = b = 1
HALF = ([0, 1], [0, 0])  # a: inter 1 / union 2; b: inter 0 / union 1
MIXED = ([0, 0, 1, 1], [0, 1, 1, 1])  # a: 1/2; b: 2/3


def _sample(gt, pred):
    sample = SegDataSample()
    sample.gt_sem_seg = PixelData(data=torch.tensor([gt]))
    sample.pred_sem_seg = PixelData(data=torch.tensor([pred]))
    return sample


def _evaluator(prefixes, sizes, metric=None):
    evaluator = MultiDatasetEvaluator(
        metrics=metric or dict(type='IoUMetric', iou_metrics=['mIoU']),
        dataset_prefixes=prefixes)
    evaluator.dataset_meta = dict(classes=CLASSES, cumulative_sizes=list(np.cumsum(sizes)))
    return evaluator


def _run(evaluator, samples, batch_size):
    for i in range(0, len(samples), batch_size):
        evaluator.process([_sample(*s) for s in samples[i:i + batch_size]])
    return evaluator.evaluate(len(samples))


@pytest.fixture(autouse=True)
def _mmseg_scope():
    init_default_scope('mmseg')


def test_per_dataset_and_mean_not_pooled():
    samples = [PERFECT, HALF]  # dataset 1: mIoU 100; dataset 2: (50 + 0) / 2 = 25
    pooled = Evaluator(dict(type='IoUMetric', iou_metrics=['mIoU']))
    pooled.dataset_meta = dict(classes=CLASSES)
    # the trap: pooled pixels, a: 2/3, b: 1/2 -> 58.33
    assert _run(pooled, samples, 1)['mIoU'] == pytest.approx(58.33)

    res = _run(_evaluator(['x', 'y'], [1, 1]), samples, 1)
    assert res['x/mIoU'] == 100.0 and res['y/mIoU'] == 25.0
    assert res['mean/mIoU'] == 62.5
    assert res['x/aAcc'] == 100.0 and res['y/aAcc'] == 50.0 and res['mean/aAcc'] == 75.0
    assert res['y/mAcc'] == 50.0 and res['mean/mAcc'] == 75.0
    assert set(res) == {f'{p}/{k}' for p in ('x', 'y', 'mean') for k in ('aAcc', 'mIoU', 'mAcc')}


@pytest.mark.parametrize('batch_size', [1, 3, 8])
def test_batch_size_and_uneven_sizes(batch_size, capsys):
    # sizes 2, 5, 1: batches of 3 straddle both boundaries
    samples = [PERFECT] * 2 + [HALF] * 5 + [MIXED]
    res = _run(_evaluator(['p', 'q', 'r'], [2, 5, 1]), samples, batch_size)
    assert (res['p/mIoU'], res['p/aAcc'], res['p/mAcc']) == (100.0, 100.0, 100.0)
    # q: a 5/10, b 0/5 -> 25; aAcc 5/10; mAcc (5/5 + 0/5) / 2
    assert (res['q/mIoU'], res['q/aAcc'], res['q/mAcc']) == (25.0, 50.0, 50.0)
    # r: a 1/2, b 2/3 -> 58.33; aAcc 3/4; mAcc (1/2 + 2/2) / 2
    assert (res['r/mIoU'], res['r/aAcc'], res['r/mAcc']) == (58.33, 75.0, 75.0)
    assert res['mean/mIoU'] == round((100 + 25 + 58.33) / 3, 2) == 61.11
    assert res['mean/aAcc'] == res['mean/mAcc'] == 75.0


def test_log_names_each_dataset():
    import logging

    from mmengine.logging import MMLogger
    logger = MMLogger.get_current_instance()
    messages = []
    handler = logging.Handler()
    handler.emit = lambda record: messages.append(record.getMessage())
    logger.addHandler(handler)
    try:
        _run(_evaluator(['cityscapes', 'bdd100k'], [1, 1]), [PERFECT, HALF], 1)
    finally:
        logger.removeHandler(handler)
    text = '\n'.join(messages)
    assert text.index('cityscapes: 1 samples') < text.index('bdd100k: 1 samples')
    assert text.count('per class results:') == 2
    assert 'mean (unweighted)' in text


def test_metric_prefix_and_registry():
    evaluator = EVALUATOR.build(
        dict(type='MultiDatasetEvaluator', dataset_prefixes=['x', 'y'],
             metrics=[dict(type='IoUMetric', prefix='seg')]))
    evaluator.dataset_meta = dict(classes=CLASSES, cumulative_sizes=[1, 2])
    res = _run(evaluator, [PERFECT, HALF], 2)
    assert res['x/seg/mIoU'] == 100.0 and res['mean/seg/mIoU'] == 62.5


@pytest.mark.parametrize('prefixes, match', [
    ([], 'non-empty list'),
    ('cityscapes', 'non-empty list'),
    (['a', 'a'], 'repeat'),
    (['mean', 'b'], 'bad dataset prefix'),
    (['a/b', 'c'], 'bad dataset prefix'),
    (['', 'c'], 'bad dataset prefix'),
])
def test_bad_prefixes(prefixes, match):
    with pytest.raises(ValueError, match=match):
        MultiDatasetEvaluator(metrics=dict(type='IoUMetric'), dataset_prefixes=prefixes)


def test_plain_dataset_meta_is_refused():
    """Refused when the runner hands over the dataset meta, before any testing."""
    evaluator = MultiDatasetEvaluator(dict(type='IoUMetric'), ['x', 'y'])
    with pytest.raises(ValueError, match='ConcatEvalDataset'):
        evaluator.dataset_meta = dict(classes=CLASSES)  # a plain (or mmengine Concat) dataset
    # and at evaluation, whatever set it
    evaluator._dataset_meta = evaluator.metrics[0].dataset_meta = dict(classes=CLASSES)
    evaluator.process([_sample(*PERFECT)])
    with pytest.raises(ValueError, match='ConcatEvalDataset'):
        evaluator.evaluate(1)


def test_prefix_count_mismatch():
    with pytest.raises(ValueError, match='2 dataset_prefixes .* for 3 datasets'):
        _evaluator(['x', 'y'], [1, 1, 1])


def test_size_mismatch():
    evaluator = _evaluator(['x', 'y'], [1, 1])
    evaluator.process([_sample(*PERFECT)] * 3)
    with pytest.raises(ValueError, match='hold 2 samples .* but 3 were evaluated'):
        evaluator.evaluate(3)


def test_empty_dataset():
    with pytest.raises(ValueError, match='"y" has no samples'):
        _evaluator(['x', 'y'], [2, 0])


# ------------------------------------------------------------------ two gloo processes


def _free_port():
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def _rank_worker(rank, world_size, port, samples, sizes, out_dir):
    import torch.distributed as dist

    init_default_scope('mmseg')
    dist.init_process_group('gloo', init_method=f'tcp://127.0.0.1:{port}', rank=rank,
                            world_size=world_size)
    try:
        evaluator = _evaluator(['p', 'q', 'r'], sizes)
        # the indices mmengine's DefaultSampler gives this rank (padded to equal length)
        sampler = DefaultSampler(list(range(len(samples))), shuffle=False)
        indices = list(sampler)
        for i in range(0, len(indices), 3):  # batch size 3
            evaluator.process([_sample(*samples[j]) for j in indices[i:i + 3]])
        res = evaluator.evaluate(len(samples))
        with open(os.path.join(out_dir, f'rank{rank}.json'), 'w') as f:
            json.dump({k: float(str(v)) for k, v in res.items()}, f)  # float32 -> 2 decimals
    finally:
        dist.destroy_process_group()


def test_two_gloo_ranks(tmp_path):
    # 7 samples on 2 ranks: rank 0 gets 0, 2, 4, 6; rank 1 gets 1, 3, 5 and the padding 0 (a
    # sample of dataset p), which collect_results must drop
    samples = [PERFECT] * 2 + [HALF] * 4 + [MIXED]
    mp.spawn(_rank_worker, args=(2, _free_port(), samples, [2, 4, 1], str(tmp_path)),
             nprocs=2, join=True)
    results = [json.loads((tmp_path / f'rank{r}.json').read_text()) for r in range(2)]
    assert results[0] == results[1]  # broadcast to every rank
    res = results[0]
    assert (res['p/mIoU'], res['q/mIoU'], res['r/mIoU']) == (100.0, 25.0, 58.33)
    assert res['p/aAcc'] == 100.0  # a duplicated perfect sample would not show; q would:
    assert res['q/aAcc'] == 50.0 and res['mean/mIoU'] == 61.11


# ------------------------------------------------------------------ ConcatEvalDataset


class _ListDataset(BaseDataset):
    METAINFO = dict(classes=CLASSES, palette=[[0, 0, 0], [1, 1, 1]])

    def __init__(self, num, **kwargs):
        self._num = num
        super().__init__(serialize_data=False, **kwargs)

    def load_data_list(self):
        return [dict(idx=i) for i in range(self._num)]


def test_concat_eval_dataset_sizes_and_meta():
    other_palette = _ListDataset(3, metainfo=dict(palette=[[9, 9, 9], [8, 8, 8]]))
    ds = ConcatEvalDataset([_ListDataset(2), other_palette, _ListDataset(1)])
    assert len(ds) == 6
    assert ds.metainfo['cumulative_sizes'] == [2, 5, 6]
    assert ds.dataset_sizes == [2, 3, 1]
    assert ds.metainfo['palette'] == [[0, 0, 0], [1, 1, 1]]  # the first dataset's
    assert ds.datasets[1].metainfo['palette'] == [[9, 9, 9], [8, 8, 8]]
    assert ds[2] == dict(idx=0, sample_idx=0)  # first sample of the second dataset


def test_concat_eval_dataset_lazy_init():
    ds = ConcatEvalDataset([_ListDataset(2), _ListDataset(2)], lazy_init=True)
    assert ds.metainfo['cumulative_sizes'] == [2, 4]


def test_concat_eval_dataset_class_mismatch():
    with pytest.raises(ValueError, match=r"dataset 1 \(_ListDataset\) has the classes \('c',"):
        ConcatEvalDataset([_ListDataset(1), _ListDataset(1, metainfo=dict(classes=('c', 'd')))])
    with pytest.raises(ValueError, match='at least one dataset'):
        ConcatEvalDataset([])


# ------------------------------------------------------------------ ClassSubsetIoUMetric


def test_class_subset_iou():
    metric = ClassSubsetIoUMetric(class_subsets=dict(mIoU2=['a', 'c'], mIoU1=['b']))
    metric.dataset_meta = dict(classes=('a', 'b', 'c'))
    # a: gt 2, pred 2, inter 1 -> 1/3; b: gt 2, pred 2, inter 1 -> 1/3; c: 2/2
    metric.process({}, [_sample([0, 0, 1, 2, 2], [0, 1, 1, 2, 2]).to_dict(),
                        _sample([1], [0]).to_dict()])
    res = metric.evaluate(2)
    assert res['mIoU'] == round((1 / 3 + 1 / 3 + 1) / 3 * 100, 2) == 55.56
    assert res['mIoU2'] == 66.67  # (1/3 + 1) / 2
    assert res['mIoU1'] == 33.33


def test_synthia_subsets():
    from mmseg.datasets import CityscapesDataset
    cityscapes = CityscapesDataset.METAINFO['classes']
    assert len(SYNTHIA_16_CLASSES) == 16 and len(SYNTHIA_13_CLASSES) == 13
    assert set(cityscapes) - set(SYNTHIA_16_CLASSES) == {'terrain', 'truck', 'train'}
    assert set(SYNTHIA_16_CLASSES) - set(SYNTHIA_13_CLASSES) == {'wall', 'fence', 'pole'}
    metric = ClassSubsetIoUMetric(class_subsets=dict(mIoU16='synthia-16', mIoU13='synthia-13'))
    metric.dataset_meta = dict(classes=cityscapes)
    # every class right except terrain (9) predicted as wall (3): wall 1/2, terrain 0/1
    gt = list(range(19))
    pred = [3 if c == 9 else c for c in gt]
    metric.process({}, [_sample(gt, pred).to_dict()])
    res = metric.evaluate(1)
    assert res['mIoU'] == round((17 + 0.5) / 19 * 100, 2)
    assert res['mIoU16'] == round((15 + 0.5) / 16 * 100, 2)
    assert res['mIoU13'] == 100.0


@pytest.mark.parametrize('kwargs, match', [
    (dict(class_subsets=dict(mIoU16='synthia-15')), 'unknown class subset'),
    (dict(class_subsets=dict(mIoU16=[])), 'is empty'),
    (dict(class_subsets=dict(mIoU=['a'])), 'a key IoUMetric reports'),
    (dict(class_subsets=dict(m=['a']), iou_metrics=['mDice']), "need 'mIoU'"),
])
def test_class_subset_bad_config(kwargs, match):
    with pytest.raises(ValueError, match=match):
        ClassSubsetIoUMetric(**kwargs)


def test_class_subset_unknown_class():
    metric = ClassSubsetIoUMetric(class_subsets=dict(m=['a', 'zebra']))
    metric.dataset_meta = dict(classes=CLASSES)
    metric.process({}, [_sample(*PERFECT).to_dict()])
    with pytest.raises(ValueError, match=r"\['zebra'\] of subset \"m\" are not among"):
        metric.evaluate(1)


def test_pooled_equals_iou_metric_on_one_dataset():
    """One dataset: the evaluator's values are IoUMetric's."""
    samples = [PERFECT, HALF, MIXED]
    plain = Evaluator(IoUMetric())
    plain.dataset_meta = dict(classes=CLASSES)
    ref = _run(plain, samples, 2)
    res = _run(_evaluator(['only'], [3]), samples, 2)
    for key, value in ref.items():
        assert res[f'only/{key}'] == value == res[f'mean/{key}']

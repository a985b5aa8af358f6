"""Per-dataset metrics of one model on several test sets in one run, and their unweighted mean.

The domain-generalisation protocol reports, for ONE trained model, the mIoU on each real target
(Cityscapes val, BDD100K val, Mapillary Vistas val; ACDC per condition) and their mean. A plain
``ConcatDataset`` test set with ``IoUMetric`` instead pools the pixels of all targets into one
confusion matrix: two sets whose own mIoUs are 100.00 and 25.00 give one pooled ``mIoU`` of
58.33, not the two numbers and their mean 62.50 (tests/test_evaluation).

Design as MMDetection 3.x's ``MultiDatasetsEvaluator``: the test set is a
:class:`csg_mm.datasets.ConcatEvalDataset`, whose ``metainfo`` holds ``cumulative_sizes``; every
sample is processed once; at the end the results of all ranks are gathered in dataset order by
mmengine's ``collect_results`` (which also drops the samples a distributed sampler pads with) and
cut into one slice per dataset by those sizes. One difference: MMDetection gives every dataset its
own metric instance, each processing every sample; here the metrics are shared and each slice is
scored with ``metric.compute_metrics(slice)``, so a sample is processed once whatever the number of
test sets (the datasets have the same classes, which ``ConcatEvalDataset`` checks).
"""
import warnings
from collections import OrderedDict
from typing import Dict, List, Optional, Sequence, Union

import numpy as np
from mmengine.dist import broadcast_object_list, collect_results, is_main_process
from mmengine.evaluator import BaseMetric, Evaluator
from mmengine.evaluator.metric import _to_cpu
from mmengine.logging import print_log
from mmengine.registry import EVALUATOR
from prettytable import PrettyTable

MEAN_PREFIX = 'mean'


@EVALUATOR.register_module()
class MultiDatasetEvaluator(Evaluator):
    """Evaluate ``metrics`` on each dataset of a :class:`~csg_mm.datasets.ConcatEvalDataset`.

    Result keys are ``<dataset prefix>/<metric key>`` (``<dataset prefix>/<metric prefix>/<key>``
    when the metric has a ``prefix``), e.g. ``cityscapes/mIoU``, ``bdd100k/aAcc``; and, for every
    key that all datasets report, ``mean/<key>``: the unweighted mean over the datasets of their
    values (each dataset counts once, whatever its number of images), rounded to 2 decimals like
    mmseg's values. With mmseg's ``IoUMetric`` all values are percentages in [0, 100]. Before each
    dataset's metrics the log names the dataset and its number of samples (``IoUMetric`` then
    logs that dataset's per-class table); a summary table (datasets x metrics, plus the mean) is
    logged at the end.

    Works for any batch size, uneven dataset sizes and distributed evaluation: samples are
    assigned to datasets by their index in the concatenation, never by file names.

    Args:
        metrics (dict | BaseMetric | Sequence): The metric(s) applied to every dataset, e.g.
            ``dict(type='IoUMetric', iou_metrics=['mIoU'])``.
        dataset_prefixes (Sequence[str]): One name per dataset, in the order of the
            ``ConcatEvalDataset``'s ``datasets``, e.g. ``['cityscapes', 'bdd100k',
            'mapillary']``. Names must be unique, non-empty, without ``/`` and not ``'mean'``.

    Raises:
        ValueError: Bad ``dataset_prefixes``; when the runner sets ``dataset_meta`` (before
            testing) and at evaluation: a dataset meta without ``cumulative_sizes`` (the test set
            is not a ``ConcatEvalDataset``), a number of prefixes other than the number of
            datasets, an empty dataset; at evaluation: a number of evaluated samples other than
            the datasets' total, two results with the same key.
    """

    def __init__(self, metrics: Union[dict, BaseMetric, Sequence],
                 dataset_prefixes: Sequence[str]) -> None:
        super().__init__(metrics)
        if isinstance(dataset_prefixes, str) or not dataset_prefixes:
            raise ValueError('MultiDatasetEvaluator: dataset_prefixes must be a non-empty list of '
                             f'names, one per dataset; got {dataset_prefixes!r}')
        prefixes = [str(p) for p in dataset_prefixes]
        bad = [p for p in prefixes if not p or '/' in p or p == MEAN_PREFIX]
        if bad:
            raise ValueError(f'MultiDatasetEvaluator: bad dataset prefix(es) {bad}: a prefix must '
                             f'be non-empty, without "/", and not "{MEAN_PREFIX}"')
        if len(set(prefixes)) != len(prefixes):
            raise ValueError(f'MultiDatasetEvaluator: dataset_prefixes {prefixes} repeat a name')
        self.dataset_prefixes: List[str] = prefixes

    @property
    def dataset_meta(self) -> Optional[dict]:
        """The test set's meta information (``ConcatEvalDataset.metainfo``: the datasets' common
        meta information plus ``cumulative_sizes``), also given to every metric."""
        return self._dataset_meta

    @dataset_meta.setter
    def dataset_meta(self, dataset_meta: dict) -> None:
        self._cumulative_sizes(dataset_meta)  # fail when the loop is built, not after testing
        self._dataset_meta = dataset_meta
        for metric in self.metrics:
            metric.dataset_meta = dataset_meta

    def _cumulative_sizes(self, meta) -> List[int]:
        sizes = meta.get('cumulative_sizes') if isinstance(meta, dict) else None
        if sizes is None:
            raise ValueError(
                'MultiDatasetEvaluator needs the per-dataset sizes: use '
                "dict(type='ConcatEvalDataset', datasets=[...]) as the dataloader's dataset (its "
                'metainfo carries `cumulative_sizes`); got a dataset meta without them')
        sizes = [int(s) for s in sizes]
        if len(sizes) != len(self.dataset_prefixes):
            raise ValueError(
                f'MultiDatasetEvaluator: {len(self.dataset_prefixes)} dataset_prefixes '
                f'{self.dataset_prefixes} for {len(sizes)} datasets (cumulative sizes {sizes}); '
                'give one prefix per dataset, in the order of `datasets`')
        for prefix, start, end in zip(self.dataset_prefixes, [0] + sizes[:-1], sizes):
            if end <= start:
                raise ValueError(f'MultiDatasetEvaluator: dataset "{prefix}" has no samples')
        return sizes

    def _dataset_slices(self, size: int) -> List[slice]:
        """``slice`` of the collected results for each dataset, checked against ``size``."""
        sizes = self._cumulative_sizes(self.dataset_meta)
        if sizes[-1] != size:
            raise ValueError(f'MultiDatasetEvaluator: the datasets hold {sizes[-1]} samples '
                             f'(cumulative sizes {sizes}) but {size} were evaluated')
        starts = [0] + sizes[:-1]
        return [slice(s, e) for s, e in zip(starts, sizes)]

    def evaluate(self, size: int) -> dict:
        """Gather the results of all ranks, score each dataset's slice, add the means.

        Args:
            size (int): Length of the whole concatenated test set (mmengine's loops pass
                ``len(dataloader.dataset)``); ``collect_results`` drops the padding beyond it.

        Returns:
            dict: ``{'<prefix>/<key>': value, ..., 'mean/<key>': value}`` on every rank.
        """
        slices = self._dataset_slices(size)
        collected = []
        for metric in self.metrics:
            if len(metric.results) == 0:
                warnings.warn(f'{metric.__class__.__name__} got empty `self.results`. Please '
                              'ensure that the processed results are properly added into '
                              '`self.results` in `process` method.', stacklevel=2)
            collected.append(collect_results(metric.results, size, metric.collect_device))
            metric.results.clear()

        results: List[Optional[dict]] = [None]
        if is_main_process():
            results = [self._compute(collected, slices)]
        broadcast_object_list(results)
        return results[0]

    def _compute(self, collected: List[list], slices: List[slice]) -> Dict[str, float]:
        per_dataset: Dict[str, Dict[str, float]] = OrderedDict()
        for prefix, part in zip(self.dataset_prefixes, slices):
            print_log(f'---------- {prefix}: {part.stop - part.start} samples ----------',
                      logger='current')
            values: Dict[str, float] = OrderedDict()
            for metric, results in zip(self.metrics, collected):
                scored = metric.compute_metrics(_to_cpu(results[part]))
                for key, value in scored.items():
                    name = f'{metric.prefix}/{key}' if metric.prefix else key
                    if name in values:
                        raise ValueError(
                            f'MultiDatasetEvaluator: two metrics report "{name}"; give the '
                            'metrics different `prefix`es')
                    values[name] = value
            per_dataset[prefix] = values

        out: Dict[str, float] = OrderedDict()
        for prefix, values in per_dataset.items():
            out.update((f'{prefix}/{key}', value) for key, value in values.items())
        first = next(iter(per_dataset.values()))
        for key in first:
            vals = [values.get(key) for values in per_dataset.values()]
            if all(_is_number(v) for v in vals):
                out[f'{MEAN_PREFIX}/{key}'] = round(float(np.mean(vals)), 2)
        _log_summary(per_dataset, out)
        return out


def _is_number(value) -> bool:
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)


def _log_summary(per_dataset: Dict[str, Dict[str, float]], out: Dict[str, float]) -> None:
    keys = [k[len(MEAN_PREFIX) + 1:] for k in out if k.startswith(MEAN_PREFIX + '/')]
    if not keys:
        return
    table = PrettyTable()
    table.field_names = ['dataset', *keys]
    for prefix, values in per_dataset.items():
        table.add_row([prefix, *[values[k] for k in keys]])
    table.add_row([f'{MEAN_PREFIX} (unweighted)', *[out[f'{MEAN_PREFIX}/{k}'] for k in keys]])
    print_log('per-dataset results:\n' + table.get_string(), logger='current')

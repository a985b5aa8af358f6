# Copyright (c) csg_mm contributors. All rights reserved.
"""The VisDA-2017 classification protocol: mean of the per-class accuracies."""
import logging
from typing import Dict, List, Optional, Sequence

import numpy as np
import torch
from mmengine.evaluator import BaseMetric
from mmengine.logging import print_log
from mmpretrain.registry import METRICS
from prettytable import PrettyTable

from csg_mm.datasets.visda17 import VISDA17_CATEGORIES


def _as_int(value, name: str) -> int:
    """Turn a one-element tensor / array / number into an ``int``."""
    arr = torch.as_tensor(value).reshape(-1)
    if arr.numel() != 1:
        raise ValueError(f'VisDAMetric expects a single {name} per sample (single-label '
                         f'classification), got {arr.numel()} values.')
    return int(arr[0])


@METRICS.register_module()
class VisDAMetric(BaseMetric):
    r"""Mean class accuracy, the VisDA-2017 classification metric.

    VisDA-2017 (and CSG, Chen et al., ICLR 2021, Tables 1-4) reports the mean over the 12 classes
    of the per-class accuracy (the recall of each class), not the overall accuracy: the real
    validation set is imbalanced (e.g. many more ``person`` crops than ``knife`` crops), so the two
    differ.

    .. math::

        \text{acc}_c = \frac{\#\{i : \hat y_i = c, y_i = c\}}{\#\{i : y_i = c\}}, \qquad
        \text{mean\_class\_acc} = \frac{1}{|C'|} \sum_{c \in C'} \text{acc}_c

    where :math:`C'` are the classes present in the ground truth (all 12 on the VisDA validation
    set; a class absent from the evaluated samples gets ``nan`` and is left out of the mean, with
    a warning). With every class present this equals mmpretrain's
    ``SingleLabelMetric(items=['recall'], average='macro')``. All values are percentages.

    The predicted class is the arg-max of ``pred_score`` when the data samples carry it (also the
    case for the merged samples of a TTA model), otherwise ``pred_label``. ``gt_label`` is the
    target. A per-class table (accuracy, correct, total) is logged after every evaluation.

    **Flip averaging.** The CSG authors average the class scores of each image with those of its
    horizontally flipped copy. This is a property of the predictions, not of the metric, and is
    done with mmpretrain's test-time augmentation: ``configs/_base_/datasets/visda17_flip_tta.py``
    defines ``tta_model = dict(type='AverageClsScoreTTA')`` and a ``tta_pipeline`` with
    ``TestTimeAug`` over ``RandomFlip(prob=1.)`` / ``RandomFlip(prob=0.)``; add it to ``_base_``
    and run ``tools/test.py CONFIG CHECKPOINT --tta``. The metric then scores the averaged
    ``pred_score`` like any other. ``flip_average=True`` only declares that this is expected:
    the results are then checked to come from a flip TTA (the ``flip`` key that ``RandomFlip``
    leaves in the sample meta information) and a warning is logged when they do not (e.g.
    ``--tta`` was forgotten). The snippet config sets it.

    Args:
        classes (Sequence[str], optional): Class names, used for the result keys and the table.
            Defaults to None: the ``classes`` of ``dataset_meta`` (set by the runner from the
            dataset), else the 12 VisDA-2017 classes.
        flip_average (bool): Whether the predictions are expected to be flip-averaged by a TTA
            model (see above). Defaults to False.
        collect_device (str): Device used to collect results across ranks, ``'cpu'`` or
            ``'gpu'``. Defaults to ``'cpu'``.
        prefix (str, optional): Prefix of the result keys. Defaults to None, meaning
            :attr:`default_prefix` (``'visda'``).

    Returns (from :meth:`evaluate`):
        dict: ``'visda/mean_class_acc'``, ``'visda/overall_acc'`` and ``'visda/acc_<class>'`` for
        every class, in percent.

    Examples:
        >>> import torch
        >>> from mmpretrain.structures import DataSample
        >>> from csg_mm.evaluation import VisDAMetric
        >>> metric = VisDAMetric(classes=['a', 'b'])
        >>> samples = [DataSample().set_gt_label(g).set_pred_label(p).to_dict()
        ...            for g, p in [(0, 0), (0, 0), (0, 1), (1, 1)]]
        >>> metric.process(None, samples)
        >>> metric.evaluate(4)  # class a: 2/3, class b: 1/1, overall 3/4
        {'visda/mean_class_acc': 83.33..., 'visda/overall_acc': 75.0,
         'visda/acc_a': 66.66..., 'visda/acc_b': 100.0}

        In a config:

        .. code:: python

            val_evaluator = dict(type='VisDAMetric')
            test_evaluator = val_evaluator
    """
    default_prefix: Optional[str] = 'visda'

    def __init__(self,
                 classes: Optional[Sequence[str]] = None,
                 flip_average: bool = False,
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        self.classes = tuple(classes) if classes is not None else None
        self.flip_average = flip_average

    @property
    def class_names(self) -> Sequence[str]:
        """The class names: ``classes``, else the dataset's, else VisDA-2017's."""
        if self.classes is not None:
            return self.classes
        if self.dataset_meta and self.dataset_meta.get('classes'):
            return tuple(self.dataset_meta['classes'])
        return VISDA17_CATEGORIES

    def process(self, data_batch, data_samples: Sequence[dict]) -> None:
        """Store the predicted and true class of every sample of a batch.

        Args:
            data_batch: A batch of data from the dataloader (unused).
            data_samples (Sequence[dict]): A batch of outputs of the model (mmpretrain
                ``DataSample`` converted to dicts by the evaluator, or ``DataSample``).
        """
        num_classes = len(self.class_names)
        for data_sample in data_samples:
            pred_score = data_sample.get('pred_score', None)
            if pred_score is not None:
                pred_score = torch.as_tensor(pred_score).reshape(-1)
                if pred_score.numel() != num_classes:
                    raise ValueError(
                        f'VisDAMetric: pred_score has {pred_score.numel()} entries but there '
                        f'are {num_classes} classes ({", ".join(self.class_names)}).')
                pred = int(pred_score.argmax())
            elif data_sample.get('pred_label', None) is not None:
                pred = _as_int(data_sample['pred_label'], 'pred_label')
            else:
                raise KeyError('VisDAMetric: a data sample has neither pred_score nor '
                               'pred_label.')
            if data_sample.get('gt_label', None) is None:
                raise KeyError('VisDAMetric: a data sample has no gt_label (is the dataset '
                               'labelled?).')
            gt = _as_int(data_sample['gt_label'], 'gt_label')
            self.results.append((pred, gt, 'flip' in data_sample))

    def compute_metrics(self, results: List) -> Dict[str, float]:
        """Compute the per-class, mean-class and overall accuracies.

        Args:
            results (list): ``(pred, gt, has_flip)`` tuples of all ranks.

        Returns:
            dict: ``mean_class_acc``, ``overall_acc`` and ``acc_<class>`` (percent).
        """
        classes = list(self.class_names)
        num_classes = len(classes)
        pred = np.array([r[0] for r in results], dtype=np.int64)
        gt = np.array([r[1] for r in results], dtype=np.int64)
        for name, arr in (('predicted', pred), ('ground-truth', gt)):
            bad = arr[(arr < 0) | (arr >= num_classes)]
            if bad.size:
                raise ValueError(f'VisDAMetric: {name} label {int(bad[0])} is out of range '
                                 f'[0, {num_classes - 1}].')

        flipped = bool(results) and all(r[2] for r in results)
        if self.flip_average and not flipped:
            print_log(
                'VisDAMetric(flip_average=True): the predictions do not come from a flip '
                'test-time augmentation (no "flip" meta key). Add '
                'configs/_base_/datasets/visda17_flip_tta.py and run tools/test.py with --tta; '
                'the numbers below are single-view.',
                logger='current', level=logging.WARNING)

        confusion = np.bincount(gt * num_classes + pred,
                                minlength=num_classes**2).reshape(num_classes, num_classes)
        correct = np.diag(confusion)
        total = confusion.sum(axis=1)
        present = total > 0
        class_acc = np.full(num_classes, np.nan)
        class_acc[present] = correct[present] / total[present] * 100.0
        if not present.all():
            absent = [c for c, p in zip(classes, present) if not p]
            print_log(f'VisDAMetric: no samples of class(es) {", ".join(absent)}; left out of '
                      'the mean class accuracy.', logger='current', level=logging.WARNING)
        mean_class_acc = float(class_acc[present].mean()) if present.any() else float('nan')
        overall_acc = float(correct.sum() / total.sum() * 100.0) if total.sum() else float('nan')

        table = PrettyTable()
        table.add_column('Class', classes + ['mean (per class)', 'overall'])
        table.add_column('Acc (%)', [f'{a:.2f}' for a in class_acc] +
                         [f'{mean_class_acc:.2f}', f'{overall_acc:.2f}'])
        table.add_column('Correct', [int(c) for c in correct] + ['', int(correct.sum())])
        table.add_column('Total', [int(t) for t in total] + ['', int(total.sum())])
        title = 'VisDA-2017 per-class accuracy'
        if self.flip_average and flipped:
            title += ' (flip-averaged predictions)'
        print_log(f'{title}:\n{table.get_string()}', logger='current')

        metrics = {'mean_class_acc': mean_class_acc, 'overall_acc': overall_acc}
        for name, acc in zip(classes, class_acc):
            metrics[f'acc_{str(name).replace(" ", "_")}'] = float(acc)
        return metrics

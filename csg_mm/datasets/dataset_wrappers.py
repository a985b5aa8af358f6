"""A concatenation of test sets that still knows where each set starts, for per-dataset
evaluation of one model on several targets in one run (the domain-generalisation protocol:
Cityscapes + BDD100K + Mapillary, ACDC per condition).

Same design as MMDetection 3.x (``mmdet.datasets.ConcatDataset`` + ``MultiDatasetsEvaluator``):
the wrapper adds ``cumulative_sizes`` to its ``metainfo``, the runner hands that ``metainfo`` to
the evaluator (``evaluator.dataset_meta = dataset.metainfo`` in mmengine's ``ValLoop`` /
``TestLoop``), and :class:`csg_mm.evaluation.MultiDatasetEvaluator` slices the results, which
mmengine's ``collect_results`` returns in dataset order, by these sizes.
"""
import copy
from typing import List, Sequence, Union

from mmengine.dataset import BaseDataset, ConcatDataset
from mmengine.registry import DATASETS


@DATASETS.register_module()
class ConcatEvalDataset(ConcatDataset):
    """:class:`mmengine.dataset.ConcatDataset` whose ``metainfo`` carries ``cumulative_sizes``.

    Sample ``i`` of the concatenation belongs to dataset ``k`` when
    ``cumulative_sizes[k - 1] <= i < cumulative_sizes[k]`` (``cumulative_sizes[-1]`` is the total
    length); :class:`~csg_mm.evaluation.MultiDatasetEvaluator` scores each such slice on its own.

    Unlike mmengine's ``ConcatDataset``, only ``classes`` must agree between the datasets (the
    per-dataset metrics and their mean are over the same classes); other meta information (e.g.
    the palette, ``label_map``) may differ, and ``metainfo`` is that of the first dataset plus
    ``cumulative_sizes``. The meta information of dataset ``k`` is ``datasets[k].metainfo``.

    Args:
        datasets (Sequence[BaseDataset | dict]): The test sets (built datasets or configs), in
            the order of the evaluator's ``dataset_prefixes``. At least one.
        lazy_init (bool): Whether to defer loading the annotations until first use (then
            ``metainfo`` loads them, since the sizes need them). Defaults to False.

    Raises:
        ValueError: No datasets, or datasets whose ``classes`` differ (names the first one that
            differs from dataset 0 and both class lists).
        TypeError: An element of ``datasets`` is neither a dict nor a ``BaseDataset``.
    """

    def __init__(self,
                 datasets: Sequence[Union[BaseDataset, dict]],
                 lazy_init: bool = False) -> None:
        if not datasets:
            raise ValueError('ConcatEvalDataset needs at least one dataset in `datasets`')
        built = [DATASETS.build(d) if isinstance(d, dict) else d for d in datasets]
        first = built[0].metainfo.get('classes')
        for k, dataset in enumerate(built[1:], 1):
            classes = getattr(dataset, 'metainfo', {}).get('classes')
            if classes is not None and first is not None and tuple(classes) != tuple(first):
                raise ValueError(
                    f'ConcatEvalDataset: dataset {k} ({type(dataset).__name__}) has the classes '
                    f'{tuple(classes)}, dataset 0 ({type(built[0]).__name__}) has {tuple(first)}; '
                    'per-dataset metrics and their mean need the same classes in every dataset')
        meta_keys: set = set()
        for dataset in built:
            meta_keys |= set(getattr(dataset, 'metainfo', {}).keys())
        # mmengine's class checks every meta key; `classes` is checked above, the rest may differ
        super().__init__(built, lazy_init=lazy_init, ignore_keys=sorted(meta_keys))

    @property
    def metainfo(self) -> dict:
        """The first dataset's meta information plus ``cumulative_sizes`` (list[int])."""
        self.full_init()
        meta = copy.deepcopy(self._metainfo)
        meta['cumulative_sizes'] = list(self.cumulative_sizes)
        return meta

    @property
    def dataset_sizes(self) -> List[int]:
        """The number of samples of each dataset, in order."""
        self.full_init()
        return [len(d) for d in self.datasets]

"""mmengine's DefaultSampler that can start in the middle of an epoch."""
from typing import Iterator, Optional, Sized

from mmengine.dataset import DefaultSampler
from mmengine.registry import DATA_SAMPLERS

from ..position_seeded_dataset import SampleKey


@DATA_SAMPLERS.register_module()
class ResumableDefaultSampler(DefaultSampler):
    """mmengine's ``DefaultSampler`` (the same indices in the same order, epoch ``e`` shuffled
    with ``seed + e``) that can begin an epoch at any sample and says where each sample sits in
    the run's sample stream.

    It yields :class:`~csg_mm.datasets.position_seeded_dataset.SampleKey` ``(index, position,
    seed)`` triples, ``position = epoch * total_size + rank + k * world_size`` for this rank's
    ``k``-th sample of the epoch: wrap the dataset in
    :class:`~csg_mm.datasets.position_seeded_dataset.PositionSeededDataset` (the resumable
    training loops do so).

    Args:
        dataset (Sized): The dataset.
        shuffle (bool): Shuffle each epoch. Defaults to True.
        seed (int, optional): Base seed, identical on all ranks; None draws one (synchronised
            across ranks). Defaults to None.
        round_up (bool): As mmengine's ``DefaultSampler``. Defaults to True.
    """

    def __init__(self,
                 dataset: Sized,
                 shuffle: bool = True,
                 seed: Optional[int] = None,
                 round_up: bool = True) -> None:
        super().__init__(dataset, shuffle=shuffle, seed=seed, round_up=round_up)
        self.start = 0

    def set_start(self, start: int) -> None:
        """Make the next iterator begin at this rank's ``start``-th sample of the current epoch
        (``0 <= start <= len(self)``; e.g. ``batch_idx * batch_size``)."""
        if int(start) != start or not 0 <= start <= self.num_samples:
            raise ValueError(f'start must be an integer in [0, {self.num_samples}], '
                             f'got {start!r}')
        self.start = int(start)

    def __iter__(self) -> Iterator[SampleKey]:
        indices = list(super().__iter__())
        base = self.epoch * self.total_size + self.rank
        for k in range(self.start, len(indices)):
            yield SampleKey(indices[k], base + k * self.world_size, self.seed)

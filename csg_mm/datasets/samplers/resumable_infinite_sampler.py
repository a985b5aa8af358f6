"""An infinite sampler that can start anywhere in its sample stream, in O(1)."""
from typing import Iterator, List, Optional, Sized

import torch
from mmengine.dist import get_dist_info, sync_random_seed
from mmengine.registry import DATA_SAMPLERS
from torch.utils.data import Sampler

from ..position_seeded_dataset import SampleKey


@DATA_SAMPLERS.register_module()
class ResumableInfiniteSampler(Sampler):
    """Drop-in replacement of mmengine's ``InfiniteSampler`` for iteration-based training that
    can start at any point of its stream, and says where each sample sits in it.

    The stream is a sequence of epochs; epoch ``e`` is ``torch.randperm(len(dataset))`` drawn
    from a generator seeded with ``seed + e`` (``shuffle=True``, as mmengine's
    ``DefaultSampler`` seeds epochs) or ``0 .. len(dataset) - 1``. Global position ``p`` holds
    epoch ``p // len(dataset)``, offset ``p % len(dataset)``; rank ``r`` of ``W`` takes positions
    ``r, r + W, r + 2W, ...`` (mmengine's ``InfiniteSampler`` interleaves ranks the same way, but
    chains its epochs through one generator, so reaching epoch ``e`` costs ``e`` permutations).
    Starting at this rank's ``k``-th sample (:meth:`set_start`) therefore costs one permutation,
    whatever ``k`` is.

    It yields :class:`~csg_mm.datasets.position_seeded_dataset.SampleKey` ``(index, position,
    seed)`` triples: wrap the dataset in
    :class:`~csg_mm.datasets.position_seeded_dataset.PositionSeededDataset` (the resumable
    training loops do so).

    Args:
        dataset (Sized): The dataset (non-empty).
        shuffle (bool): Shuffle each epoch. Defaults to True.
        seed (int, optional): Base seed, identical on all ranks; None draws one (synchronised
            across ranks). Defaults to None.
    """

    def __init__(self, dataset: Sized, shuffle: bool = True, seed: Optional[int] = None) -> None:
        self.rank, self.world_size = get_dist_info()
        self.dataset = dataset
        self.shuffle = shuffle
        self.seed = sync_random_seed() if seed is None else seed
        self.size = len(dataset)
        if self.size == 0:
            raise ValueError('ResumableInfiniteSampler needs a non-empty dataset')
        self.start = 0

    def set_start(self, start: int) -> None:
        """Make the next iterator begin at this rank's ``start``-th sample of the stream
        (``start >= 0``; e.g. ``iteration * batch_size`` to resume at ``iteration``)."""
        if int(start) != start or start < 0:
            raise ValueError(f'start must be an integer >= 0, got {start!r}')
        self.start = int(start)

    def epoch_indices(self, epoch: int) -> List[int]:
        """The dataset indices of global epoch ``epoch`` of the stream, in order."""
        if not self.shuffle:
            return list(range(self.size))
        generator = torch.Generator()
        generator.manual_seed(self.seed + epoch)
        return torch.randperm(self.size, generator=generator).tolist()

    def __iter__(self) -> Iterator[SampleKey]:
        position = self.start * self.world_size + self.rank
        epoch, offset = divmod(position, self.size)
        order = self.epoch_indices(epoch)
        while True:
            yield SampleKey(order[offset], position, self.seed)
            position += self.world_size
            offset += self.world_size
            if offset >= self.size:
                epoch, offset = divmod(position, self.size)
                order = self.epoch_indices(epoch)

    def __len__(self) -> int:
        """Length of the dataset (as mmengine's ``InfiniteSampler``)."""
        return self.size

    def set_epoch(self, epoch: int) -> None:
        """Does nothing: the stream has no epochs to set (as mmengine's ``InfiniteSampler``)."""

"""Per-sample seeding of the data pipeline from the sample's position in the sample stream.

The random choices of a training pipeline (scale, crop, flip, colour jitter, RandAugment) are
normally drawn from the global ``numpy`` / ``random`` / ``torch`` generators of the process that
runs the pipeline: a dataloader worker seeded once by mmengine's ``worker_init_fn``. What a
sample gets then depends on every sample that worker processed before it, so a resumed run (new
workers; or ``persistent_workers``; or a skipped, never-loaded prefix of the stream) sees other
augmentations than the uninterrupted run.

:class:`PositionSeededDataset` removes that dependence: the resumable samplers
(:mod:`csg_mm.datasets.samplers`) yield a :class:`SampleKey` ``(index, position, seed)`` per
sample, and the wrapper seeds ``numpy``, ``random`` and ``torch`` from ``(seed, position)``
right before it runs the wrapped dataset's pipeline, then restores the generators' previous
state (so the main process's random streams are untouched when ``num_workers=0``). ``position``
is the sample's place in the global stream of the run (all ranks interleaved: rank ``r`` of
``W`` gets positions ``r, r + W, r + 2W, ...``), so the seed is a function of the run's seed,
the rank and the rank's position, and of nothing else.

Every pipeline draw still comes from the same generator type (MT19937 for numpy / random,
torch's CPU generator) with a fresh, well-mixed seed per sample (``numpy.random.SeedSequence``
with the position as spawn key), so the distribution of each augmentation is unchanged; only
which concrete draw a given sample gets differs from an unseeded run.
"""
import random
from contextlib import contextmanager
from typing import Iterator, NamedTuple, Union

import numpy as np
import torch
from mmengine.registry import DATASETS
from torch.utils.data import Dataset

# spawn-key domains: data samples and training iterations get disjoint seed families
DATA_DOMAIN = 0
ITER_DOMAIN = 1


class SampleKey(NamedTuple):
    """What a resumable sampler yields for one sample.

    Attributes:
        index (int): Index into the wrapped dataset, ``0 <= index < len(dataset)``.
        position (int): Place of the sample in the run's global sample stream (>= 0; all ranks
            interleaved).
        seed (int): The run's base seed (identical on all ranks).
    """
    index: int
    position: int
    seed: int


def derive_seed(seed: int, domain: int, counter: int) -> int:
    """A 32-bit seed for item ``counter`` of ``domain`` in a run seeded with ``seed``.

    ``numpy.random.SeedSequence(seed, spawn_key=(domain, counter))`` mixes the three numbers
    with a hash (O'Neill's seed_seq design), so nearby counters give unrelated seeds.

    Args:
        seed (int): The run's seed, >= 0.
        domain (int): :data:`DATA_DOMAIN` (sample positions) or :data:`ITER_DOMAIN`
            (iterations of the training loop).
        counter (int): Position or iteration, >= 0.

    Returns:
        int: A seed in ``[0, 2**32)``, accepted by ``numpy.random.seed``, ``random.seed`` and
        ``torch.manual_seed``.
    """
    if seed < 0 or counter < 0:
        raise ValueError(f'seed and counter must be >= 0, got seed={seed}, counter={counter}')
    state = np.random.SeedSequence(seed, spawn_key=(domain, counter)).generate_state(1)
    return int(state[0])


def seed_all(seed: int) -> None:
    """Seed ``random``, ``numpy.random`` and ``torch`` (CPU and, if initialised, CUDA)."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


@contextmanager
def seeded_rngs(seed: int) -> Iterator[None]:
    """Run the body with ``random`` / ``numpy`` / ``torch`` CPU generators seeded with ``seed``
    and restore their previous states afterwards."""
    py_state, np_state = random.getstate(), np.random.get_state()
    torch_state = torch.random.get_rng_state()
    random.seed(seed)
    np.random.seed(seed)
    torch.random.default_generator.manual_seed(seed)
    try:
        yield
    finally:
        random.setstate(py_state)
        np.random.set_state(np_state)
        torch.random.set_rng_state(torch_state)


@DATASETS.register_module()
class PositionSeededDataset(Dataset):
    """Dataset wrapper that runs each sample's pipeline with generators seeded from the sample's
    position in the sample stream (see the module docstring).

    Index it with a :class:`SampleKey` (what :class:`~csg_mm.datasets.samplers.\
ResumableInfiniteSampler` and :class:`~csg_mm.datasets.samplers.ResumableDefaultSampler`
    yield). Attributes other than the ones below (``metainfo``, ``get_data_info``,
    ``full_init``...) are the wrapped dataset's.

    Args:
        dataset (Dataset | dict): The dataset, or its config (built in the current scope).

    Raises:
        TypeError: Indexed with something other than a ``SampleKey`` / ``(index, position,
            seed)`` triple.
    """

    def __init__(self, dataset: Union[Dataset, dict]) -> None:
        if isinstance(dataset, dict):
            dataset = DATASETS.build(dataset)
        self.dataset = dataset

    @property
    def metainfo(self) -> dict:
        return getattr(self.dataset, 'metainfo', {})

    def __len__(self) -> int:
        return len(self.dataset)

    def __getattr__(self, name: str):
        # only called for names not found on the wrapper; `dataset` itself is looked up in
        # __dict__ (guarded for unpickling, when __dict__ is still empty)
        if name == 'dataset':
            raise AttributeError(name)
        return getattr(self.dataset, name)

    def __getitem__(self, key: SampleKey):
        if not (isinstance(key, tuple) and len(key) == 3):
            raise TypeError(
                'PositionSeededDataset is indexed with (index, position, seed) keys, which '
                'the csg_mm resumable samplers (ResumableInfiniteSampler, '
                f'ResumableDefaultSampler) yield; got {key!r}. Use one of those samplers.')
        index, position, seed = key
        with seeded_rngs(derive_seed(seed, DATA_DOMAIN, position)):
            return self.dataset[index]

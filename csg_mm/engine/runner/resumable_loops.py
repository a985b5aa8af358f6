"""Training loops that resume at iteration N in O(1) and bit-exactly.

mmengine 0.10.7's ``IterBasedTrainLoop`` resumes by calling ``next()`` on the dataloader once
per iteration already trained: every skipped batch is read, decoded and augmented again, and
that replay is also the only thing that makes the resumed run's augmentations equal the
uninterrupted run's. Its ``EpochBasedTrainLoop`` restarts a checkpointed-mid-epoch epoch from
its first batch (the run then trains more iterations than asked, on other data).

The loops here resume by index arithmetic instead:

* the train sampler becomes :class:`~csg_mm.datasets.samplers.ResumableInfiniteSampler`
  (iteration loop) or :class:`~csg_mm.datasets.samplers.ResumableDefaultSampler` (epoch loop;
  the same order as mmengine's ``DefaultSampler``), started at the first sample not yet trained
  (``iteration * batch_size`` of this rank's stream, or that sample of the current epoch);
* the train dataset is wrapped in :class:`~csg_mm.datasets.PositionSeededDataset`, so each
  sample's augmentations are drawn from generators seeded by ``(seed, position in the sample
  stream)``, whichever worker (or process) loads it and whatever it loaded before;
* the main process's ``random`` / ``numpy`` / ``torch`` generators are seeded from
  ``(seed, iteration)`` (and the rank when ``randomness.diff_rank_seed``) before each training
  step, so model randomness (dropout, drop path) does not depend on the history either;
* the dataloader iterator (and its workers) is created when training starts, after the
  checkpoint is loaded, not when the loop is built.

Sampler conversion: a train dataloader config with mmengine's ``InfiniteSampler`` or
``DefaultSampler`` gets the resumable sampler with the same ``shuffle`` / ``seed`` /
``round_up``; any other sampler or a ``batch_sampler`` is refused with a ``ValueError``.
Resuming also checks the checkpoint first (:func:`csg_mm.utils.checkpoint.check_resumable`).
The same seed, batch size, dataset and number of processes as the interrupted run are needed
for the resumed run to see the same data: the loops record them in the message hub (runtime info
``sample_stream``, saved in every checkpoint) and refuse to resume with other values
(:func:`check_sample_stream`). Resuming without a checkpoint path in a work dir without
checkpoints starts a new run with a WARNING in the log.
"""
import copy
import logging
from typing import Dict, List, Optional, Sequence, Tuple, Union

from mmengine.dist import broadcast_object_list, get_rank
from mmengine.logging import print_log
from mmengine.registry import LOOPS
from mmengine.runner import EpochBasedTrainLoop, IterBasedTrainLoop
from mmengine.runner.base_loop import BaseLoop
from mmengine.runner.checkpoint import find_latest_checkpoint
from mmengine.runner.utils import calc_dynamic_intervals
from torch.utils.data import DataLoader

from csg_mm.datasets.position_seeded_dataset import (
    ITER_DOMAIN,
    PositionSeededDataset,
    derive_seed,
    seed_all,
)
from csg_mm.datasets.samplers import ResumableDefaultSampler, ResumableInfiniteSampler
from csg_mm.utils.checkpoint import (
    ResumeMismatchError,
    check_resumable,
    find_resume_checkpoint,
    new_run_message,
)

_STOCK_SAMPLERS = ('InfiniteSampler', 'DefaultSampler')
# message hub runtime-info key of the sample-stream record (saved in checkpoints)
SAMPLE_STREAM_KEY = 'sample_stream'


def _type_name(obj_type) -> str:
    name = obj_type if isinstance(obj_type, str) else getattr(obj_type, '__name__', obj_type)
    return str(name).split('.')[-1]


def resumable_dataloader_cfg(dataloader: dict, sampler_type: str) -> dict:
    """A copy of a train dataloader config with a resumable sampler and a seeded dataset.

    Args:
        dataloader (dict): The train dataloader config.
        sampler_type (str): ``'ResumableInfiniteSampler'`` or ``'ResumableDefaultSampler'``.

    Returns:
        dict: ``sampler`` replaced by ``sampler_type`` (``shuffle``, ``seed`` and, for the
        default sampler, ``round_up`` kept), ``dataset`` wrapped in ``PositionSeededDataset``
        (unless it is one already).

    Raises:
        ValueError: The config has a ``batch_sampler``, or a sampler other than mmengine's
            ``InfiniteSampler`` / ``DefaultSampler`` or ``sampler_type``.
    """
    cfg = copy.deepcopy(dataloader)
    if cfg.get('batch_sampler') is not None:
        raise ValueError(
            f'{sampler_type} cannot resume a dataloader with a batch_sampler '
            f'({cfg["batch_sampler"]!r}); remove train_dataloader.batch_sampler or train with '
            "mmengine's stock loop (train_cfg.type='IterBasedTrainLoop'/'EpochBasedTrainLoop')")
    sampler = dict(cfg.get('sampler') or dict(type='DefaultSampler'))
    name = _type_name(sampler.get('type'))
    if name not in _STOCK_SAMPLERS + (sampler_type, ):
        raise ValueError(
            f'train_dataloader.sampler.type is {sampler.get("type")!r}; the resumable training '
            f'loops use {sampler_type} in place of mmengine\'s InfiniteSampler / DefaultSampler '
            "and support no other sampler. Use one of those, or mmengine's stock loop.")
    new = dict(type=sampler_type, shuffle=sampler.get('shuffle', True))
    for key in ('seed', ) + (('round_up', ) if sampler_type == 'ResumableDefaultSampler' else ()):
        if key in sampler:
            new[key] = sampler[key]
    cfg['sampler'] = new
    dataset = cfg['dataset']
    if not (isinstance(dataset, PositionSeededDataset) or
            (isinstance(dataset, dict)
             and _type_name(dataset.get('type')) == 'PositionSeededDataset')):
        cfg['dataset'] = dict(type='PositionSeededDataset', dataset=dataset)
    if name != sampler_type:
        print_log(
            f'Resumable training loop: train sampler {name} -> {sampler_type} '
            f'(shuffle={new["shuffle"]}), train dataset wrapped in PositionSeededDataset',
            logger='current')
    return cfg


def _check_dataloader(dataloader: DataLoader, sampler_cls: type) -> None:
    if not isinstance(dataloader.sampler, sampler_cls):
        raise ValueError(f'the resumable training loop needs a {sampler_cls.__name__}, but the '
                         f'train dataloader has a {type(dataloader.sampler).__name__}')
    if not isinstance(dataloader.dataset, PositionSeededDataset):
        raise ValueError('the resumable training loop needs the train dataset wrapped in '
                         f'PositionSeededDataset, got a {type(dataloader.dataset).__name__}')
    if dataloader.batch_size is None:
        raise ValueError('the resumable training loop needs train_dataloader.batch_size')


def _check_resume_checkpoint(runner) -> None:
    """Fail before anything is built if the run resumes from a file that cannot be resumed."""
    if not getattr(runner, '_resume', False):
        return
    filename = runner._load_from
    if filename is None:
        filename = find_resume_checkpoint(runner.work_dir)
        if filename is None:  # mmengine starts a new run: say so in the log
            print_log(new_run_message(runner.work_dir), logger='current', level=logging.WARNING)
            return
    check_resumable(filename, need_param_schedulers=bool(runner.param_schedulers))


def sample_stream_state(dataloader: DataLoader) -> Dict[str, Union[int, bool]]:
    """What the position of a resumable loop's sample stream depends on.

    Returns:
        dict: ``batch_size`` (per process), ``world_size`` (number of processes),
        ``samples_per_iter`` (their product), ``seed`` (the sampler's), ``shuffle`` and
        ``dataset_size`` (``len`` of the train dataset).
    """
    sampler = dataloader.sampler
    batch_size, world_size = int(dataloader.batch_size), int(sampler.world_size)
    return dict(batch_size=batch_size, world_size=world_size,
                samples_per_iter=batch_size * world_size, seed=int(sampler.seed),
                shuffle=bool(sampler.shuffle), dataset_size=len(dataloader.dataset))


def check_sample_stream(saved: Optional[dict], current: dict, checkpoint: str) -> Optional[str]:
    """Check that a resumed run continues the sample stream of ``checkpoint``.

    Args:
        saved (dict, optional): :func:`sample_stream_state` when the checkpoint was written
            (None for checkpoints written before csg_mm recorded it).
        current (dict): :func:`sample_stream_state` of the resumed run.
        checkpoint (str): The checkpoint's name, for the messages.

    Returns:
        str or None: A warning when ``saved`` is None (the check cannot be made), else None.

    Raises:
        ResumeMismatchError: A recorded value differs; the message names the checkpoint, the
            saved and current values, and what to do.
    """
    if saved is None:
        return (f'checkpoint {checkpoint} has no record of the batch size and number of '
                'processes it was trained with (written before csg_mm recorded them): the '
                'resumed run continues its sample stream exactly only if they, the seed and the '
                f'dataset are the same (now {_format_state(current)})')
    differ = [key for key in current if key in saved and saved[key] != current[key]]
    if differ:  # name the batch layout always, the other values where they differ
        differ = list(_LAYOUT_KEYS) + [key for key in differ if key not in _LAYOUT_KEYS]
        raise ResumeMismatchError(
            f'cannot resume from "{checkpoint}": it was trained with '
            f'{_format_state(saved, differ)}, this run has {_format_state(current, differ)}, so '
            'it would not continue the checkpoint\'s sample stream (samples trained twice or '
            'never; not an exact resume). Resume with the same batch size per process and the '
            'same number of processes (e.g. tools/dist_train.sh CONFIG N --resume for a run '
            'trained on N processes) and the same seed and dataset, or start a NEW run from '
            f'its weights with --cfg-options load_from={checkpoint} in another work dir.')
    return None


_LAYOUT_KEYS = ('batch_size', 'world_size', 'samples_per_iter')


def _format_state(state: dict, keys: Optional[Sequence[str]] = None) -> str:
    return ', '.join(f'{key}={state.get(key)}' for key in (keys or state))


def _check_and_record_sample_stream(loop) -> None:
    """On resume, compare the checkpoint's sample-stream record with this run's; then record
    this run's in the message hub (saved in each checkpoint)."""
    runner = loop.runner
    current = sample_stream_state(loop.dataloader)
    if loop._iter > 0:  # resumed
        checkpoint = (runner._load_from or find_latest_checkpoint(runner.work_dir)
                      or runner.work_dir)
        note = check_sample_stream(runner.message_hub.get_info(SAMPLE_STREAM_KEY), current,
                                   checkpoint)
        if note:
            print_log(note, logger='current', level=logging.WARNING)
    runner.message_hub.update_info(SAMPLE_STREAM_KEY, current)


def _run_seed(runner) -> int:
    """The run's base seed, identical on all ranks (rank 0's ``runner.seed``: with
    ``diff_rank_seed`` the other ranks' seeds have their rank added)."""
    seed = [runner.seed]
    broadcast_object_list(seed, src=0)
    return int(seed[0])


def _iteration_seed(runner, iteration: int) -> int:
    """Seed of the main process's generators for ``iteration``: a function of the run's seed,
    the iteration and (with ``randomness.diff_rank_seed``) the rank."""
    seed = derive_seed(runner.seed, ITER_DOMAIN, iteration)
    if runner._randomness_cfg.get('diff_rank_seed', False):
        seed = derive_seed(seed, ITER_DOMAIN, get_rank())
    return seed


@LOOPS.register_module()
class ResumableIterBasedTrainLoop(IterBasedTrainLoop):
    """mmengine's ``IterBasedTrainLoop`` that resumes at iteration N without loading the N
    skipped batches, and bit-exactly (see the module docstring).

    Args: as ``IterBasedTrainLoop`` (``runner``, ``dataloader``, ``max_iters``, ``val_begin``,
    ``val_interval``, ``dynamic_intervals``).

    Raises:
        ValueError: Unsupported sampler / batch sampler (see :func:`resumable_dataloader_cfg`).
        NotResumableError: Resuming from a file that is not a runner checkpoint.
        ResumeMismatchError: Resuming with another batch size, number of processes, seed or
            dataset length than the checkpoint's (:func:`check_sample_stream`).
    """

    def __init__(self,
                 runner,
                 dataloader: Union[DataLoader, Dict],
                 max_iters: int,
                 val_begin: int = 1,
                 val_interval: int = 1000,
                 dynamic_intervals: Optional[List[Tuple[int, int]]] = None) -> None:
        _check_resume_checkpoint(runner)
        if isinstance(dataloader, dict):
            dataloader = resumable_dataloader_cfg(dataloader, 'ResumableInfiniteSampler')
        # Not IterBasedTrainLoop.__init__: it creates the dataloader iterator, which starts the
        # workers and loads the first batches, before the checkpoint says where to start.
        BaseLoop.__init__(self, runner, dataloader)
        _check_dataloader(self.dataloader, ResumableInfiniteSampler)
        self._max_iters = int(max_iters)
        if self._max_iters != max_iters:
            raise ValueError(f'max_iters must be an integer, got {max_iters!r}')
        self._max_epochs = 1
        self._epoch = 0
        self._iter = 0
        self.val_begin = val_begin
        self.val_interval = val_interval
        self.stop_training = False
        self.runner.visualizer.dataset_meta = getattr(self.dataloader.dataset, 'metainfo', None)
        self.dataloader_iterator = None  # created by run(), at the resumed position
        self.dynamic_milestones, self.dynamic_intervals = calc_dynamic_intervals(
            self.val_interval, dynamic_intervals)

    def run(self):
        """Launch training (from ``self._iter``, set by ``Runner.resume``)."""
        self.runner.call_hook('before_train')
        self.runner.call_hook('before_train_epoch')
        sampler = self.dataloader.sampler
        sampler.seed = _run_seed(self.runner)
        _check_and_record_sample_stream(self)
        sampler.set_start(self._iter * self.dataloader.batch_size)
        if self._iter > 0:
            print_log(
                f'Resuming at iteration {self._iter}: the sampler starts at sample '
                f'{sampler.start} of this rank\'s stream; the skipped batches are not loaded',
                logger='current')
        self.dataloader_iterator = iter(self.dataloader)  # the sampler is infinite
        while self._iter < self._max_iters and not self.stop_training:
            self.runner.model.train()
            data_batch = next(self.dataloader_iterator)
            self.run_iter(data_batch)
            self._decide_current_val_interval()
            if (self.runner.val_loop is not None and self._iter >= self.val_begin
                    and (self._iter % self.val_interval == 0 or self._iter == self._max_iters)):
                self.runner.val_loop.run()
        self.runner.call_hook('after_train_epoch')
        self.runner.call_hook('after_train')
        return self.runner.model

    def run_iter(self, data_batch: Sequence[dict]) -> None:
        """One training step, with the main process's generators seeded for this iteration."""
        seed_all(_iteration_seed(self.runner, self._iter))
        super().run_iter(data_batch)


@LOOPS.register_module()
class ResumableEpochBasedTrainLoop(EpochBasedTrainLoop):
    """mmengine's ``EpochBasedTrainLoop`` that resumes bit-exactly at an epoch boundary and in
    the middle of an epoch (a checkpoint saved by iteration): the interrupted epoch continues at
    its first untrained batch (see the module docstring).

    Args: as ``EpochBasedTrainLoop`` (``runner``, ``dataloader``, ``max_epochs``,
    ``val_begin``, ``val_interval``, ``dynamic_intervals``).

    Raises:
        ValueError: Unsupported sampler / batch sampler (see :func:`resumable_dataloader_cfg`).
        NotResumableError: Resuming from a file that is not a runner checkpoint.
        ResumeMismatchError: Resuming with another batch size, number of processes, seed or
            dataset length than the checkpoint's (:func:`check_sample_stream`).
        RuntimeError: The resumed iteration does not lie in the resumed epoch (the dataset or
            the batch size changed since the checkpoint).
    """

    def __init__(self,
                 runner,
                 dataloader: Union[DataLoader, Dict],
                 max_epochs: int,
                 val_begin: int = 1,
                 val_interval: int = 1,
                 dynamic_intervals: Optional[List[Tuple[int, int]]] = None) -> None:
        _check_resume_checkpoint(runner)
        if isinstance(dataloader, dict):
            dataloader = resumable_dataloader_cfg(dataloader, 'ResumableDefaultSampler')
        super().__init__(runner, dataloader, max_epochs, val_begin, val_interval,
                         dynamic_intervals)
        _check_dataloader(self.dataloader, ResumableDefaultSampler)

    def run(self):
        """Launch training (from ``self._epoch`` / ``self._iter``, set by ``Runner.resume``)."""
        self.dataloader.sampler.seed = _run_seed(self.runner)
        _check_and_record_sample_stream(self)
        return super().run()

    def run_epoch(self) -> None:
        """Iterate the rest of the current epoch (all of it unless resumed mid-epoch)."""
        self.runner.call_hook('before_train_epoch')
        self.runner.model.train()
        sampler, batches = self.dataloader.sampler, len(self.dataloader)
        done = self._iter - self._epoch * batches  # batches of this epoch already trained
        if not 0 <= done <= batches:
            raise RuntimeError(
                f'cannot resume at iteration {self._iter} of epoch {self._epoch + 1}: epochs '
                f'have {batches} batches now, so the iteration is not in that epoch; the '
                'dataset or the batch size changed since the checkpoint was written')
        if done:
            print_log(
                f'Resuming epoch {self._epoch + 1} at batch {done} of {batches}; the skipped '
                'batches are not loaded', logger='current')
        sampler.set_epoch(self._epoch)  # as DistSamplerSeedHook, in case it is not configured
        sampler.set_start(min(done * self.dataloader.batch_size, len(sampler)))
        try:
            for idx, data_batch in enumerate(self.dataloader, done):
                self.run_iter(idx, data_batch)
        finally:
            sampler.set_start(0)
        self.runner.call_hook('after_train_epoch')
        self._epoch += 1

    def run_iter(self, idx, data_batch: Sequence[dict]) -> None:
        """One training step, with the main process's generators seeded for this iteration."""
        seed_all(_iteration_seed(self.runner, self._iter))
        super().run_iter(idx, data_batch)


__all__ = ['ResumableEpochBasedTrainLoop', 'ResumableIterBasedTrainLoop',
           'check_sample_stream', 'resumable_dataloader_cfg', 'sample_stream_state']

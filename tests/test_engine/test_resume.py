"""Units of fast exact resume: the resumable samplers (start anywhere by index arithmetic),
per-sample seeding (PositionSeededDataset; augmentation distribution unchanged), the loops'
dataloader conversion, the configs using the loops, and the bad inputs (checkpoints that cannot
be resumed, `--resume` before the config)."""
import itertools
import os
import os.path as osp
import random
import subprocess
import sys

import numpy as np
import pytest
import torch
from mmengine.config import Config

import csg_mm  # noqa: F401
from csg_mm.datasets import PositionSeededDataset, SampleKey
from csg_mm.datasets.position_seeded_dataset import DATA_DOMAIN, derive_seed
from csg_mm.datasets.samplers import ResumableDefaultSampler, ResumableInfiniteSampler
from csg_mm.engine.runner.resumable_loops import resumable_dataloader_cfg
from csg_mm.utils.checkpoint import NotResumableError, check_resumable
from csg_mm.utils.resume_benchmark import (
    benchmark_resume,
    format_table,
    make_frames,
    relabel_checkpoint,
)
from tests.utils.runner_utils import import_tool

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TOY_CONFIG = osp.join(ROOT, 'tests', 'data', 'configs', 'toy_runner.py')


def _take(iterable, n):
    return list(itertools.islice(iter(iterable), n))


# ----------------------------------------------------------------------------- samplers


def test_infinite_sampler_epochs_are_seeded_permutations():
    sampler = ResumableInfiniteSampler(list(range(5)), shuffle=True, seed=7)
    keys = _take(sampler, 15)
    for epoch in range(3):
        gen = torch.Generator()
        gen.manual_seed(7 + epoch)
        expected = torch.randperm(5, generator=gen).tolist()
        assert [k.index for k in keys[5 * epoch:5 * epoch + 5]] == expected
    assert [k.position for k in keys] == list(range(15))
    assert {k.seed for k in keys} == {7}
    unshuffled = ResumableInfiniteSampler(list(range(3)), shuffle=False, seed=0)
    assert [k.index for k in _take(unshuffled, 7)] == [0, 1, 2, 0, 1, 2, 0]


@pytest.mark.parametrize('start', [0, 1, 4, 5, 13])
def test_infinite_sampler_start_is_a_suffix_of_the_stream(start):
    sampler = ResumableInfiniteSampler(list(range(5)), seed=3)
    stream = _take(sampler, 40)
    sampler.set_start(start)
    assert _take(sampler, 20) == stream[start:start + 20]


def test_infinite_sampler_ranks_interleave_the_global_stream():
    single = _take(ResumableInfiniteSampler(list(range(5)), seed=3), 24)
    per_rank = []
    for rank in range(3):
        sampler = ResumableInfiniteSampler(list(range(5)), seed=3)
        sampler.rank, sampler.world_size = rank, 3
        sampler.set_start(2)  # e.g. iteration 1 at batch 2
        per_rank.append(_take(sampler, 6))
    # rank r's k-th sample is global position (2 + k) * 3 + r
    for rank, keys in enumerate(per_rank):
        assert [k.position for k in keys] == [(2 + k) * 3 + rank for k in range(6)]
        assert keys == [single[p] for p in range(6 + rank, 24, 3)]


def test_infinite_sampler_start_costs_one_permutation(monkeypatch):
    sampler = ResumableInfiniteSampler(list(range(100)), seed=0)
    calls = []
    original = sampler.epoch_indices
    monkeypatch.setattr(sampler, 'epoch_indices', lambda e: calls.append(e) or original(e))
    sampler.set_start(10**9 + 7)  # iteration 5e8 at batch 2: epoch 10**7
    key = next(iter(sampler))
    assert calls == [10**7] and key.position == 10**9 + 7
    with pytest.raises(ValueError, match='start'):
        sampler.set_start(-1)


def test_default_sampler_matches_mmengine_and_starts_mid_epoch():
    from mmengine.dataset import DefaultSampler

    data = list(range(10))
    for rank in range(2):
        stock, ours = DefaultSampler(data, seed=5), ResumableDefaultSampler(data, seed=5)
        for s in (stock, ours):
            s.rank, s.world_size, s.num_samples = rank, 2, 5  # as built on 2 ranks
            s.set_epoch(3)
        keys = list(ours)
        assert [k.index for k in keys] == list(stock)
        # position = epoch * total_size + rank + k * world_size
        assert [k.position for k in keys] == [30 + rank + 2 * k for k in range(5)]
        ours.set_start(3)
        assert list(ours) == keys[3:]
        ours.set_start(5)
        assert list(ours) == []
        with pytest.raises(ValueError, match=r'\[0, 5\]'):
            ours.set_start(6)


# ----------------------------------------------------------------------- per-sample seeding


class _RandomDataset:
    """Each item: draws from the three global generators the pipelines use."""

    def __len__(self):
        return 4

    def __getitem__(self, index):
        return (index, np.random.randint(1 << 30), random.random(), torch.rand(1).item())


def test_derive_seed():
    seeds = [derive_seed(0, DATA_DOMAIN, p) for p in range(1000)]
    assert len(set(seeds)) == 1000 and all(0 <= s < 2**32 for s in seeds)
    assert derive_seed(0, DATA_DOMAIN, 5) != derive_seed(1, DATA_DOMAIN, 5)
    assert derive_seed(0, DATA_DOMAIN, 5) != derive_seed(0, 1, 5)
    assert derive_seed(3, DATA_DOMAIN, 5) == derive_seed(3, DATA_DOMAIN, 5)
    with pytest.raises(ValueError, match='>= 0'):
        derive_seed(0, DATA_DOMAIN, -1)


def test_position_seeded_dataset_depends_only_on_the_key():
    dataset = PositionSeededDataset(_RandomDataset())
    key = SampleKey(index=2, position=11, seed=0)
    first = dataset[key]
    np.random.seed(123)  # another history of the process's generators
    for p in range(5):
        dataset[SampleKey(1, p, 0)]
    assert dataset[key] == first
    assert dataset[SampleKey(2, 12, 0)] != first  # another position, other draws
    assert dataset[SampleKey(2, 11, 1)] != first  # another run seed, other draws
    # the caller's generators are left as they were
    np.random.seed(9)
    random.seed(9)
    torch.manual_seed(9)
    before = (np.random.randint(1 << 30), random.random(), torch.rand(1).item())
    np.random.seed(9)
    random.seed(9)
    torch.manual_seed(9)
    dataset[key]
    assert (np.random.randint(1 << 30), random.random(), torch.rand(1).item()) == before


def test_position_seeded_dataset_bad_key_and_delegation():
    class _Meta(_RandomDataset):
        metainfo = dict(classes=('a', 'b'))
        extra = 5

    dataset = PositionSeededDataset(_Meta())
    assert dataset.metainfo == dict(classes=('a', 'b')) and dataset.extra == 5
    assert len(dataset) == 4
    with pytest.raises(TypeError, match='ResumableInfiniteSampler'):
        dataset[3]


def test_augmentation_distribution_is_unchanged():
    """RandomCrop + RandomFlip on a coordinate image: the crop offsets and flips drawn with
    per-sample seeds follow the same distribution as those drawn by one worker-seeded stream
    (mmengine's worker_init_fn seeds a worker once)."""
    from mmcv.transforms import Compose
    from mmengine.registry import init_default_scope
    from mmseg.registry import TRANSFORMS
    from scipy.stats import chi2_contingency, chisquare

    init_default_scope('mmseg')
    pipeline = Compose([TRANSFORMS.build(dict(type='RandomCrop', crop_size=(16, 16))),
                        TRANSFORMS.build(dict(type='RandomFlip', prob=0.5))])
    ys, xs = np.mgrid[0:32, 0:32]
    image = np.stack([ys, xs, np.zeros_like(xs)], axis=-1).astype(np.uint8)

    class _Crops:

        def __len__(self):
            return 1

        def __getitem__(self, index):
            out = pipeline(dict(img=image.copy(), img_shape=(32, 32), seg_fields=[]))
            img = out['img'][:, ::-1] if out['flip'] else out['img']
            return int(img[0, 0, 0]), int(img[0, 0, 1]), bool(out['flip'])

    n = 3000
    np.random.seed(0)  # the old seeding: one seed, then the worker's history
    old = np.array([_Crops()[0] for _ in range(n)])
    seeded = PositionSeededDataset(_Crops())
    new = np.array([seeded[SampleKey(0, p, 0)] for p in range(n)])
    for column in range(3):  # offset y, offset x (17 values each), flip
        values = np.unique(np.concatenate([old[:, column], new[:, column]]))
        assert len(values) == (2 if column == 2 else 17)
        table = np.array([[np.sum(d[:, column] == v) for v in values] for d in (old, new)])
        assert chi2_contingency(table).pvalue > 1e-3, column  # same distribution
        assert chisquare(table[1]).pvalue > 1e-3, column  # uniform offsets, fair flips


# ------------------------------------------------------------ loops: dataloader conversion


def test_dataloader_conversion():
    cfg = dict(batch_size=2, sampler=dict(type='InfiniteSampler', shuffle=False, seed=4),
               dataset=dict(type='GTA5Dataset', data_root='x'))
    out = resumable_dataloader_cfg(cfg, 'ResumableInfiniteSampler')
    assert out['sampler'] == dict(type='ResumableInfiniteSampler', shuffle=False, seed=4)
    assert out['dataset'] == dict(type='PositionSeededDataset', dataset=cfg['dataset'])
    assert cfg['sampler']['type'] == 'InfiniteSampler'  # the input is not changed
    assert resumable_dataloader_cfg(out, 'ResumableInfiniteSampler') == out  # idempotent
    epoch = resumable_dataloader_cfg(
        dict(sampler=dict(type='DefaultSampler', round_up=False), dataset=dict(type='D')),
        'ResumableDefaultSampler')
    assert epoch['sampler'] == dict(type='ResumableDefaultSampler', shuffle=True, round_up=False)
    with pytest.raises(ValueError, match="'RepeatAugSampler'"):
        resumable_dataloader_cfg(dict(sampler=dict(type='RepeatAugSampler'), dataset={}),
                                 'ResumableDefaultSampler')
    with pytest.raises(ValueError, match='batch_sampler'):
        resumable_dataloader_cfg(
            dict(sampler=dict(type='DefaultSampler'), dataset={},
                 batch_sampler=dict(type='AspectRatioBatchSampler')), 'ResumableDefaultSampler')


def _csg_configs():
    found = []
    for dirpath, _, files in os.walk(osp.join(ROOT, 'configs')):
        if '_base_' in dirpath:
            continue
        found += [osp.join(dirpath, f) for f in sorted(files) if f.endswith('.py')]
    return found


def test_every_csg_config_trains_with_a_resumable_loop():
    from csg_mm.engine.runner import apply_csg_mixin

    checked = 0
    for path in _csg_configs():
        cfg = Config.fromfile(path)
        if cfg.get('runner_type') == 'CSGRunner':
            cfg = apply_csg_mixin(cfg)
        train_cfg = cfg.get('train_cfg') or {}
        if 'configs/demo' in path:  # the CPU demo keeps the stock loop (no resume there)
            continue
        assert train_cfg.get('type') in ('ResumableIterBasedTrainLoop',
                                          'ResumableEpochBasedTrainLoop'), path
        checked += 1
    assert checked >= 10


# ------------------------------------------------------------------------- bad input


@pytest.fixture
def runner_like_checkpoint(tmp_path):
    state = {'w': torch.ones(2)}
    path = tmp_path / 'iter_2.pth'
    torch.save(dict(state_dict=state, meta=dict(epoch=0, iter=2), message_hub={},
                    optimizer=dict(state={}, param_groups=[]), param_schedulers=[]), path)
    return path


def test_check_resumable(tmp_path, runner_like_checkpoint):
    check_resumable(str(runner_like_checkpoint), need_param_schedulers=True)  # no error
    stripped = tmp_path / 'stripped.pth'  # what tools/model_converters/strip_csg.py writes
    torch.save(dict(state_dict={'w': torch.ones(2)}), stripped)
    with pytest.raises(NotResumableError) as err:
        check_resumable(str(stripped))
    msg = str(err.value)
    assert str(stripped) in msg and "'meta'" in msg and "'optimizer'" in msg
    assert "'message_hub'" in msg and 'load_from' in msg and 'strip_csg' in msg
    bare = tmp_path / 'bare.pth'
    torch.save({'w': torch.ones(2)}, bare)
    with pytest.raises(NotResumableError, match='bare state dict'):
        check_resumable(str(bare))
    no_iter = tmp_path / 'no_iter.pth'  # strip_csg.py --keep-meta of an odd file
    torch.save(dict(state_dict={}, meta=dict(epoch=1), message_hub={}, optimizer={}), no_iter)
    with pytest.raises(NotResumableError, match=r"'meta.iter'"):
        check_resumable(str(no_iter))
    no_sched = tmp_path / 'no_sched.pth'
    torch.save(dict(state_dict={}, meta=dict(epoch=0, iter=2), message_hub={}, optimizer={}),
               no_sched)
    check_resumable(str(no_sched))  # fine for a run without parameter schedulers
    with pytest.raises(NotResumableError, match="lacks 'param_schedulers'"):
        check_resumable(str(no_sched), need_param_schedulers=True)
    with pytest.raises(FileNotFoundError, match='missing.pth'):
        check_resumable(str(tmp_path / 'missing.pth'))


def test_resume_flag_before_the_config(capsys):
    train = import_tool('tools/train.py', 'csg_train_tool')
    args = train.parse_args(['--resume', TOY_CONFIG])  # accepted: resume the latest
    assert (args.config, args.resume) == (TOY_CONFIG, 'auto')
    args = train.parse_args(['--resume', 'w/iter_2.pth', TOY_CONFIG])
    assert (args.config, args.resume) == (TOY_CONFIG, 'w/iter_2.pth')
    for argv in (['--resume', 'w/iter_2.pth'], ['--resume', TOY_CONFIG, 'w/iter_2.pth']):
        with pytest.raises(SystemExit) as exc:
            train.parse_args(argv)
        assert exc.value.code == 2
        err = capsys.readouterr().err
        assert 'usage:' in err and 'train.py CONFIG --resume [CKPT]' in err


def test_train_refuses_to_resume_from_weights_only_file(tmp_path):
    stripped = tmp_path / 'stripped.pth'
    torch.save(dict(state_dict={'w': torch.ones(2)}), stripped)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([ROOT, osp.join(ROOT, 'tests', 'data')]))
    proc = subprocess.run(
        [sys.executable, 'tools/train.py', TOY_CONFIG, '--work-dir', str(tmp_path / 'w'),
         '--resume', str(stripped)], cwd=ROOT, env=env, capture_output=True, text=True,
        timeout=300)
    assert proc.returncode == 2 and 'Traceback' not in proc.stderr, proc.stderr
    assert f'cannot resume from "{stripped}"' in proc.stderr and "'meta'" in proc.stderr


# --------------------------------------------------------------------------- benchmark


def test_resume_benchmark_parts(tmp_path):
    from PIL import Image

    root = make_frames(str(tmp_path / 'frames'), num=2, size=(40, 30))
    img = Image.open(root + '/images/00002.png')
    label = np.array(Image.open(root + '/labels/00002_labelTrainIds.png'))
    assert img.size == (40, 30) and img.mode == 'RGB' and label.shape == (30, 40)
    assert label.max() <= 18
    assert open(root + '/all.txt').read().split() == ['00001', '00002']

    src = tmp_path / 'iter_1.pth'
    torch.save(dict(meta=dict(epoch=0, iter=1), state_dict={'w': torch.ones(1)},
                    param_schedulers=[dict(last_step=1), dict(last_step=1)]), src)
    out = torch.load(relabel_checkpoint(str(src), str(tmp_path / 'at.pth'), 1000))
    assert out['meta'] == dict(epoch=0, iter=1000)
    assert [s['last_step'] for s in out['param_schedulers']] == [1000, 1000]

    table = format_table([dict(loop='stock', iter=0, seconds=10.0, batches_loaded=1),
                          dict(loop='stock', iter=1000, seconds=25.0, batches_loaded=1001),
                          dict(loop='resumable', iter=0, seconds=8.0, batches_loaded=1),
                          dict(loop='resumable', iter=1000, seconds=8.8, batches_loaded=1)])
    assert '| stock (IterBasedTrainLoop) | 1,000 | 1,001 | 25.0 | 25.0 | 2.50x |' in table
    assert '| resumable (ResumableIterBasedTrainLoop) | 1,000 | 1 | 8.8 | 8.8 | 1.10x |' in table
    with pytest.raises(ValueError, match='loops'):
        benchmark_resume(str(tmp_path), 'cfg.py', loops=['fast'])
    with pytest.raises(ValueError, match='iters >= 0'):
        benchmark_resume(str(tmp_path), 'cfg.py', iters=[-1])
    with pytest.raises(ValueError, match='repeats >= 1'):
        benchmark_resume(str(tmp_path), 'cfg.py', repeats=0)

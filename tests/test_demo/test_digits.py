"""The digits syn-to-real demo: its two data generators, its datasets and a shortened run of the
whole protocol (tools/demo.py --quick) through the stock mmpretrain runner."""
import json
import os
import os.path as osp
import subprocess
import sys

import numpy as np
import pytest
import torch

from csg_mm.datasets.digits import (
    COARSE_PAIRS,
    DIGIT_CLASSES,
    RealDigitsDataset,
    SynthDigitsDataset,
    available_fonts,
    check_label_groups,
    group_labels,
    load_real_digits,
    render_synth_digits,
)

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
NUM_REAL = 1797


def test_fonts_found():
    fonts = available_fonts()
    assert len(fonts) >= 10
    assert all(osp.isfile(f) and f.endswith('.ttf') for f in fonts)


def test_synth_same_seed_same_arrays():
    a, la = render_synth_digits(3, seed=7)
    b, lb = render_synth_digits(3, seed=7)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(la, lb)


def test_synth_different_seed_different_arrays():
    a, la = render_synth_digits(3, seed=0)
    b, lb = render_synth_digits(3, seed=1)
    np.testing.assert_array_equal(la, lb)  # same class layout ...
    assert not np.array_equal(a, b)  # ... different images
    # most individual images differ, not just one
    assert np.mean([not np.array_equal(x, y) for x, y in zip(a, b)]) > 0.8


def test_synth_balance_ranges_dtypes():
    images, labels = render_synth_digits(4, seed=0)
    assert images.shape == (40, 8, 8) and images.dtype == np.uint8
    assert labels.shape == (40, ) and labels.dtype == np.int64
    np.testing.assert_array_equal(np.bincount(labels, minlength=10), [4] * 10)
    assert images.min() == 0 and images.max() <= 16
    assert images.max() == 16
    # every image has ink, and looks like the real digits (blank border columns, ink in the
    # middle; roughly the real data's amount of ink)
    assert (images.reshape(40, -1).max(axis=1) > 0).all()
    real, _, _ = load_real_digits('pretrain')
    assert 0.5 < images.mean() / real.mean() < 2.0


def test_synth_rejects_bad_count():
    with pytest.raises(ValueError, match='num_per_class'):
        render_synth_digits(0)


def test_real_split_disjoint_stratified_deterministic():
    pre_x, pre_y, pre_idx = load_real_digits('pretrain')
    test_x, test_y, test_idx = load_real_digits('test')
    assert pre_x.dtype == np.uint8 and pre_x.shape[1:] == (8, 8) and pre_x.max() == 16
    assert pre_y.dtype == np.int64
    # disjoint, and together the whole data set
    assert not set(pre_idx.tolist()) & set(test_idx.tolist())
    assert len(pre_idx) + len(test_idx) == NUM_REAL
    assert sorted(pre_idx.tolist() + test_idx.tolist()) == list(range(NUM_REAL))
    # stratified: every class split in half (up to rounding)
    from sklearn.datasets import load_digits
    total = np.bincount(load_digits().target, minlength=10)
    assert (np.abs(np.bincount(test_y, minlength=10) - total / 2) <= 1).all()
    assert (np.abs(np.bincount(pre_y, minlength=10) - total / 2) <= 1).all()
    # the same split every time
    again = load_real_digits('test')
    np.testing.assert_array_equal(again[2], test_idx)
    np.testing.assert_array_equal(again[0], test_x)
    with pytest.raises(ValueError, match='split'):
        load_real_digits('train')


def test_datasets_in_memory():
    synth = SynthDigitsDataset(num_per_class=2, seed=3)
    assert len(synth) == 20
    assert synth.metainfo['classes'] == DIGIT_CLASSES
    item = synth[0]
    assert item['img'].dtype == np.uint8 and item['img'].shape == (8, 8)
    assert item['img'].max() <= 255 and item['gt_label'] in range(10)
    images, labels = render_synth_digits(2, seed=3)
    np.testing.assert_array_equal(
        synth[5]['img'], np.rint(images[5].astype(np.float32) * 255 / 16).astype(np.uint8))
    assert synth[5]['gt_label'] == labels[5]

    real = RealDigitsDataset(split='test')
    assert len(real) == len(load_real_digits('test')[1])
    with pytest.raises(ValueError, match='split'):
        RealDigitsDataset(split='val')


def test_group_labels_by_hand():
    labels = np.array([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 9, 0])
    np.testing.assert_array_equal(group_labels(labels, COARSE_PAIRS),
                                  [0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 4, 0])
    np.testing.assert_array_equal(group_labels([7, 3], [[3, 7], [0, 1, 2, 4, 5, 6, 8, 9]]),
                                  [0, 0])


@pytest.mark.parametrize('groups', [
    ((0, 1), (2, 3), (4, 5), (6, 7), (8, )),  # 9 missing
    ((0, 1), (1, 2, 3), (4, 5), (6, 7), (8, 9)),  # 1 twice
    ((0, 1), (2, 3), (4, 5), (6, 7), (8, 9, 10)),  # 10 is no digit
    ((0, 1), (2, 3), (4, 5), (6, 7), (8, 9), ()),  # empty group
    'abc',
])
def test_label_groups_rejected(groups):
    with pytest.raises(ValueError, match='label_groups'):
        check_label_groups(groups)
    with pytest.raises(ValueError, match='label_groups'):
        RealDigitsDataset(split='pretrain', label_groups=groups)


def test_coarse_real_labels():
    """The teacher's data: the real pretraining images with the five pair labels."""
    fine_images, fine_labels, _ = load_real_digits('pretrain')
    coarse = RealDigitsDataset(split='pretrain', label_groups=COARSE_PAIRS)
    assert coarse.metainfo['classes'] == ('0/1', '2/3', '4/5', '6/7', '8/9')
    assert len(coarse) == len(fine_labels)
    labels = np.array([coarse.get_data_info(i)['gt_label'] for i in range(len(coarse))])
    np.testing.assert_array_equal(labels, fine_labels // 2)  # pairs of consecutive digits
    assert set(labels.tolist()) == {0, 1, 2, 3, 4}
    np.testing.assert_array_equal(
        coarse.get_data_info(3)['img'],
        np.rint(fine_images[3].astype(np.float32) * 255 / 16).astype(np.uint8))
    # the fine dataset is unchanged
    assert RealDigitsDataset(split='pretrain').metainfo['classes'] == DIGIT_CLASSES


def test_teacher_config_uses_coarse_labels_and_4x4_maps():
    from mmengine.config import Config
    from mmengine.registry import init_default_scope
    from mmpretrain.registry import DATASETS, MODELS
    init_default_scope('mmpretrain')
    cfg = Config.fromfile(osp.join(ROOT, 'configs', 'demo', 'teacher_coarse_real_digits.py'))
    for loader in (cfg.train_dataloader, cfg.test_dataloader):
        dataset = DATASETS.build(loader.dataset)
        assert dataset.metainfo['classes'] == ('0/1', '2/3', '4/5', '6/7', '8/9')
    assert cfg.model.head.num_classes == 5
    # stage maps of the 16 x 16 input: 16, 16, 8, 4 (CSG's stages 3 and 4: 8 x 8 and 4 x 4)
    backbone = MODELS.build(dict(cfg.model.backbone, init_cfg=None))
    outs = backbone(torch.zeros(1, 1, 16, 16))
    assert [tuple(o.shape[2:]) for o in outs] == [(16, 16), (16, 16), (8, 8), (4, 4)]


def test_registered_and_two_view_pipeline():
    from mmengine.config import Config
    from mmengine.registry import init_default_scope
    from mmpretrain.registry import DATASETS
    init_default_scope('mmpretrain')
    cfg = Config.fromfile(osp.join(ROOT, 'configs', 'demo', 'csg_synth_digits.py'))
    dataset_cfg = cfg.train_dataloader.dataset
    dataset_cfg.num_per_class = 1
    dataset = DATASETS.build(dataset_cfg)
    assert isinstance(dataset, SynthDigitsDataset)
    packed = dataset[0]
    assert isinstance(packed['inputs'], list) and len(packed['inputs']) == 2
    assert all(v.shape == (1, 16, 16) and v.dtype == torch.uint8 for v in packed['inputs'])
    test = DATASETS.build(cfg.test_dataloader.dataset)
    assert isinstance(test, RealDigitsDataset) and test.split == 'test'
    assert test[0]['inputs'].shape == (1, 16, 16)


def _run_demo(work_dir, *extra):
    cmd = [sys.executable, osp.join(ROOT, 'tools', 'demo.py'), '--quick', '--work-dir',
           str(work_dir), *extra]
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=600,
                          env=dict(os.environ, OMP_NUM_THREADS='2'))
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc.stdout


@pytest.mark.slow
def test_quick_protocol_end_to_end_reuses_teacher_and_reproduces(tmp_path):
    """The whole protocol (coarse teacher on real, 4 methods on synthetic for 2 seeds, real test,
    statistics) through the stock runner, twice: the second run reuses the teacher and gets the
    same numbers (same machine)."""
    out = _run_demo(tmp_path)
    assert 'teacher done' in out
    teacher = tmp_path / 'teacher-quick'
    for name in ('backbone.pth', 'fingerprint.json'):
        assert (teacher / name).is_file(), name
    for seed in (0, 1):
        results = json.loads((tmp_path / f'seed{seed}-quick' / 'results.json').read_text())
        assert set(results['methods']) == {'baseline', 'oracle', 'feat-l2', 'csg'}
        for method in results['methods'].values():
            metrics = method['metrics']
            assert 0.0 <= metrics['mean_class_acc'] <= 100.0
            assert np.isfinite(metrics['energy_s0']) and metrics['energy_s0'] > 0
            assert method['cpu_s'] > 0 and method['wall_s'] > 0
    name = 'summary_seeds-0-1-quick'
    for ext in ('json', 'md', 'png'):
        assert (tmp_path / f'{name}.{ext}').is_file(), ext
    summary = json.loads((tmp_path / f'{name}.json').read_text())
    assert summary['seeds'] == [0, 1]
    assert set(summary['differences']) == {'oracle', 'feat-l2', 'csg'}
    acc = summary['methods']['csg']['mean_class_acc']
    assert acc['t'] == pytest.approx(12.706, abs=1e-3)  # n = 2
    assert summary['timing']['cpu_s'] > 0 and summary['timing']['wall_s'] > 0
    # the statistics and the conclusion are printed
    assert 't = 12.706, n = 2' in out and 'Paired difference to the baseline' in out
    assert 'resolved only when its 95 % t interval excludes 0' in out
    # the teacher: a standalone backbone state dict, 5-way head trained on coarse labels
    state = torch.load(teacher / 'backbone.pth', weights_only=True)
    assert 'conv1.weight' in state and not any(k.startswith('backbone.') for k in state)
    assert json.loads((teacher / 'fingerprint.json').read_text())['config'] == \
        'teacher_coarse_real_digits.py'

    # a second, smaller run: reuses the teacher, reproduces the oracle's numbers of seed 0, and
    # keeps (does not overwrite) the first run's results.json, which holds other methods
    first = json.loads((tmp_path / 'seed0-quick' / 'results.json').read_text())
    out2 = _run_demo(tmp_path, '--seed', '0', '--methods', 'oracle')
    assert 'reusing' in out2 and 'teacher done' not in out2
    assert 'One seed: no intervals' in out2
    again = json.loads((tmp_path / 'seed0-quick' / 'results.json').read_text())
    assert set(again['methods']) == {'oracle'}
    for metric in ('mean_class_acc', 'energy_s0'):
        assert again['methods']['oracle']['metrics'][metric] == pytest.approx(
            first['methods']['oracle']['metrics'][metric], abs=1e-9)
    kept = list((tmp_path / 'seed0-quick').glob('results.2*.json'))
    assert len(kept) == 1 and json.loads(kept[0].read_text()) == first
    assert 'WARNING' in out2 and 'kept as' in out2

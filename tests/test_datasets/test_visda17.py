"""VisDA17Dataset: loading, input errors, and the VisDA-17 base-config pipelines."""
import copy
import os.path as osp
from pathlib import Path

import numpy as np
import pytest
import torch
from mmengine.config import Config

from csg_mm.datasets.visda17 import VISDA17_CATEGORIES, VisDA17Dataset
from tests.utils.io_counters import count_reads_and_decodes
from tests.utils.visda_fake_data import VISDA17_CLASSES, make_visda17

CFG_DIR = Path(__file__).resolve().parents[2] / 'configs' / '_base_' / 'datasets'


@pytest.fixture(scope='module')
def visda_root(tmp_path_factory):
    root = tmp_path_factory.mktemp('visda17')
    lists = make_visda17(root, per_class=2, splits=('train', 'validation'))
    return str(root), lists


def _write_list(root, split, lines):
    path = osp.join(root, split, 'image_list.txt')
    with open(path, 'w') as f:
        f.write('\n'.join(lines) + '\n')
    return path


@pytest.fixture
def bad_root(tmp_path):
    """A fresh copy per test, for tests that corrupt the list."""
    make_visda17(tmp_path, per_class=1, splits=('train', ))
    return str(tmp_path)


def test_classes_match_generator():
    assert VISDA17_CATEGORIES == VISDA17_CLASSES
    assert len(VISDA17_CATEGORIES) == 12


@pytest.mark.parametrize('split', ['train', 'validation'])
def test_load(visda_root, split):
    root, lists = visda_root
    ds = VisDA17Dataset(data_root=root, split=split)
    assert len(ds) == 24
    assert ds.CLASSES == VISDA17_CATEGORIES
    assert ds.metainfo['classes'] == VISDA17_CATEGORIES
    assert ds.ann_file == osp.join(root, split, 'image_list.txt')
    np.testing.assert_array_equal(ds.get_gt_labels(), [label for _, label in lists[split]])
    for i, (rel, label) in enumerate(lists[split]):
        info = ds.get_data_info(i)
        assert info['img_path'] == osp.join(root, split, rel)
        assert osp.isfile(info['img_path'])
        assert info['gt_label'] == label
        assert ds.get_cat_ids(i) == [label]
    assert 'Number of samples: \t24' in repr(ds)
    assert f'Split: \t{split}' in repr(ds)


def test_custom_ann_file_and_prefix(visda_root, tmp_path):
    root, lists = visda_root
    # an absolute list elsewhere with paths relative to an absolute prefix
    ann = tmp_path / 'subset.txt'
    ann.write_text(''.join(f'{p} {lb}\n' for p, lb in lists['validation'][:5]))
    ds = VisDA17Dataset(data_root=root, split='validation', ann_file=str(ann),
                        data_prefix=osp.join(root, 'validation'))
    assert len(ds) == 5
    expected = osp.join(root, 'validation', lists['validation'][4][0])
    assert ds.get_data_info(4)['img_path'] == expected


def test_indices_and_lazy_init(visda_root):
    root, _ = visda_root
    assert len(VisDA17Dataset(data_root=root, split='train', indices=3)) == 3
    ds = VisDA17Dataset(data_root=root, split='train', lazy_init=True)
    assert not ds._fully_initialized
    assert len(ds) == 24


def test_blank_lines_are_skipped(bad_root):
    lines = open(osp.join(bad_root, 'train', 'image_list.txt')).read().splitlines()
    _write_list(bad_root, 'train', lines[:3] + ['', '   '] + lines[3:])
    assert len(VisDA17Dataset(data_root=bad_root, split='train')) == 12


def test_bad_split(visda_root):
    with pytest.raises(ValueError, match="split must be one of .*'val'"):
        VisDA17Dataset(data_root=visda_root[0], split='val')


def test_missing_list(tmp_path):
    expected = osp.join(str(tmp_path), 'validation', 'image_list.txt')
    with pytest.raises(FileNotFoundError, match='image list not found') as err:
        VisDA17Dataset(data_root=str(tmp_path), split='validation')
    assert expected in str(err.value)


def test_missing_image(bad_root):
    lines = open(osp.join(bad_root, 'train', 'image_list.txt')).read().splitlines()
    lines[4] = 'car/does_not_exist.png 3'
    lines[7] = 'person/gone_too.png 7'
    _write_list(bad_root, 'train', lines)
    with pytest.raises(FileNotFoundError) as err:
        VisDA17Dataset(data_root=bad_root, split='train')
    msg = str(err.value)
    assert '2 image(s)' in msg
    assert 'line 5' in msg
    assert osp.join(bad_root, 'train', 'car', 'does_not_exist.png') in msg
    # the check can be skipped
    ds = VisDA17Dataset(data_root=bad_root, split='train', check_files=False)
    assert len(ds) == 12


@pytest.mark.parametrize('label, expected', [
    ('12', r'out of range \[0, 11\].*line 3: 12'),
    ('-1', r'out of range \[0, 11\].*line 3: -1'),
    ('car', r"not an integer.*line 3: 'car'"),
    ('1.0', r"not an integer.*line 3: '1.0'"),
])
def test_bad_label(bad_root, label, expected):
    lines = open(osp.join(bad_root, 'train', 'image_list.txt')).read().splitlines()
    path = lines[2].split()[0]
    lines[2] = f'{path} {label}'
    _write_list(bad_root, 'train', lines)
    with pytest.raises(ValueError, match=expected):
        VisDA17Dataset(data_root=bad_root, split='train')


def test_malformed_line_and_unlabelled_list(bad_root):
    lines = open(osp.join(bad_root, 'train', 'image_list.txt')).read().splitlines()
    _write_list(bad_root, 'train', lines[:5] + [lines[5].split()[0]] + lines[6:])
    with pytest.raises(ValueError, match='malformed line.*line 6'):
        VisDA17Dataset(data_root=bad_root, split='train')
    # an unlabelled list (e.g. the test split) is accepted with with_label=False
    _write_list(bad_root, 'train', [line.split()[0] for line in lines])
    ds = VisDA17Dataset(data_root=bad_root, split='train', with_label=False)
    assert len(ds) == 12
    assert 'gt_label' not in ds.get_data_info(0)


# ----------------------------------------------------------------------------- pipelines


def _dataset_from_cfg(cfg_name, root, loader='train_dataloader', pipeline=None):
    """Build a dataset of a base config as the runner does (default scope = mmpretrain, which
    the model configs set; nested transforms such as MultiView's are built through it)."""
    from mmengine.registry import DefaultScope
    from mmpretrain.registry import DATASETS
    cfg = Config.fromfile(str(CFG_DIR / cfg_name))
    ds_cfg = copy.deepcopy(cfg[loader]['dataset'])
    ds_cfg['data_root'] = root
    if pipeline is not None:
        ds_cfg['pipeline'] = pipeline
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        return cfg, DATASETS.build(ds_cfg)


def test_csg_train_pipeline_two_views(visda_root):
    """The CSG base config yields two independently augmented 3 x 224 x 224 views."""
    from mmcv.transforms import Compose
    from mmengine.dataset import default_collate
    from mmengine.registry import DefaultScope
    from mmpretrain.models import SelfSupDataPreprocessor
    from mmpretrain.registry import MODELS

    root, lists = visda_root
    cfg, ds = _dataset_from_cfg('visda17.py', root)
    assert cfg.train_dataloader.collate_fn == dict(type='default_collate')
    assert cfg.train_dataloader.batch_size == 8  # x 4 GPUs = 32
    mv = cfg.train_pipeline[1]
    assert mv['type'] == 'MultiView' and mv['num_views'] == 2
    ra = mv['transforms'][0][0]
    assert (ra['type'], ra['num_policies'], ra['magnitude_level'], ra['total_level']) == \
        ('RandAugment', 1, 6, 30)

    torch.manual_seed(0)
    np.random.seed(0)
    sample = ds[0]
    assert isinstance(sample['inputs'], list) and len(sample['inputs']) == 2
    for view in sample['inputs']:
        assert view.shape == (3, 224, 224)
        assert view.dtype == torch.uint8
    assert int(sample['data_samples'].gt_label) == lists['train'][0][1]

    # the same pipeline through Compose on one raw sample, in the mmpretrain scope
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        pipeline = Compose(copy.deepcopy(cfg.train_pipeline))
    out = pipeline(dict(img_path=osp.join(root, 'train', lists['train'][5][0]), gt_label=2))
    assert [tuple(v.shape) for v in out['inputs']] == [(3, 224, 224)] * 2
    assert int(out['data_samples'].gt_label) == 2

    # collate + data preprocessor as configured: a list of two normalised (B, 3, 224, 224) views
    batch = default_collate([ds[i] for i in range(3)])
    assert [tuple(v.shape) for v in batch['inputs']] == [(3, 3, 224, 224)] * 2
    pre = MODELS.build(cfg.data_preprocessor)
    assert isinstance(pre, SelfSupDataPreprocessor)
    out = pre(batch, training=True)
    assert [tuple(v.shape) for v in out['inputs']] == [(3, 3, 224, 224)] * 2
    assert out['inputs'][0].dtype == torch.float32
    assert len(out['data_samples']) == 3


def test_views_are_independent(visda_root):
    """Both views come from independent random draws (crop position / RandAugment)."""
    root, _ = visda_root
    _, ds = _dataset_from_cfg('visda17.py', root)
    np.random.seed(1)
    differs = [not torch.equal(*ds[i]['inputs']) for i in range(6)]
    assert any(differs)


@pytest.mark.parametrize('cfg_name', ['visda17.py', 'visda17_single_view.py'])
def test_val_pipeline(visda_root, cfg_name):
    from mmengine.dataset import default_collate
    from mmpretrain.registry import MODELS

    root, lists = visda_root
    cfg, ds = _dataset_from_cfg(cfg_name, root, loader='val_dataloader')
    assert ds.split == 'validation' and len(ds) == 24
    assert cfg.val_evaluator == dict(type='VisDAMetric')
    sample = ds[3]
    assert sample['inputs'].shape == (3, 224, 224)
    assert int(sample['data_samples'].gt_label) == lists['validation'][3][1]
    # the val collate gives a stacked tensor that the configured preprocessor accepts
    batch = default_collate([ds[i] for i in range(2)])
    pre_cfg = dict(cfg.data_preprocessor)
    pre_cfg.setdefault('type', 'ClsDataPreprocessor')
    out = MODELS.build(pre_cfg)(batch)
    assert out['inputs'].shape == (2, 3, 224, 224)


def test_single_view_train_pipeline(visda_root):
    from mmengine.dataset import pseudo_collate
    from mmpretrain.registry import MODELS

    root, _ = visda_root
    cfg, ds = _dataset_from_cfg('visda17_single_view.py', root)
    assert 'collate_fn' not in cfg.train_dataloader  # mmpretrain's default pseudo_collate
    sample = ds[0]
    assert sample['inputs'].shape == (3, 224, 224)
    pre = MODELS.build(dict(type='ClsDataPreprocessor', **cfg.data_preprocessor))
    out = pre(pseudo_collate([ds[i] for i in range(2)]), training=True)
    assert out['inputs'].shape == (2, 3, 224, 224)


def test_flip_tta_pipeline(visda_root):
    """The TTA snippet yields the mirrored and the plain view of the same center crop."""
    root, _ = visda_root
    tta = Config.fromfile(str(CFG_DIR / 'visda17_flip_tta.py'))
    assert tta.tta_model == dict(type='CSGAverageClsScoreTTA')
    assert 'test_evaluator' not in tta  # composable with a full config as a sibling base
    _, ds = _dataset_from_cfg('visda17.py', root, loader='test_dataloader',
                              pipeline=copy.deepcopy(tta.tta_pipeline))
    sample = ds[0]
    flipped, plain = sample['inputs']
    assert plain.shape == (3, 224, 224)
    assert torch.equal(flipped, plain.flip(-1))
    assert [ds_.flip for ds_ in sample['data_samples']] == [True, False]


def test_two_views_come_from_the_one_decoded_image(visda_root, monkeypatch):
    """MultiView augments the one decoded image twice: one read, one decode per sample."""
    from mmcv.transforms import Compose
    from mmengine.registry import DefaultScope

    root, lists = visda_root
    cfg, _ = _dataset_from_cfg('visda17.py', root)
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        pipeline = Compose(copy.deepcopy(cfg.train_pipeline))
    reads, decodes = count_reads_and_decodes(monkeypatch)
    path = osp.join(root, 'train', lists['train'][0][0])
    out = pipeline(dict(img_path=path, gt_label=0))
    assert len(out['inputs']) == 2
    assert reads == [path] and len(decodes) == 1

"""Every domain-generalisation config (configs/csg/*-to-*.py and the mixin *-to-cbm-* example)
loads, tests on the right targets with per-dataset metrics, and builds its evaluator; the CBM
test set builds on generated data. (Model builds of the *gta5* configs: test_seg_configs.py.)"""
import glob
import os.path as osp

import pytest
from mmengine.config import Config
from mmengine.registry import DATASETS, EVALUATOR, init_default_scope
from mmseg.registry import MODELS

import csg_mm  # noqa: F401
from csg_mm.engine import apply_csg_mixin
from csg_mm.evaluation import ClassSubsetIoUMetric, MultiDatasetEvaluator
from tests.utils.dg_fake_data import make_bdd100k, make_mapillary
from tests.utils.fake_data import make_cityscapes
from tests.utils.runner_utils import REPO, run_tool

DG_CONFIGS = sorted(
    glob.glob(osp.join(REPO, 'configs/csg/*-to-*.py')) +
    glob.glob(osp.join(REPO, 'configs/csg/mixin/*-to-cbm-*.py')))
CBM = (['cityscapes', 'bdd100k', 'mapillary'],
       ['CheckedCityscapesDataset', 'CheckedBDD100KDataset', 'Mapillary19Dataset'],
       [(2048, 1024), (1280, 720), (2048, 1024)])
ACDC = (['acdc-fog', 'acdc-night', 'acdc-rain', 'acdc-snow'], ['ACDCDataset'] * 4,
        [(1920, 1080)] * 4)
SOURCES = {'gta5+synthia': ['GTA5Dataset', 'SynthiaDataset'], 'synthia': ['SynthiaDataset'],
           'gta5': ['GTA5Dataset']}


def _load(path):
    cfg = Config.fromfile(path)
    return apply_csg_mixin(cfg) if cfg.get('runner_type') == 'CSGRunner' else cfg


def _source(name):
    return next(key for key in SOURCES if f'_{key}-to-' in name or f'_csg_{key}-to-' in name)


def test_the_protocol_configs_exist():
    names = {osp.basename(p) for p in DG_CONFIGS}
    for src in SOURCES:
        for depth in (50, 101):
            assert f'deeplabv2_r{depth}_csg_{src}-to-cbm.py' in names
            assert f'deeplabv2_r{depth}_{src}-to-cbm_baseline.py' in names
    assert 'deeplabv2_r101_csg_gta5-to-acdc.py' in names
    assert any(n.endswith('-to-cbm-512x1024.py') for n in names)  # a mixin example


@pytest.mark.parametrize('path', DG_CONFIGS, ids=osp.basename)
def test_dg_config(path):
    name = osp.basename(path)
    cfg = _load(path)
    init_default_scope(cfg.default_scope)
    for split in ('val', 'test'):
        prefixes, types, scales = ACDC if (split == 'test' and 'acdc' in name) else CBM
        dataset = cfg[f'{split}_dataloader'].dataset
        assert dataset.type == 'ConcatEvalDataset'
        assert [d.type for d in dataset.datasets] == types
        assert [d.pipeline[1].scale for d in dataset.datasets] == scales
        evaluator = EVALUATOR.build(cfg[f'{split}_evaluator'])
        assert isinstance(evaluator, MultiDatasetEvaluator)
        assert evaluator.dataset_prefixes == prefixes
        (metric, ) = evaluator.metrics
        if '_synthia-to-' in name:  # SYNTHIA -> X: also the 16- and 13-class mIoU
            assert isinstance(metric, ClassSubsetIoUMetric)
            assert {k: len(v) for k, v in metric.class_subsets.items()} == dict(mIoU16=16,
                                                                                mIoU13=13)
        else:
            assert type(metric).__name__ == 'IoUMetric'
    train_set = cfg.train_dataloader.dataset
    if 'mixin' not in path:
        sources = train_set.get('datasets', [train_set])
        assert [s.type for s in sources] == SOURCES[_source(name)]
    is_csg = 'baseline' not in name
    assert (cfg.get('runner_type') == 'CSGRunner') == is_csg
    if 'gta5' not in name:  # the *gta5* ones are built in test_seg_configs.py
        model = MODELS.build(cfg.model)
        assert (type(model).__name__ == 'CSGEncoderDecoder') == is_csg


@pytest.fixture(scope='module')
def cbm_roots(tmp_path_factory):
    root = tmp_path_factory.mktemp('cbm')
    mapillary = make_mapillary(root / 'mapillary', num=2, mismatch=False, orphans=False)
    run_tool(['tools/dataset_converters/mapillary.py', mapillary, '--nproc', '1'])
    return [make_cityscapes(root / 'cityscapes', num=2), make_bdd100k(root / 'bdd100k', num=3),
            mapillary]


def test_cbm_test_set_builds(cbm_roots):
    cfg = _load(osp.join(REPO, 'configs/csg/deeplabv2_r50_gta5-to-cbm_baseline.py'))
    init_default_scope('mmseg')
    for sub, data_root in zip(cfg.test_dataloader.dataset.datasets, cbm_roots):
        sub.data_root = data_root
        sub.expected_num = None
    dataset = DATASETS.build(cfg.test_dataloader.dataset)
    assert dataset.metainfo['cumulative_sizes'] == [2, 5, 7]
    assert len(dataset[2]['data_samples'].gt_sem_seg.data.shape) == 3  # a BDD100K sample


def test_cbm_expected_counts_are_checked(cbm_roots):
    """The stock counts (500 / 1000 / 2000) are checked: a partial download is named."""
    cfg = _load(osp.join(REPO, 'configs/csg/deeplabv2_r50_gta5-to-cbm_baseline.py'))
    init_default_scope('mmseg')
    for sub, data_root in zip(cfg.test_dataloader.dataset.datasets, cbm_roots):
        sub.data_root = data_root
    with pytest.raises(ValueError, match='found 2 image/label pairs .* expected 500'):
        DATASETS.build(cfg.test_dataloader.dataset)


def _test_tool():
    import importlib.util
    import sys
    sys.path.insert(0, osp.join(REPO, 'tools'))
    try:
        spec = importlib.util.spec_from_file_location('csg_test_tool',
                                                      osp.join(REPO, 'tools', 'test.py'))
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module
    finally:
        sys.path.pop(0)


def test_test_tool_out_and_tta_with_a_multi_dataset_test_set(tmp_path):
    """--out goes to the evaluator's metrics; --tta replaces every test set's pipeline."""
    tool = _test_tool()
    path = osp.join(REPO, 'configs/csg/deeplabv2_r50_gta5-to-cbm_baseline.py')
    ckpt = tmp_path / 'x.pth'
    ckpt.write_bytes(b'')
    out = str(tmp_path / 'preds')
    cfg = tool.merge_args(_load(path), tool.parse_args([path, str(ckpt), '--out', out]))
    assert cfg.test_evaluator.metrics.output_dir == out
    assert 'output_dir' not in cfg.test_evaluator  # MultiDatasetEvaluator takes no such key
    init_default_scope('mmseg')
    evaluator = EVALUATOR.build(cfg.test_evaluator)
    assert evaluator.metrics[0].output_dir == out

    cfg = _load(path)
    cfg.tta_model = dict(type='SegTTAModel')
    cfg.tta_pipeline = [dict(type='LoadImageFromFile'), dict(type='TestTimeAug', transforms=[])]
    cfg = tool.merge_args(cfg, tool.parse_args([path, str(ckpt), '--tta']))
    assert all(d.pipeline == cfg.tta_pipeline for d in cfg.test_dataloader.dataset.datasets)
    assert 'pipeline' not in cfg.test_dataloader.dataset


def test_metafile_lists_every_dg_config():
    """configs/csg/metafile.yml names existing files, and every DG config is in it."""
    import yaml
    meta = yaml.safe_load(open(osp.join(REPO, 'configs/csg/metafile.yml')))
    listed = {m['Config'] for m in meta['Models']}
    for path in listed:
        assert osp.isfile(osp.join(REPO, path)), path
    dg = {osp.relpath(p, REPO) for p in glob.glob(osp.join(REPO, 'configs/csg/*-to-*.py'))}
    assert dg and dg <= listed, sorted(dg - listed)

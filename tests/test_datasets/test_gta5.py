"""Tests of the GTA5 label converter (tools/dataset_converters/gta5.py) and GTA5Dataset."""
import hashlib
import importlib.util
import os
import os.path as osp
import sys

import numpy as np
import pytest
from PIL import Image

from csg_mm.datasets.converters import gta5 as gta5_converter  # the logic
from tests.utils.fake_data import make_cityscapes, make_gta5

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONVERTER = osp.join(REPO, 'tools', 'dataset_converters', 'gta5.py')
# Cityscapes label id -> train id, typed out independently of the converter's table.
EXPECTED = {7: 0, 8: 1, 11: 2, 12: 3, 13: 4, 17: 5, 19: 6, 20: 7, 21: 8, 22: 9, 23: 10, 24: 11,
            25: 12, 26: 13, 27: 14, 28: 15, 31: 16, 32: 17, 33: 18}


def _load_converter():
    spec = importlib.util.spec_from_file_location('gta5_converter', CONVERTER)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod  # so that worker processes can unpickle its functions
    spec.loader.exec_module(mod)
    return mod


conv = _load_converter()  # the command line (main)


def _expected_train_ids(ids):
    out = np.full(ids.shape, 255, dtype=np.uint8)
    for k, v in EXPECTED.items():
        out[ids == k] = v
    return out


def _read(path):
    with Image.open(path) as im:
        return np.array(im), im.mode, im.size


def _digest(folder):
    out = {}
    for n in sorted(os.listdir(folder)):
        if not n.endswith('_labelTrainIds.png'):
            path = osp.join(folder, n)
            with open(path, 'rb') as f:
                out[n] = (hashlib.sha256(f.read()).hexdigest(), os.stat(path).st_mtime_ns)
    return out


def _ids(path):
    with open(path) as f:
        return f.read().split()


@pytest.fixture
def gta5(tmp_path):
    return make_gta5(tmp_path / 'gta5')


# --------------------------------------------------------------------------- converter
def test_fake_data_layout(gta5, tmp_path):
    assert sorted(os.listdir(osp.join(gta5, 'images'))) == [f'0000{i}.png' for i in range(1, 6)]
    assert sorted(os.listdir(osp.join(gta5, 'labels'))) == [
        f'0000{i}.png' for i in (1, 2, 3, 4, 6)]
    ids, mode, size = _read(osp.join(gta5, 'labels', '00001.png'))
    assert mode == 'P' and size == (64, 48)
    assert set(EXPECTED) <= set(np.unique(ids).tolist())
    assert set(np.unique(ids).tolist()) - set(EXPECTED)  # unmapped ids present
    assert _read(osp.join(gta5, 'labels', '00002.png'))[2] != (64, 48)
    cs = make_cityscapes(tmp_path / 'cs')
    img_dir = osp.join(cs, 'leftImg8bit', 'val', 'frankfurt')
    ann_dir = osp.join(cs, 'gtFine', 'val', 'frankfurt')
    assert len([n for n in os.listdir(img_dir) if n.endswith('_leftImg8bit.png')]) == 2
    lab, mode, size = _read(osp.join(ann_dir, os.listdir(ann_dir)[0]))
    assert mode == 'L' and size == (64, 32)
    assert set(np.unique(lab).tolist()) == set(range(19)) | {255}


def test_converter_output_values(gta5, capsys):
    assert conv.main([gta5]) == 0
    for fid in ('00001', '00003', '00004', '00006'):
        src, _, _ = _read(osp.join(gta5, 'labels', f'{fid}.png'))
        out, mode, _ = _read(osp.join(gta5, 'labels', f'{fid}_labelTrainIds.png'))
        assert mode == 'L' and out.dtype == np.uint8
        np.testing.assert_array_equal(out, _expected_train_ids(src))
        assert set(np.unique(out).tolist()) == set(range(19)) | {255}
    # usable frames: image + label; the label without image (00006) is converted, not listed
    assert _ids(osp.join(gta5, 'all.txt')) == ['00001', '00002', '00003', '00004']
    assert not [n for n in os.listdir(osp.join(gta5, 'labels')) if n.startswith('.')]
    report = capsys.readouterr().out
    assert 'images without label (1): 00005' in report
    assert 'labels without image (1' in report and '00006' in report


def test_converter_mismatch_resize(gta5, capsys):
    assert conv.main([gta5]) == 0
    src, _, src_size = _read(osp.join(gta5, 'labels', '00002.png'))
    out, _, size = _read(osp.join(gta5, 'labels', '00002_labelTrainIds.png'))
    assert src_size == (72, 54) and size == (64, 48)
    ref = Image.fromarray(_expected_train_ids(src)).resize((64, 48), Image.NEAREST)
    np.testing.assert_array_equal(out, np.array(ref))
    report = capsys.readouterr().out
    assert 'size mismatches (1' in report and '00002: image 64x48, label 72x54' in report


def test_converter_mismatch_skip(gta5, capsys):
    assert conv.main([gta5]) == 0  # resize first: writes 00002_labelTrainIds.png
    assert osp.exists(osp.join(gta5, 'labels', '00002_labelTrainIds.png'))
    assert conv.main([gta5, '--on-mismatch', 'skip']) == 0
    assert not osp.exists(osp.join(gta5, 'labels', '00002_labelTrainIds.png'))
    assert osp.exists(osp.join(gta5, 'labels', '00002.png'))
    assert _ids(osp.join(gta5, 'all.txt')) == ['00001', '00003', '00004']
    report = capsys.readouterr().out
    assert 'excluded' in report and '00002' in report


def test_converter_idempotent(gta5):
    before = _digest(osp.join(gta5, 'labels'))
    assert conv.main([gta5]) == 0
    outs = sorted(n for n in os.listdir(osp.join(gta5, 'labels')) if 'TrainIds' in n)
    assert len(outs) == 5
    mtimes = {n: os.stat(osp.join(gta5, 'labels', n)).st_mtime_ns for n in outs}
    summary = gta5_converter.convert(gta5)
    assert len(summary['by_status']['up-to-date']) == 5
    assert set(summary['by_status']) == {'up-to-date'}
    assert {n: os.stat(osp.join(gta5, 'labels', n)).st_mtime_ns for n in outs} == mtimes
    # source labels (and images) byte-identical, untouched
    assert _digest(osp.join(gta5, 'labels')) == before
    assert conv.main([gta5]) == 0
    assert _digest(osp.join(gta5, 'labels')) == before


def test_converter_redoes_stale_and_cleans_temporaries(gta5):
    assert conv.main([gta5]) == 0
    label_dir = osp.join(gta5, 'labels')
    out = osp.join(label_dir, '00003_labelTrainIds.png')
    Image.fromarray(np.zeros((48, 64), np.uint8)).save(out)
    old = os.stat(osp.join(label_dir, '00003.png')).st_mtime - 100
    os.utime(out, (old, old))  # older than its source: redone
    tmp = osp.join(label_dir, '.tmp-00004_labelTrainIds.png.12345')  # interrupted run
    with open(tmp, 'wb') as f:
        f.write(b'half a png')
    summary = gta5_converter.convert(gta5)
    assert [r['id'] for r in summary['by_status']['converted']] == ['00003']
    assert not osp.exists(tmp)
    src = _read(osp.join(label_dir, '00003.png'))[0]
    np.testing.assert_array_equal(_read(out)[0], _expected_train_ids(src))


def test_converter_parallel(gta5, capsys):
    assert conv.main([gta5, '--nproc', '2']) == 0
    assert 'size mismatches (1' in capsys.readouterr().out
    assert _ids(osp.join(gta5, 'all.txt')) == ['00001', '00002', '00003', '00004']
    assert len([n for n in os.listdir(osp.join(gta5, 'labels')) if 'TrainIds' in n]) == 5


def test_converter_split_dir(gta5, tmp_path):
    split_dir = tmp_path / 'split'
    split_dir.mkdir()
    (split_dir / 'train.txt').write_text('1\n2\n00003.png\n5\n')
    (split_dir / 'val.txt').write_text('00004\n00006\n')
    out_dir = tmp_path / 'lists'
    assert conv.main([gta5, '--on-mismatch', 'skip', '--split-dir', str(split_dir),
                      '-o', str(out_dir)]) == 0
    assert _ids(out_dir / 'train.txt') == ['00001', '00003']
    assert _ids(out_dir / 'val.txt') == ['00004']
    assert _ids(out_dir / 'all.txt') == ['00001', '00003', '00004']
    assert not osp.exists(osp.join(gta5, 'all.txt'))


def test_converter_broken_label_reported(gta5, capsys):
    with open(osp.join(gta5, 'labels', '00003.png'), 'wb') as f:
        f.write(b'not a png')
    assert conv.main([gta5]) == 1
    assert 'error 00003' in capsys.readouterr().out
    assert _ids(osp.join(gta5, 'all.txt')) == ['00001', '00002', '00004']


@pytest.mark.parametrize('case', ['root', 'labels', 'images'])
def test_converter_bad_input(tmp_path, capsys, case):
    root = make_gta5(tmp_path / 'gta5')
    if case == 'root':
        target = str(tmp_path / 'missing')
        arg = target
    else:
        target = osp.join(root, case)
        os.rename(target, target + '_moved')
        arg = root
    assert conv.main([arg]) == 2  # the command line's exit status for bad input
    err = capsys.readouterr().err
    assert err.startswith('error: ') and 'not found' in err and target in err


# --------------------------------------------------------------------------- dataset
def _dataset(**kwargs):
    from csg_mm.datasets import GTA5Dataset
    return GTA5Dataset(**kwargs)


def test_dataset_metainfo():
    from mmseg.datasets import CityscapesDataset

    from csg_mm.datasets import GTA5Dataset
    assert GTA5Dataset.METAINFO['classes'] == CityscapesDataset.METAINFO['classes']
    assert [list(p) for p in GTA5Dataset.METAINFO['palette']] == [
        list(p) for p in CityscapesDataset.METAINFO['palette']]


def test_dataset_loading(gta5):
    from mmseg.registry import DATASETS
    gta5_converter.convert(gta5)
    ds = DATASETS.build(dict(type='GTA5Dataset', data_root=gta5))
    # 00005 (image without label) is dropped; 00006 (label without image) never appears
    assert len(ds) == 4
    assert len(ds.metainfo['classes']) == 19
    for i, fid in enumerate(['00001', '00002', '00003', '00004']):
        info = ds.get_data_info(i)
        assert info['img_path'] == osp.join(gta5, 'images', f'{fid}.png')
        assert info['seg_map_path'] == osp.join(gta5, 'labels', f'{fid}_labelTrainIds.png')
    ds = _dataset(data_root=gta5, ann_file='all.txt')
    assert len(ds) == 4
    assert ds.get_data_info(1)['seg_map_path'].endswith('00002_labelTrainIds.png')


def test_dataset_pipeline_resized_label_matches_image(gta5):
    from mmcv.transforms import LoadImageFromFile
    from mmseg.datasets.transforms import LoadAnnotations
    gta5_converter.convert(gta5)
    ds = _dataset(
        data_root=gta5, ann_file='all.txt', pipeline=[LoadImageFromFile(), LoadAnnotations()])
    sample = ds[1]  # 00002, the mismatched frame
    assert sample['img'].shape[:2] == sample['gt_seg_map'].shape == (48, 64)
    assert set(np.unique(sample['gt_seg_map']).tolist()) <= set(range(19)) | {255}


def test_dataset_skip_mode_directory_scan(gta5):
    gta5_converter.convert(gta5, on_mismatch='skip')
    ds = _dataset(data_root=gta5)
    assert [osp.basename(d['img_path']) for d in ds.load_data_list()] == [
        '00001.png', '00003.png', '00004.png']


def test_dataset_missing_data_root(tmp_path):
    missing = str(tmp_path / 'nope')
    with pytest.raises(FileNotFoundError, match='data_root not found.*nope'):
        _dataset(data_root=missing)


def test_dataset_missing_image_dir(gta5):
    gta5_converter.convert(gta5)
    os.rename(osp.join(gta5, 'images'), osp.join(gta5, 'imgs'))
    with pytest.raises(FileNotFoundError, match='image folder not found.*images'):
        _dataset(data_root=gta5)


def test_dataset_missing_label_dir(gta5):
    os.rename(osp.join(gta5, 'labels'), osp.join(gta5, 'lbl'))
    with pytest.raises(FileNotFoundError, match='label folder not found.*labels'):
        _dataset(data_root=gta5)


def test_dataset_missing_split_file(gta5):
    gta5_converter.convert(gta5)
    with pytest.raises(FileNotFoundError, match='split file.*train_split.txt'):
        _dataset(data_root=gta5, ann_file='train_split.txt')


def test_dataset_split_lists_missing_frame(gta5):
    gta5_converter.convert(gta5)
    with open(osp.join(gta5, 'bad.txt'), 'w') as f:
        f.write('00001\n00005\n')  # 00005 has no label
    with pytest.raises(FileNotFoundError, match='00005'):
        _dataset(data_root=gta5, ann_file='bad.txt')


def test_dataset_unconverted_labels(gta5):
    with pytest.raises(RuntimeError, match='not converted.*tools/dataset_converters/gta5.py'):
        _dataset(data_root=gta5)


def test_dataset_label_with_raw_ids(gta5):
    # a "converted" label that still holds label ids (e.g. copied/renamed by hand)
    label_dir = osp.join(gta5, 'labels')
    for fid in ('00001', '00002', '00003', '00004'):
        ids = np.array(Image.open(osp.join(label_dir, f'{fid}.png')))
        Image.fromarray(ids).save(osp.join(label_dir, f'{fid}_labelTrainIds.png'))
    with pytest.raises(RuntimeError,
                       match='does not hold Cityscapes train ids.*tools/dataset_converters'):
        _dataset(data_root=gta5)

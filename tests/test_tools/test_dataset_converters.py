"""Tests of the SYNTHIA and Mapillary label converters (tools/dataset_converters/*.py, logic in
csg_mm/datasets/converters/) and of the rules every converter shares (GTA5's other tests are in
tests/test_datasets/test_gta5.py): every table entry, idempotence, untouched sources, size
mismatches, missing pairs, already-converted labels, bad input."""
import hashlib
import importlib.util
import json
import os
import os.path as osp
import subprocess
import sys

import cv2
import numpy as np
import pytest
from PIL import Image

from tests.utils.dg_fake_data import (
    MAPILLARY_V12_NAMES,
    make_mapillary,
    make_synthia,
    write_synthia_label,
)
from tests.utils.fake_data import make_gta5

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TOOLS = osp.join(REPO, 'tools', 'dataset_converters')

# SYNTHIA class id -> Cityscapes train id, typed out from the SYNTHIA README's class list
# (3 road, 4 sidewalk, 2 building, 21 wall, 5 fence, 7 pole, 15 traffic light, 9 traffic sign,
# 6 vegetation, 16 terrain, 1 sky, 10 pedestrian, 17 rider, 8 car, 18 truck, 19 bus, 20 train,
# 12 motorcycle, 11 bicycle); 0 void, 13 parking-slot, 14 road-work, 22 lanemarking -> 255.
SYNTHIA_EXPECTED = {0: 255, 1: 10, 2: 2, 3: 0, 4: 1, 5: 4, 6: 8, 7: 5, 8: 13, 9: 7, 10: 11,
                    11: 18, 12: 17, 13: 255, 14: 255, 15: 6, 16: 9, 17: 12, 18: 14, 19: 15,
                    20: 16, 21: 3, 22: 255}
# Mapillary v1.2 label name -> train id (RobustNet's table, written by name); all else 255.
MAPILLARY_EXPECTED = {
    'construction--flat--road': 0, 'marking--general': 0, 'object--manhole': 0,
    'construction--barrier--curb': 1, 'construction--flat--sidewalk': 1,
    'construction--structure--building': 2, 'construction--barrier--wall': 3,
    'construction--barrier--fence': 4, 'object--support--pole': 5,
    'object--support--utility-pole': 5, 'object--traffic-light': 6,
    'object--traffic-sign--front': 7, 'nature--vegetation': 8, 'nature--terrain': 9,
    'nature--sky': 10, 'human--person': 11, 'human--rider--bicyclist': 12,
    'human--rider--motorcyclist': 12, 'human--rider--other-rider': 12,
    'object--vehicle--car': 13, 'object--vehicle--truck': 14, 'object--vehicle--bus': 15,
    'object--vehicle--on-rails': 16, 'object--vehicle--motorcycle': 17,
    'object--vehicle--bicycle': 18}
# Where the openseg/Rein table differs.
OPENSEG_CHANGES = {
    'object--manhole': 255, 'construction--flat--crosswalk-plain': 0,
    'construction--flat--parking': 0, 'construction--flat--bike-lane': 0,
    'construction--flat--service-lane': 0, 'marking--crosswalk-zebra': 0,
    'construction--flat--curb-cut': 1, 'construction--flat--pedestrian-area': 1,
    'object--street-light': 5, 'object--support--traffic-sign-frame': 7,
    'object--traffic-sign--back': 7}


def _load_tool(name):
    spec = importlib.util.spec_from_file_location(f'{name}_converter_tool',
                                                  osp.join(TOOLS, f'{name}.py'))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


synthia_tool = _load_tool('synthia')
mapillary_tool = _load_tool('mapillary')
gta5_tool = _load_tool('gta5')


def _read(path):
    with Image.open(path) as im:
        return np.array(im), im.mode, im.size


def _digest(folder):
    out = {}
    for dirpath, _, files in os.walk(folder):
        for n in files:
            p = osp.join(dirpath, n)
            with open(p, 'rb') as f:
                out[osp.relpath(p, folder)] = (hashlib.sha256(f.read()).hexdigest(),
                                               os.stat(p).st_mtime_ns)
    return out


def _map(src, table):
    out = np.full(src.shape, 255, dtype=np.uint8)
    for k, v in table.items():
        out[src == k] = v
    return out


def _synthia_ids(path):
    return cv2.imread(path, cv2.IMREAD_UNCHANGED)[..., 2]  # BGR: class id in the last channel


# --------------------------------------------------------------------------- SYNTHIA
@pytest.fixture
def synthia(tmp_path):
    return make_synthia(tmp_path / 'synthia')


def test_synthia_every_table_entry(synthia, capsys):
    assert synthia_tool.main([synthia]) == 0
    lab_dir = osp.join(synthia, 'GT', 'LABELS')
    for stem in ('0000000', '0000002'):
        src = _synthia_ids(osp.join(lab_dir, stem + '.png'))
        assert set(np.unique(src).tolist()) == set(range(23))  # every id present
        out, mode, _ = _read(osp.join(lab_dir, stem + '_labelTrainIds.png'))
        assert mode == 'L'
        np.testing.assert_array_equal(out, _map(src, SYNTHIA_EXPECTED))
        for sid, tid in SYNTHIA_EXPECTED.items():
            assert set(np.unique(out[src == sid]).tolist()) == {tid}, sid
    report = capsys.readouterr().out
    assert 'images without label (1): 0000003' in report
    assert 'labels without image (1' in report and '0000004' in report


def test_synthia_reads_class_channel_not_instance_channel(tmp_path):
    from csg_mm.datasets.converters.synthia import decode
    path = str(tmp_path / 'x.png')
    bgr = np.zeros((2, 3, 3), np.uint16)
    bgr[..., 2] = [[3, 8, 21], [1, 0, 22]]  # class ids: road, car, wall / sky, void, marking
    bgr[..., 1] = 8  # instance ids: would be "car" everywhere if read by mistake
    cv2.imwrite(path, bgr)
    np.testing.assert_array_equal(decode(path), [[0, 13, 3], [10, 255, 255]])


def test_synthia_mismatch_resize_and_skip(synthia, capsys):
    assert synthia_tool.main([synthia]) == 0
    lab_dir = osp.join(synthia, 'GT', 'LABELS')
    src = _synthia_ids(osp.join(lab_dir, '0000001.png'))
    assert src.shape == (30, 48)
    out, _, size = _read(osp.join(lab_dir, '0000001_labelTrainIds.png'))
    assert size == (40, 24)
    ref = Image.fromarray(_map(src, SYNTHIA_EXPECTED)).resize((40, 24), Image.NEAREST)
    np.testing.assert_array_equal(out, np.array(ref))
    assert '0000001: image 40x24, label 48x30' in capsys.readouterr().out
    assert synthia_tool.main([synthia, '--on-mismatch', 'skip']) == 0
    assert not osp.exists(osp.join(lab_dir, '0000001_labelTrainIds.png'))
    assert 'excluded' in capsys.readouterr().out


def test_synthia_idempotent_sources_untouched(synthia):
    from csg_mm.datasets.converters import synthia as conv
    before = _digest(synthia)
    conv.convert(synthia)
    after_first = {k: v for k, v in _digest(synthia).items() if 'TrainIds' in k}
    # 4 labels and the record of the table (GT/LABELS_labelTrainIds.json), both kept on re-runs
    assert len([k for k in after_first if k.endswith('.png')]) == 4
    assert osp.join('GT', 'LABELS_labelTrainIds.json') in after_first
    summary = conv.convert(synthia)
    assert set(summary['by_status']) == {'up-to-date'}
    now = _digest(synthia)
    assert {k: v for k, v in now.items() if 'TrainIds' in k} == after_first
    assert {k: v for k, v in now.items() if 'TrainIds' not in k} == before


def test_synthia_refuses_converted_label(synthia, capsys):
    # a label already in train ids (single channel: 7 = traffic sign, 255) put in place of a
    # source label: 7 would otherwise become 5 (SYNTHIA 7 = pole)
    lab_dir = osp.join(synthia, 'GT', 'LABELS')
    converted = np.full((24, 40), 255, np.uint8)
    converted[:4] = 7
    Image.fromarray(converted).save(osp.join(lab_dir, '0000002.png'))
    assert synthia_tool.main([synthia]) == 1
    report = capsys.readouterr().out
    assert 'already converted (refused): 1' in report
    assert 'already converted 0000002:' in report and 'not converted again' in report
    assert not osp.exists(osp.join(lab_dir, '0000002_labelTrainIds.png'))
    assert osp.exists(osp.join(lab_dir, '0000000_labelTrainIds.png'))


@pytest.mark.parametrize('case,message', [
    ('colour', 'is a 3-channel uint8 image'),
    ('class-id', 'class id 40 outside'),
])
def test_synthia_not_a_source_label(synthia, capsys, case, message):
    path = osp.join(synthia, 'GT', 'LABELS', '0000000.png')
    if case == 'colour':  # GT/COLOR visualisation (8-bit RGB) in GT/LABELS
        Image.fromarray(np.zeros((24, 40, 3), np.uint8)).save(path)
    else:
        ids = np.zeros((24, 40), np.uint16)
        ids[0, 0] = 40
        write_synthia_label(path, ids, np.random.default_rng(0))
    assert synthia_tool.main([synthia]) == 1
    assert message in capsys.readouterr().out


@pytest.mark.parametrize('missing', ['root', 'RGB', 'GT/LABELS'])
def test_synthia_missing_folder(tmp_path, capsys, missing):
    root = make_synthia(tmp_path / 's')
    target = str(tmp_path / 'nope') if missing == 'root' else osp.join(root, missing)
    if missing != 'root':
        os.rename(target, target + '_moved')
    assert synthia_tool.main([target if missing == 'root' else root]) == 2
    err = capsys.readouterr().err
    assert 'not found' in err and target in err


# --------------------------------------------------------------------------- Mapillary
@pytest.fixture
def mapillary(tmp_path):
    return make_mapillary(tmp_path / 'mapillary')


def _check_mapillary_outputs(root, table, folder):
    val = osp.join(root, 'validation')
    for stem in ('mpl0000', 'mpl0002'):
        src, _, _ = _read(osp.join(val, 'labels', stem + '.png'))
        assert set(np.unique(src).tolist()) == set(range(66))
        out, mode, _ = _read(osp.join(val, folder, stem + '.png'))
        assert mode == 'L'
        for i, name in enumerate(MAPILLARY_V12_NAMES):
            assert set(np.unique(out[src == i]).tolist()) == {table.get(name, 255)}, name


def test_mapillary_every_table_entry(mapillary, capsys):
    assert mapillary_tool.main([mapillary]) == 0
    _check_mapillary_outputs(mapillary, MAPILLARY_EXPECTED, 'labels_trainIds')
    report = capsys.readouterr().out
    assert 'images without label (1): validation/mpl0003' in report
    assert 'validation/mpl0004' in report
    assert "seg_map_path='validation/labels_trainIds'" in report
    with open(osp.join(mapillary, 'validation', 'labels_trainIds.json')) as f:
        record = json.load(f)
    assert record['convention'] == 'robustnet'
    assert {k: v for k, v in record['table'].items() if v != 255} == MAPILLARY_EXPECTED
    assert len(record['table']) == 66


def test_mapillary_openseg_convention(mapillary):
    assert mapillary_tool.main([mapillary, '--convention', 'openseg']) == 0
    table = {**MAPILLARY_EXPECTED, **OPENSEG_CHANGES}
    _check_mapillary_outputs(mapillary, table, 'labels_trainIds_openseg')
    from csg_mm.datasets.label_maps import MAPILLARY_CONVENTION_DIFFERENCES
    assert set(MAPILLARY_CONVENTION_DIFFERENCES) == set(OPENSEG_CHANGES)


def test_mapillary_mapping_by_name_not_position(mapillary):
    # the same labels listed in another order: the table follows the names
    cfg_path = osp.join(mapillary, 'config.json')
    with open(cfg_path) as f:
        cfg = json.load(f)
    cfg['labels'] = cfg['labels'][::-1]
    with open(cfg_path, 'w') as f:
        json.dump(cfg, f)
    assert mapillary_tool.main([mapillary]) == 0
    src, _, _ = _read(osp.join(mapillary, 'validation', 'labels', 'mpl0000.png'))
    out, _, _ = _read(osp.join(mapillary, 'validation', 'labels_trainIds', 'mpl0000.png'))
    road = 65 - MAPILLARY_V12_NAMES.index('construction--flat--road')
    car = 65 - MAPILLARY_V12_NAMES.index('object--vehicle--car')
    assert set(np.unique(out[src == road]).tolist()) == {0}
    assert set(np.unique(out[src == car]).tolist()) == {13}


def test_mapillary_refuses_other_label_definitions(mapillary, capsys):
    cfg_path = osp.join(mapillary, 'config.json')
    with open(cfg_path) as f:
        cfg = json.load(f)
    cfg['labels'][13]['name'] = 'construction--flat--road-v2'  # e.g. a v2.0 config
    with open(cfg_path, 'w') as f:
        json.dump(cfg, f)
    assert mapillary_tool.main([mapillary]) == 2
    err = capsys.readouterr().err
    assert cfg_path in err and 'construction--flat--road' in err and 'v1.2' in err


def test_mapillary_v20_bundle_layout(tmp_path):
    root = make_mapillary(tmp_path / 'm', orphans=False, mismatch=False)
    os.rename(osp.join(root, 'config.json'), osp.join(root, 'config_v1.2.json'))
    os.makedirs(osp.join(root, 'validation', 'v1.2'))
    os.rename(osp.join(root, 'validation', 'labels'),
              osp.join(root, 'validation', 'v1.2', 'labels'))
    assert mapillary_tool.main([root]) == 0
    assert len(os.listdir(osp.join(root, 'validation', 'labels_trainIds'))) == 3


def test_mapillary_mismatch_resized_nearest(mapillary, capsys):
    assert mapillary_tool.main([mapillary]) == 0
    src, _, src_size = _read(osp.join(mapillary, 'validation', 'labels', 'mpl0001.png'))
    out, _, size = _read(osp.join(mapillary, 'validation', 'labels_trainIds', 'mpl0001.png'))
    assert src_size == (48, 36) and size == (40, 30)
    table = {MAPILLARY_V12_NAMES.index(k): v for k, v in MAPILLARY_EXPECTED.items()}
    ref = Image.fromarray(_map(src, table)).resize((40, 30), Image.NEAREST)
    np.testing.assert_array_equal(out, np.array(ref))
    assert 'validation/mpl0001: image 40x30, label 48x36' in capsys.readouterr().out


def test_mapillary_short_side(mapillary):
    assert mapillary_tool.main([mapillary, '--short-side', '15']) == 0
    val = osp.join(mapillary, 'validation')
    for stem in ('mpl0000', 'mpl0001', 'mpl0002'):
        _, mode, size = _read(osp.join(val, 'images_s15', stem + '.jpg'))
        assert size == (20, 15) and mode == 'RGB'
        out, _, lsize = _read(osp.join(val, 'labels_trainIds_s15', stem + '.png'))
        assert lsize == (20, 15)
    src, _, _ = _read(osp.join(val, 'labels', 'mpl0000.png'))
    full = Image.fromarray(_map(src, {MAPILLARY_V12_NAMES.index(k): v
                                      for k, v in MAPILLARY_EXPECTED.items()}))
    out, _, _ = _read(osp.join(val, 'labels_trainIds_s15', 'mpl0000.png'))
    np.testing.assert_array_equal(out, np.array(full.resize((20, 15), Image.NEAREST)))
    # the originals stay where they were, untouched; a second run keeps everything
    assert _read(osp.join(val, 'images', 'mpl0000.jpg'))[2] == (40, 30)
    from csg_mm.datasets.converters import mapillary as conv
    summary = conv.convert(mapillary, short_side=15)
    assert set(summary['by_status']) == {'up-to-date'}
    assert summary['outputs']['validation'] == dict(img_path='validation/images_s15',
                                                    seg_map_path='validation/labels_trainIds_s15')


def test_mapillary_idempotent_sources_untouched(mapillary):
    from csg_mm.datasets.converters import mapillary as conv
    before = _digest(mapillary)
    conv.convert(mapillary)
    summary = conv.convert(mapillary)
    assert set(summary['by_status']) == {'up-to-date'}
    after = _digest(mapillary)
    assert {k: v for k, v in after.items() if k in before} == before


def test_mapillary_refuses_converted_label(mapillary, capsys):
    # a converted label (train ids, 255 = ignore) put back in labels/: train id 13 (car) would
    # become 'construction--flat--road' -> 0
    lab = np.full((30, 40), 255, np.uint8)
    lab[:5] = 13
    path = osp.join(mapillary, 'validation', 'labels', 'mpl0002.png')
    Image.fromarray(lab).save(path)
    assert mapillary_tool.main([mapillary]) == 1
    report = capsys.readouterr().out
    assert 'already converted validation/mpl0002' in report
    assert 'looks converted already' in report
    assert not osp.exists(osp.join(mapillary, 'validation', 'labels_trainIds', 'mpl0002.png'))


@pytest.mark.parametrize('missing', ['root', 'config.json', 'validation/images',
                                     'validation/labels'])
def test_mapillary_missing_input(tmp_path, capsys, missing):
    root = make_mapillary(tmp_path / 'm')
    target = str(tmp_path / 'nope') if missing == 'root' else osp.join(root, missing)
    if missing != 'root':
        os.rename(target, target + '_moved')
    assert mapillary_tool.main([target if missing == 'root' else root]) == 2
    err = capsys.readouterr().err
    assert 'not found' in err
    assert (target if missing != 'config.json' else 'config.json') in err


def test_mapillary_wrong_suffix(tmp_path, capsys):
    root = make_mapillary(tmp_path / 'm')
    lab_dir = osp.join(root, 'validation', 'labels')
    for n in os.listdir(lab_dir):
        os.rename(osp.join(lab_dir, n), osp.join(lab_dir, n[:-4] + '.tif'))
    assert mapillary_tool.main([root]) == 2
    assert f'0 labels with suffix .png in {lab_dir}' in capsys.readouterr().err


@pytest.mark.parametrize('option,message', [
    (['--convention', 'rein'], "--convention must be one of ['openseg', 'robustnet'], got rein"),
    (['--short-side', '0'], '--short-side must be a positive number of pixels, got 0'),
    (['--nproc', '0'], '--nproc must be at least 1, got 0'),
    (['--config', 'missing.json'], 'Mapillary label definitions not found: missing.json'),
])
def test_mapillary_bad_option(mapillary, capsys, option, message):
    assert mapillary_tool.main([mapillary, *option]) == 2
    assert message in capsys.readouterr().err


def test_converters_parallel(tmp_path):
    root = make_mapillary(tmp_path / 'm')
    res = subprocess.run([sys.executable, osp.join(TOOLS, 'mapillary.py'), root, '--nproc', '2'],
                         capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    assert 'converted: 3' in res.stdout and 'resized: 1' in res.stdout
    assert len(os.listdir(osp.join(root, 'validation', 'labels_trainIds'))) == 4


# --------------------------------------------------------------------------- GTA5
def test_gta5_refuses_converted_label(tmp_path, capsys):
    # issue 13 item 3: a single-channel label with train ids 0..18 and 255 in labels/: train id 7
    # (traffic sign) must not become 0 (Cityscapes label id 7 = road)
    root = make_gta5(tmp_path / 'gta5')
    lab = np.full((48, 64), 255, np.uint8)
    lab[:8] = 7
    lab[8:16] = np.arange(19).repeat(4)[:64]
    Image.fromarray(lab).save(osp.join(root, 'labels', '00003.png'))
    assert gta5_tool.main([root]) == 1
    report = capsys.readouterr().out
    assert 'already converted 00003' in report and 'not GTA5 label ids' in report
    assert not osp.exists(osp.join(root, 'labels', '00003_labelTrainIds.png'))
    with open(osp.join(root, 'all.txt')) as f:
        assert f.read().split() == ['00001', '00002', '00004']


def test_gta5_refuses_converted_label_without_ignore(tmp_path, capsys):
    # mode L (not a GTA5 palette PNG) with train ids only: refused too
    root = make_gta5(tmp_path / 'gta5', orphans=False)
    Image.fromarray(np.full((48, 64), 7, np.uint8)).save(osp.join(root, 'labels', '00001.png'))
    assert gta5_tool.main([root]) == 1
    assert 'already converted 00001' in capsys.readouterr().out


# ------------------------------------------------ nothing already written is overwritten
def test_gta5_refuses_split_list_replaced_in_place(tmp_path, capsys):
    # fresh-user review: --split-dir DATA_ROOT replaced the user's train.txt (1 2 5 6 7) by the
    # filtered list (00001 00002); refused before any conversion, the list untouched
    root = make_gta5(tmp_path / 'gta5')
    train = osp.join(root, 'train.txt')
    with open(train, 'w') as f:
        f.write('1\n2\n5\n6\n7\n')
    assert gta5_tool.main([root, '--split-dir', root]) == 2
    err = capsys.readouterr().err
    assert train in err and 'not overwritten' in err and '--out-dir' in err
    with open(train) as f:
        assert f.read() == '1\n2\n5\n6\n7\n'
    assert not [n for n in os.listdir(osp.join(root, 'labels')) if 'TrainIds' in n]
    assert not osp.exists(osp.join(root, 'all.txt'))


def test_gta5_refuses_user_list_with_other_content(tmp_path, capsys):
    root = make_gta5(tmp_path / 'gta5')
    all_txt = osp.join(root, 'all.txt')
    with open(all_txt, 'w') as f:
        f.write('00001\n')  # the user's own all.txt
    assert gta5_tool.main([root]) == 2
    err = capsys.readouterr().err
    assert all_txt in err and 'not written by this converter' in err and 'remove' in err
    with open(all_txt) as f:
        assert f.read() == '00001\n'
    assert not osp.exists(osp.join(root, 'gta5_lists.json'))


def test_gta5_leaves_identical_list(tmp_path):
    root = make_gta5(tmp_path / 'gta5')
    all_txt = osp.join(root, 'all.txt')
    with open(all_txt, 'w') as f:
        f.write('00001\n00002\n00003\n00004\n')  # what the converter writes
    os.utime(all_txt, (1, 1))
    assert gta5_tool.main([root]) == 0
    assert os.stat(all_txt).st_mtime == 1


def test_gta5_updates_own_list_not_edited_one(tmp_path, capsys):
    root = make_gta5(tmp_path / 'gta5')
    assert gta5_tool.main([root]) == 0  # all.txt: 00001..00004, hash recorded
    assert gta5_tool.main([root, '--on-mismatch', 'skip']) == 0  # ours: updated, reported
    assert 'lists updated (written by an earlier run, content changed): all.txt' in \
        capsys.readouterr().out
    all_txt = osp.join(root, 'all.txt')
    with open(all_txt) as f:
        assert f.read() == '00001\n00003\n00004\n'
    with open(all_txt, 'a') as f:
        f.write('00002\n')  # edited by the user since: no longer ours
    assert gta5_tool.main([root, '--on-mismatch', 'skip']) == 2
    assert all_txt in capsys.readouterr().err
    with open(all_txt) as f:
        assert f.read() == '00001\n00003\n00004\n00002\n'


def _swap_road_sky(config, dst):
    with open(config) as f:
        cfg = json.load(f)
    names = [label['name'] for label in cfg['labels']]
    road, sky = names.index('construction--flat--road'), names.index('nature--sky')
    cfg['labels'][road], cfg['labels'][sky] = cfg['labels'][sky], cfg['labels'][road]
    with open(dst, 'w') as f:
        json.dump(cfg, f)
    return road, sky


def test_mapillary_refuses_other_mapping_than_record(mapillary, capsys):
    # fresh-user review: a swapped config.json kept every label (timestamps) but rewrote the
    # record; now refused, record and labels untouched
    assert mapillary_tool.main([mapillary]) == 0
    out_dir = osp.join(mapillary, 'validation', 'labels_trainIds')
    before = _digest(osp.join(mapillary, 'validation'))
    swapped = osp.join(mapillary, 'config_swapped.json')
    road, sky = _swap_road_sky(osp.join(mapillary, 'config.json'), swapped)
    assert mapillary_tool.main([mapillary, '--config', swapped]) == 2
    err = capsys.readouterr().err
    assert f'{out_dir}.json differs' in err
    assert (f'label id {road}: construction--flat--road -> 0 in the record, nature--sky -> 10 '
            'now') in err
    assert f'Remove {out_dir} and {out_dir}.json' in err
    assert _digest(osp.join(mapillary, 'validation')) == before


def test_mapillary_refuses_record_of_other_table(mapillary, capsys):
    # e.g. labels made by an older csg_mm whose table differed
    assert mapillary_tool.main([mapillary]) == 0
    record = osp.join(mapillary, 'validation', 'labels_trainIds.json')
    with open(record) as f:
        rec = json.load(f)
    rec['table']['nature--sky'] = 255
    rec['convention'] = 'old'
    with open(record, 'w') as f:
        json.dump(rec, f)
    assert mapillary_tool.main([mapillary]) == 2
    err = capsys.readouterr().err
    assert "convention: 'old' in the record, 'robustnet' now" in err
    assert 'nature--sky -> 255 in the record, nature--sky -> 10 now' in err
    with open(record) as f:
        assert json.load(f) == rec


def test_mapillary_refuses_labels_without_record(mapillary, capsys):
    assert mapillary_tool.main([mapillary]) == 0
    record = osp.join(mapillary, 'validation', 'labels_trainIds.json')
    os.remove(record)
    assert mapillary_tool.main([mapillary]) == 2
    err = capsys.readouterr().err
    assert f'holds labels but no record {record}' in err
    assert not osp.exists(record)


def test_mapillary_same_mapping_leaves_record(mapillary):
    assert mapillary_tool.main([mapillary]) == 0
    record = osp.join(mapillary, 'validation', 'labels_trainIds.json')
    os.utime(record, (1, 1))
    assert mapillary_tool.main([mapillary]) == 0
    assert os.stat(record).st_mtime == 1


@pytest.mark.parametrize('name,record', [('gta5', 'labels_labelTrainIds.json'),
                                         ('synthia', 'GT/LABELS_labelTrainIds.json')])
def test_beside_converters_refuse_other_table_than_record(tmp_path, capsys, name, record):
    # labels made with another table (e.g. by an older csg_mm): refused, nothing rewritten
    root = (make_gta5 if name == 'gta5' else make_synthia)(tmp_path / name)
    tool = gta5_tool if name == 'gta5' else synthia_tool
    tool.main([root])
    record = osp.join(root, record)
    with open(record) as f:
        rec = json.load(f)
    first = next(iter(rec['table']))
    rec['table'][first] = 255
    with open(record, 'w') as f:
        json.dump(rec, f)
    before = _digest(root)
    assert tool.main([root]) == 2
    err = capsys.readouterr().err
    assert f'{record} differs: label id 0: {first} -> 255 in the record' in err
    assert 'Remove the *_labelTrainIds.png files in' in err
    assert _digest(root) == before

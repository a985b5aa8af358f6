"""End to end, the domain-generalisation protocol: a tiny CSG model trains 2 iterations on
GTA5 + SYNTHIA-format data (one ConcatDataset, key view for both), validates on Cityscapes-,
BDD100K- and Mapillary-format sets, and tools/test.py tests the checkpoint on all three in one
call: per-dataset and mean mIoU in the log, the protocol record next to it; two gloo processes
(7 test samples: the sampler pads one) give the same numbers."""
import glob
import json
import os
import os.path as osp
import socket
import subprocess
import sys

import pytest

from tests.utils.dg_fake_data import make_bdd100k, make_mapillary, make_synthia
from tests.utils.fake_data import make_cityscapes, make_gta5
from tests.utils.runner_utils import REPO, TINY_CFG_DIR, run_tool

CFG = osp.join(TINY_CFG_DIR, 'tiny_csg_deeplabv2_gta5+synthia-to-cbm.py')
PREFIXES = ('cityscapes', 'bdd100k', 'mapillary')


@pytest.fixture(scope='module')
def dg_data(tmp_path_factory):
    root = tmp_path_factory.mktemp('dgdata')
    gta5 = make_gta5(root / 'gta5', num=2, size=(80, 48), mismatch=False, orphans=False)
    synthia = make_synthia(root / 'synthia', num=2, size=(80, 48), mismatch=False,
                           orphans=False)
    mapillary = make_mapillary(root / 'mapillary', num=2, size=(48, 36), mismatch=False,
                               orphans=False)
    for tool, data_root in (('gta5', gta5), ('synthia', synthia), ('mapillary', mapillary)):
        run_tool([f'tools/dataset_converters/{tool}.py', data_root, '--nproc', '1'])
    targets = [make_cityscapes(root / 'cityscapes', num=2),
               make_bdd100k(root / 'bdd100k', num=3, size=(32, 18)), mapillary]
    return gta5, synthia, targets


def _options(dg_data, ckpt):
    gta5, synthia, targets = dg_data
    opts = [f'train_dataloader.dataset.datasets.0.data_root={gta5}',
            f'train_dataloader.dataset.datasets.1.data_root={synthia}',
            f'model.backbone.init_cfg.checkpoint={ckpt}']
    for loader in ('val_dataloader', 'test_dataloader'):
        opts += [f'{loader}.dataset.datasets.{i}.{key}'
                 for i, root in enumerate(targets)
                 for key in (f'data_root={root}', 'expected_num=None')]
    return opts


@pytest.mark.slow
def test_train_on_two_sources_test_on_three_targets(dg_data, tiny_imagenet_ckpt, tmp_path):
    opts = _options(dg_data, str(tiny_imagenet_ckpt))
    work = tmp_path / 'work'
    out = run_tool(['tools/train.py', CFG, '--work-dir', str(work), '--cfg-options', *opts])
    log = out.stdout + out.stderr
    assert 'csg.loss_stage3' in log  # CSG trained on the two-source set
    for prefix in PREFIXES:  # validation during training, per dataset
        assert f'{prefix}/mIoU' in log
    ckpt = work / 'iter_2.pth'
    assert ckpt.is_file()

    res = run_tool(['tools/test.py', CFG, str(ckpt), '--work-dir', str(tmp_path / 'test'),
                    '--cfg-options', *opts])
    text = res.stdout + res.stderr
    for prefix, num in zip(PREFIXES, (2, 3, 2)):
        assert f'---------- {prefix}: {num} samples ----------' in text
        assert f'{prefix}/mIoU: ' in text
    assert text.count('per class results:') == 3 and 'mean/mIoU: ' in text

    (json_path, ) = glob.glob(str(tmp_path / 'test' / '*' / '*_protocol.json'))
    assert osp.isfile(json_path[:-len('json')] + 'md')
    record = json.loads(open(json_path).read())
    assert record['checkpoint']['file'] == str(ckpt)
    assert record['checkpoint']['iter'] == 2 and record['checkpoint']['last_of_schedule']
    assert record['seed']['train'] == 0
    entries = record['datasets']
    assert [e['prefix'] for e in entries] == list(PREFIXES)
    assert [e['num_samples'] for e in entries] == [2, 3, 2]
    assert all(e['test_resolution'] == [dict(type='Resize', scale=[64, 32], keep_ratio=True)]
               for e in entries)
    assert entries[2]['label_mapping']['convention'] == 'robustnet'
    miou = [e['metrics']['mIoU'] for e in entries]
    assert record['mean']['mIoU'] == pytest.approx(round(sum(miou) / 3, 2))
    # the numbers in the log are the recorded ones
    for prefix, value in zip(PREFIXES, miou):
        assert f'{prefix}/mIoU: {value:.4f}' in text

    # the same test with 2 gloo processes through tools/dist_test.sh
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        port = sock.getsockname()[1]
    env = dict(os.environ, PYTHON=sys.executable, PORT=str(port), MASTER_ADDR='127.0.0.1',
               PYTHONPATH=REPO, CUDA_VISIBLE_DEVICES='', OMP_NUM_THREADS='1')
    for name in ('RANK', 'WORLD_SIZE', 'LOCAL_RANK', 'MASTER_PORT'):
        env.pop(name, None)
    proc = subprocess.run(
        ['bash', 'tools/dist_test.sh', CFG, str(ckpt), '2', '--work-dir',
         str(tmp_path / 'dist'), '--cfg-options', *opts],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    (dist_json, ) = glob.glob(str(tmp_path / 'dist' / '*' / '*_protocol.json'))  # rank 0 only
    dist_record = json.loads(open(dist_json).read())
    assert dist_record['world_size'] == 2
    assert dist_record['metrics'] == record['metrics']

"""End to end through the stock runner: GTA5-like data -> convert -> CSG train -> validate ->
save -> tools/test.py -> resume; exact resume; the teacher after training."""
import os.path as osp

import pytest
import torch

from tests.utils.fake_data import make_cityscapes, make_gta5
from tests.utils.runner_utils import TINY_CFG_DIR, run_tool, seg_data_options

CSG_CFG = osp.join(TINY_CFG_DIR, 'tiny_csg_deeplabv2_gta5.py')
PLAIN_CFG = osp.join(TINY_CFG_DIR, 'tiny_deeplabv2_gta5_baseline.py')


@pytest.fixture(scope='module')
def seg_data(tmp_path_factory):
    root = tmp_path_factory.mktemp('segdata')
    gta5 = make_gta5(root / 'gta5', num=6)
    cityscapes = make_cityscapes(root / 'cityscapes', num=2)
    run_tool(['tools/dataset_converters/gta5.py', gta5, '--nproc', '1'])
    return gta5, cityscapes


# a CSG config + mmseg's usual test-time augmentation (two scales x flip)
TTA_CFG_TEXT = '''_base_ = [{base!r}]
tta_model = dict(type='SegTTAModel')
tta_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='TestTimeAug', transforms=[
        [dict(type='Resize', scale=(64, 32), keep_ratio=True),
         dict(type='Resize', scale=(32, 16), keep_ratio=True)],
        [dict(type='RandomFlip', prob=0., direction='horizontal'),
         dict(type='RandomFlip', prob=1., direction='horizontal')],
        [dict(type='LoadAnnotations')], [dict(type='PackSegInputs')]])]
'''


def _ckpt(path):
    return torch.load(path, map_location='cpu', weights_only=False)


@pytest.mark.slow
def test_train_validate_test_resume(seg_data, tiny_imagenet_ckpt, tmp_path):
    opts = seg_data_options(*seg_data, str(tiny_imagenet_ckpt))
    work = str(tmp_path / 'work')
    out = run_tool(['tools/train.py', CSG_CFG, '--work-dir', work, '--cfg-options', *opts])
    log = out.stdout + out.stderr
    for key in ('csg.loss_stage3', 'csg.acc_stage3', 'csg.loss_stage4', 'csg.acc_stage4',
                'decode.loss_ce', 'mIoU'):
        assert key in log, key
    assert osp.isfile(osp.join(work, 'iter_4.pth'))
    state = _ckpt(osp.join(work, 'iter_4.pth'))['state_dict']
    assert state['regularizer.head.queue_ptr_stage3'].item() == (4 * 2 * 4) % 64

    # the frozen teacher is unchanged: still the "ImageNet" weights
    imagenet = torch.load(tiny_imagenet_ckpt, map_location='cpu')
    for name, value in imagenet.items():
        torch.testing.assert_close(state[f'regularizer.teacher.backbone.{name}'], value)

    # tools/test.py prints per-class IoU and mIoU, with the CSG config and with the plain one
    for cfg in (CSG_CFG, PLAIN_CFG):
        res = run_tool(['tools/test.py', cfg, osp.join(work, 'iter_4.pth'), '--work-dir',
                        str(tmp_path / 'test'), '--cfg-options', *opts])
        text = res.stdout + res.stderr
        assert 'per class results' in text and 'sidewalk' in text and 'mIoU' in text

    # --tta with the CSG config: the mixin applies to the wrapped model (SegTTAModel.module)
    tta_cfg = tmp_path / 'tiny_csg_tta.py'
    tta_cfg.write_text(TTA_CFG_TEXT.format(base=CSG_CFG))
    res = run_tool(['tools/test.py', str(tta_cfg), osp.join(work, 'iter_4.pth'), '--tta',
                    '--work-dir', str(tmp_path / 'test_tta'), '--cfg-options', *opts])
    text = res.stdout + res.stderr
    assert 'per class results' in text and 'mIoU' in text

    # resume and continue
    run_tool(['tools/train.py', CSG_CFG, '--work-dir', work, '--resume',
              osp.join(work, 'iter_4.pth'), '--cfg-options', *opts, 'train_cfg.max_iters=6',
              'param_scheduler.0.end=6'])
    assert osp.isfile(osp.join(work, 'iter_6.pth'))


@pytest.mark.slow
def test_exact_resume(seg_data, tiny_imagenet_ckpt, tmp_path):
    opts = seg_data_options(*seg_data, str(tiny_imagenet_ckpt)) + ['train_cfg.val_interval=100']
    full, part = str(tmp_path / 'full'), str(tmp_path / 'part')
    run_tool(['tools/train.py', CSG_CFG, '--work-dir', full, '--cfg-options', *opts])
    run_tool(['tools/train.py', CSG_CFG, '--work-dir', part, '--cfg-options', *opts,
              'train_cfg.max_iters=2'])
    run_tool(['tools/train.py', CSG_CFG, '--work-dir', part, '--resume',
              osp.join(part, 'iter_2.pth'), '--cfg-options', *opts])
    a = _ckpt(osp.join(full, 'iter_4.pth'))
    b = _ckpt(osp.join(part, 'iter_4.pth'))
    assert a['state_dict'].keys() == b['state_dict'].keys()
    for name in a['state_dict']:
        torch.testing.assert_close(a['state_dict'][name], b['state_dict'][name], msg=name)
    assert any('queue_stage' in n for n in a['state_dict'])
    assert any('key_projs' in n for n in a['state_dict'])

    # one momentum update per iteration (the EMA itself: tests/test_engine)
    assert a['state_dict']['regularizer.neck.key_projs.0.steps'].item() == 4


"""The two-view data path for segmentation: key view, packing, preprocessing."""
import copy

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.dataset import Compose, pseudo_collate
from mmengine.registry import init_default_scope
from mmseg.registry import MODELS

import csg_mm  # noqa: F401
from csg_mm.datasets.transforms import PackCSGSegInputs
from tests.utils.io_counters import count_reads_and_decodes

MIXIN = Config.fromfile('configs/_base_/csg/csg_seg.py')


def _results(seed=0, h=40, w=48):
    rng = np.random.default_rng(seed)
    img = rng.integers(0, 256, size=(h, w, 3), dtype=np.uint8)
    seg = rng.integers(0, 19, size=(h, w), dtype=np.uint8)
    return dict(img=img, gt_seg_map=seg, img_shape=(h, w), ori_shape=(h, w), img_path='x.png',
                seg_map_path='x_labelTrainIds.png', reduce_zero_label=False,
                seg_fields=['gt_seg_map'])


def _pipeline(crop=(32, 32)):
    init_default_scope('mmseg')
    return Compose([
        dict(type='RandomResize', scale=(48, 40), ratio_range=(0.75, 1.25), keep_ratio=True),
        dict(type='RandomCrop', crop_size=crop),  # maps smaller than the crop stay smaller
        dict(type='RandomFlip', prob=0.5),
        copy.deepcopy(MIXIN.csg.key_view),
        dict(type='PackCSGSegInputs'),
    ])


def test_key_view_is_colour_jitter_of_the_same_crop():
    pipeline = _pipeline()
    torch.manual_seed(0)
    np.random.seed(0)
    packed = pipeline(_results())
    anchor, key = packed['inputs']
    assert anchor.shape == key.shape == (3, 32, 32)
    assert not torch.equal(anchor, key)
    # colour jitter changes colours, not geometry: the views stay correlated pixel by pixel
    a, k = anchor.float().mean(0).flatten(), key.float().mean(0).flatten()
    corr = torch.corrcoef(torch.stack([a, k]))[0, 1]
    assert corr > 0.5
    assert packed['data_samples'].gt_sem_seg.data.shape == (1, 32, 32)


def test_pack_without_key_view_is_stock():
    packed = PackCSGSegInputs()(_results())
    assert isinstance(packed['inputs'], torch.Tensor)
    bad = _results()
    bad['img_k'] = bad['img'][:10]
    with pytest.raises(ValueError, match='key view shape'):
        PackCSGSegInputs()(bad)


def test_preprocessor_normalises_and_pads_both_views_identically():
    init_default_scope('mmseg')
    pre = MODELS.build(
        dict(type='CSGSegDataPreProcessor', mean=[10.0, 20.0, 30.0], std=[2.0, 2.0, 2.0],
             bgr_to_rgb=True, size=(64, 64), pad_val=0, seg_pad_val=255))
    pipeline = _pipeline(crop=(64, 64))
    # different image sizes per sample, so that a wrong anchor/key/gt pairing shows
    batch = pseudo_collate([pipeline(_results(i, h=40 + 8 * i)) for i in range(2)])
    assert len(batch['inputs']) == 2 and len(batch['inputs'][0]) == 2  # [anchors, keys]
    out = pre(copy.deepcopy(batch), training=True)
    anchor, key = out['inputs']
    assert anchor.shape == key.shape == (2, 3, 64, 64)
    stock = MODELS.build(
        dict(type='SegDataPreProcessor', mean=[10.0, 20.0, 30.0], std=[2.0, 2.0, 2.0],
             bgr_to_rgb=True, size=(64, 64), pad_val=0, seg_pad_val=255))
    ref_a = stock(dict(inputs=list(batch['inputs'][0]),
                       data_samples=copy.deepcopy(batch['data_samples'])), training=True)
    ref_k = stock(dict(inputs=list(batch['inputs'][1]),
                       data_samples=copy.deepcopy(batch['data_samples'])), training=True)
    torch.testing.assert_close(anchor, ref_a['inputs'])
    torch.testing.assert_close(key, ref_k['inputs'])
    assert out['data_samples'][0].gt_sem_seg.data.shape == (1, 64, 64)
    torch.testing.assert_close(out['data_samples'][1].gt_sem_seg.data,
                               ref_a['data_samples'][1].gt_sem_seg.data)
    # validation data: stock behaviour
    first = batch['inputs'][0][0]
    val = pre(dict(inputs=[first, first.clone()], data_samples=batch['data_samples']),
              training=False)
    assert isinstance(val['inputs'], torch.Tensor)


def test_key_view_comes_from_the_one_decoded_image(tmp_path, monkeypatch):
    """The paper config's train pipeline reads and decodes the image once; the key view is made
    from that decoded image (no second read or decode)."""
    from PIL import Image

    from csg_mm.engine import apply_csg_mixin
    cfg = apply_csg_mixin(Config.fromfile('configs/csg/deeplabv2_r50_gta5.py'))
    rng = np.random.default_rng(0)
    img, seg = tmp_path / '00001.png', tmp_path / '00001_labelTrainIds.png'
    Image.fromarray(rng.integers(0, 256, (72, 128, 3), dtype=np.uint8)).save(img)
    Image.fromarray(rng.integers(0, 19, (72, 128), dtype=np.uint8)).save(seg)
    init_default_scope('mmseg')
    pipeline = Compose(copy.deepcopy(cfg.train_dataloader.dataset.pipeline))
    reads, decodes = count_reads_and_decodes(monkeypatch)
    packed = pipeline(dict(img_path=str(img), seg_map_path=str(seg), reduce_zero_label=False,
                           seg_fields=[]))
    assert len(packed['inputs']) == 2  # anchor and key view
    assert sorted(reads) == sorted([str(img), str(seg)])
    assert len(decodes) == 2  # the image and its label map, once each

"""CSG DeepLabV2 training on the GPU: steps through mmengine's AmpOptimWrapper (float16 and
bfloat16) with finite losses, and a checkpoint written on CUDA that resumes on the CPU and back.

On CUDA the model is the paper's (``configs/csg/deeplabv2_r101_gta5.py``: DeepLabV2-R101, 8 x 8
patches, K = 65,536) at its 512 x 512 crop, batch 2; on the CPU (dry run) the tiny test config.
"""
import copy
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmengine.structures import PixelData

from tests.utils.fake_data import make_cityscapes, make_gta5
from tests.utils.runner_utils import REPO, TINY_CFG_DIR, run_tool, seg_data_options

pytestmark = pytest.mark.gpu
PAPER_CFG = osp.join(REPO, 'configs', 'csg', 'deeplabv2_r101_gta5.py')
TINY_CFG = osp.join(TINY_CFG_DIR, 'tiny_csg_deeplabv2_gta5.py')


def _batch(num, size, num_classes, device):
    """A training batch as the CSG pipeline packs it: per sample [anchor, key] uint8 views
    (after pseudo_collate: [anchors, keys]) and segmentation labels."""
    from mmseg.structures import SegDataSample
    samples = []
    for _ in range(num):
        s = SegDataSample()
        s.gt_sem_seg = PixelData(data=torch.randint(0, num_classes, (1, *size), device=device))
        s.set_metainfo(dict(img_shape=size, ori_shape=size))
        samples.append(s)
    views = [[torch.randint(0, 256, (3, *size), dtype=torch.uint8, device=device)
              for _ in range(num)] for _ in range(2)]
    return dict(inputs=views, data_samples=samples)


@pytest.mark.parametrize('dtype', ['float16', 'bfloat16'])
def test_amp_optim_wrapper_steps_are_finite(device, dtype, monkeypatch):
    """Six stock ``train_step`` calls (data preprocessor, forward in the wrapper's autocast,
    dynamic loss scaling, SGD step). Weights: PyTorch's default initialisation, as the fake
    ImageNet weights of the other tests (mmseg's ResNet init zeroes the residual branches' last
    BN, which the frozen BN then never trains)."""
    from mmengine.optim import build_optim_wrapper
    from mmengine.optim.optimizer import amp_optimizer_wrapper
    from mmseg.registry import MODELS

    from csg_mm.engine import apply_csg_mixin
    if device.type == 'cpu':
        if dtype == 'float16':
            pytest.skip('float16 AMP needs CUDA (mmengine autocasts the CPU in bfloat16 only)')
        monkeypatch.setattr(amp_optimizer_wrapper, 'is_cuda_available', lambda: True)
    cfg = apply_csg_mixin(Config.fromfile(PAPER_CFG if device.type == 'cuda' else TINY_CFG))
    init_default_scope('mmseg')
    torch.manual_seed(0)
    model_cfg = copy.deepcopy(cfg.model)
    model_cfg.backbone.init_cfg = None
    model = MODELS.build(model_cfg).to(device)
    model.train()
    optim_cfg = copy.deepcopy(cfg.optim_wrapper)
    optim_cfg.update(type='AmpOptimWrapper', dtype=dtype, loss_scale='dynamic')
    wrapper = build_optim_wrapper(model, optim_cfg)
    teacher = {k: v.clone() for k, v in model.regularizer.teacher.state_dict().items()}
    head_weight = next(p for p in model.decode_head.parameters() if p.requires_grad)
    before = head_weight.detach().clone()
    size = tuple(cfg.model.data_preprocessor.size)
    num_classes = cfg.model.decode_head.num_classes
    for _ in range(6):  # a float16 step may be skipped while the dynamic loss scale settles
        log = model.train_step(_batch(2, size, num_classes, device), wrapper)
        for name in ('loss', 'decode.loss_ce', 'csg.loss_stage3', 'csg.loss_stage4'):
            assert torch.isfinite(torch.as_tensor(log[name])), (name, log)
    assert not torch.equal(before, head_weight.detach()), 'no step was applied'
    if dtype == 'float16' and device.type == 'cuda':
        assert torch.isfinite(torch.as_tensor(wrapper.loss_scaler.get_scale()))
    for k, v in model.regularizer.teacher.state_dict().items():
        assert torch.equal(v, teacher[k]), f'the frozen teacher changed: {k}'


def _optimizer_devices(ckpt):
    return {t.device.type for state in ckpt['optimizer']['state'].values()
            for t in state.values() if isinstance(t, torch.Tensor)}


def test_cuda_checkpoint_resumes_on_cpu_and_back(device, tmp_path, tiny_imagenet_ckpt):
    """tools/train.py on the tiny CSG config: 2 iterations on the GPU, resumed on the CPU for a
    third (``CUDA_VISIBLE_DEVICES=``), resumed on the GPU for a fourth. The queue pointer counts
    all 4 iterations: 4 x batch 2 x 2 x 2 patches = 32 keys (K = 64)."""
    gta5 = make_gta5(tmp_path / 'gta5', num=4)
    city = make_cityscapes(tmp_path / 'cityscapes', num=1)
    run_tool(['tools/dataset_converters/gta5.py', gta5, '--nproc', '1'])
    work = str(tmp_path / 'work')
    # deterministic=False: torch's deterministic mode needs CUBLAS_WORKSPACE_CONFIG on CUDA and
    # refuses CUDA kernels without a deterministic version; this test is about devices
    opts = seg_data_options(gta5, city, str(tiny_imagenet_ckpt)) + [
        'train_cfg.val_interval=100', 'randomness.deterministic=False']
    cpu = dict(CUDA_VISIBLE_DEVICES='')
    run_tool(['tools/train.py', TINY_CFG, '--work-dir', work, '--cfg-options', *opts,
              'train_cfg.max_iters=2'])
    run_tool(['tools/train.py', TINY_CFG, '--work-dir', work, '--resume',
              osp.join(work, 'iter_2.pth'), '--cfg-options', *opts, 'train_cfg.max_iters=3'],
             env=cpu)
    run_tool(['tools/train.py', TINY_CFG, '--work-dir', work, '--resume',
              osp.join(work, 'iter_3.pth'), '--cfg-options', *opts])

    def load(it):
        return torch.load(osp.join(work, f'iter_{it}.pth'), weights_only=False)
    first, middle, last = load(2), load(3), load(4)
    assert _optimizer_devices(first) == {device.type}  # mmengine saves optimizer state as is
    assert _optimizer_devices(middle) == {'cpu'}
    assert _optimizer_devices(last) == {device.type}
    assert last['meta']['iter'] == 4
    state = last['state_dict']
    assert state['regularizer.head.queue_ptr_stage3'].item() == (4 * 2 * 4) % 64
    assert state['regularizer.neck.key_projs.0.steps'].item() == 4
    assert all(torch.isfinite(v).all() for v in state.values() if v.is_floating_point())

"""Issue 13, item 6: a CPU-only multi-process launch (gloo) of a config with SyncBN trains, with
SyncBN turned into BN and a log line naming the norm_cfg keys (torch's SyncBatchNorm only runs on
GPUs: DDP refused the module with "SyncBatchNorm layers only work with GPU modules")."""
import os.path as osp

from mmengine.config import Config
from mmengine.logging import MMLogger

from csg_mm.utils.dist import revert_sync_bn_cfg
from tests.utils.dist_launch import run_dist_train
from tests.utils.runner_utils import REPO

HERE = osp.dirname(osp.abspath(__file__))
TOY_CONFIG = osp.join(REPO, 'tests', 'data', 'configs', 'toy_runner.py')


def test_stock_mmseg_config_sync_bn_becomes_bn(tmp_path):
    path = tmp_path / 'stock.py'
    path.write_text("_base_ = ['mmseg::pspnet/pspnet_r50-d8_4xb2-40k_cityscapes-512x1024.py']\n")
    cfg = Config.fromfile(str(path))
    assert cfg.model.backbone.norm_cfg.type == 'SyncBN'
    cfg.sync_bn = 'torch'
    MMLogger.get_instance('csg_mm_trap_sync_bn')  # print_log(logger='current') needs one
    changed = revert_sync_bn_cfg(cfg)
    assert changed == ['model.backbone.norm_cfg', 'model.decode_head.norm_cfg',
                       'model.auxiliary_head.norm_cfg', 'sync_bn']
    for key in ('backbone', 'decode_head', 'auxiliary_head'):
        assert cfg.model[key].norm_cfg == dict(type='BN', requires_grad=True)
    assert 'sync_bn' not in cfg
    assert revert_sync_bn_cfg(cfg) == []  # nothing left to change


def test_two_cpu_processes_train_a_sync_bn_model(tmp_path):
    cfg = tmp_path / 'sync_bn_toy.py'
    cfg.write_text(
        f"_base_ = ['{TOY_CONFIG}']\n"
        "custom_imports = dict(imports=['csg_mm_test_toys', 'csg_mm_trap_toys'],\n"
        "                      allow_failed_imports=False)\n"
        "model = dict(_delete_=True, type='CSGToyNormModel',\n"
        "             norm_cfg=dict(type='SyncBN', requires_grad=True))\n"
        "train_cfg = dict(max_iters=2, val_interval=100)\n")
    work = tmp_path / 'work'
    proc = run_dist_train(cfg, 2, ['--work-dir', work],
                          pythonpath=[osp.join(REPO, 'tests', 'data'), HERE], timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert (work / 'iter_2.pth').is_file()
    out = proc.stdout + proc.stderr  # logged before the runner (and its log file) exists
    assert 'SyncBN needs GPUs' in out and 'model.norm_cfg' in out

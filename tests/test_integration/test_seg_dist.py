"""Two processes (gloo, CPU): after a step every rank's queue holds the keys of both ranks and
all ranks' queues are identical."""
import os
import os.path as osp
import socket
import subprocess
import sys

import pytest
import torch

from tests.utils.fake_data import make_cityscapes, make_gta5
from tests.utils.runner_utils import REPO, TINY_CFG_DIR, run_tool, seg_data_options


def _free_port():
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


@pytest.mark.slow
def test_two_ranks_share_one_queue(tmp_path, tiny_imagenet_ckpt):
    gta5 = make_gta5(tmp_path / 'gta5', num=4, mismatch=False, orphans=False)
    cityscapes = make_cityscapes(tmp_path / 'cityscapes', num=1)
    run_tool(['tools/dataset_converters/gta5.py', gta5, '--nproc', '1'])
    work = tmp_path / 'work'
    cfg = tmp_path / 'dist_cfg.py'
    cfg.write_text(
        f"_base_ = ['{osp.join(TINY_CFG_DIR, 'tiny_csg_deeplabv2_gta5.py')}']\n"
        "custom_imports = dict(imports=['csg_mm', 'csg_mm_test_hooks'],\n"
        "                      allow_failed_imports=False)\n"
        "custom_hooks = [dict(type='CSGMomentumHook'), dict(type='DumpCSGQueuesHook')]\n")
    env = dict(os.environ, PYTHON=sys.executable, PORT=str(_free_port()), MASTER_ADDR='127.0.0.1',
               PYTHONPATH=os.pathsep.join([REPO, osp.join(REPO, 'tests', 'data')]),
               CUDA_VISIBLE_DEVICES='', OMP_NUM_THREADS='1')
    for name in ('RANK', 'WORLD_SIZE', 'LOCAL_RANK', 'MASTER_PORT'):
        env.pop(name, None)
    cmd = [
        'bash', 'tools/dist_train.sh',
        str(cfg), '2', '--work-dir', str(work),
        '--cfg-options', *seg_data_options(gta5, cityscapes, str(tiny_imagenet_ckpt)),
        'train_cfg.max_iters=1', 'train_cfg.val_interval=100', 'train_dataloader.batch_size=1',
        'param_scheduler.0.end=1',
    ]
    proc = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    q0 = torch.load(work / 'queues_rank0.pth')
    q1 = torch.load(work / 'queues_rank1.pth')
    per_rank = 1 * 2 * 2  # batch 1 x 2 x 2 patches
    for stage in (3, 4):
        ptr0, ptr1 = q0[f'queue_ptr_stage{stage}'], q1[f'queue_ptr_stage{stage}']
        assert ptr0.item() == ptr1.item() == 2 * per_rank  # the keys of both ranks
        queue0, queue1 = q0[f'queue_stage{stage}'], q1[f'queue_stage{stage}']
        torch.testing.assert_close(queue0, queue1, rtol=0, atol=0)  # identical on all ranks
        keys = queue0[:2 * per_rank]
        torch.testing.assert_close(keys.norm(dim=1), torch.ones(2 * per_rank))
        # rank 0's block and rank 1's block come from different images
        assert not torch.allclose(keys[:per_rank], keys[per_rank:])

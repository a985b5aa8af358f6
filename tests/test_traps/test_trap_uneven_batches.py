"""Issue 13, item 2: ranks with different batch sizes (a smaller last batch, e.g.
``train_dataloader.sampler.round_up=False``) enqueue every rank's keys, in rank order, and keep
the queues identical on all ranks (2 gloo processes; gloo used to abort the all_gather)."""
import os.path as osp

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from tests.utils.dist_launch import free_port, run_dist_train
from tests.utils.runner_utils import REPO, TINY_CFG_DIR, seg_data_options

EYE = torch.eye(4)


def _worker(rank, port, out_dir):
    torch.set_num_threads(1)
    dist.init_process_group('gloo', init_method=f'tcp://127.0.0.1:{port}', rank=rank,
                            world_size=2)
    try:
        from csg_mm.models.csg import CSGContrastiveHead
        from csg_mm.utils.dist import all_gather_uneven

        # batch 2 on rank 0, batch 1 on rank 1; keys are scaled (enqueue normalises them)
        keys = EYE[:2] * 2 if rank == 0 else EYE[2:3] * 3
        head = CSGContrastiveHead(stages=(3, ), feat_dim=4, queue_len=5)
        head.queue(3).zero_()
        head.queue_ptr(3).fill_(3)  # 3 keys from the pointer wrap around the end (K = 5)
        head.enqueue([keys])
        # a rank without keys at all
        parts = all_gather_uneven(EYE[:2] if rank == 0 else EYE[:0])
        torch.save(dict(queue=head.queue(3).clone(), ptr=head.queue_ptr(3).item(),
                        shapes=[tuple(p.shape) for p in parts]),
                   osp.join(out_dir, f'rank{rank}.pth'))
    finally:
        dist.destroy_process_group()


def test_enqueue_gathers_batches_of_2_and_1(tmp_path):
    mp.spawn(_worker, args=(free_port(), str(tmp_path)), nprocs=2)
    expected = torch.zeros(5, 4)
    expected[[3, 4, 0]] = EYE[:3]  # rank 0's two keys, then rank 1's one, from the pointer
    for rank in (0, 1):
        got = torch.load(tmp_path / f'rank{rank}.pth')
        torch.testing.assert_close(got['queue'], expected, rtol=0, atol=0)
        assert got['ptr'] == 1
        assert got['shapes'] == [(2, 4), (0, 4)]


@pytest.mark.slow
def test_round_up_false_trains_on_two_ranks(tmp_path, trap_seg_data, tiny_imagenet_ckpt):
    """7 frames on 2 ranks, batch 2, round_up=False, one epoch: rank 0 trains on batches of 2
    and 2 images, rank 1 on 2 and 1."""
    gta5, cityscapes = trap_seg_data
    work = tmp_path / 'work'
    cfg = tmp_path / 'uneven_cfg.py'
    cfg.write_text(
        f"_base_ = ['{osp.join(TINY_CFG_DIR, 'tiny_csg_deeplabv2_gta5.py')}']\n"
        "custom_imports = dict(imports=['csg_mm', 'csg_mm_test_hooks'],\n"
        "                      allow_failed_imports=False)\n"
        "custom_hooks = [dict(type='CSGMomentumHook'), dict(type='DumpCSGQueuesHook')]\n"
        "train_dataloader = dict(batch_size=2, sampler=dict(\n"
        "    _delete_=True, type='DefaultSampler', shuffle=False, round_up=False))\n"
        "# one epoch of mmengine's loop: 2 iterations per rank with the DefaultSampler\n"
        "train_cfg = dict(_delete_=True, type='EpochBasedTrainLoop', max_epochs=1,\n"
        "                 val_interval=100)\n")
    proc = run_dist_train(cfg, 2, [
        '--work-dir', work, '--cfg-options',
        *seg_data_options(gta5, cityscapes, str(tiny_imagenet_ckpt)), 'param_scheduler.0.end=2'
    ], pythonpath=[osp.join(REPO, 'tests', 'data')])
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    q0 = torch.load(work / 'queues_rank0.pth')
    q1 = torch.load(work / 'queues_rank1.pth')
    patches = 2 * 2  # grid 2 x 2 per image
    # iteration 1: 2 + 2 images; iteration 2: 2 (rank 0) + 1 (rank 1) images
    for stage in (3, 4):
        assert q0[f'queue_ptr_stage{stage}'].item() == (4 + 3) * patches
        assert q1[f'queue_ptr_stage{stage}'].item() == (4 + 3) * patches
        torch.testing.assert_close(q0[f'queue_stage{stage}'], q1[f'queue_stage{stage}'],
                                   rtol=0, atol=0)

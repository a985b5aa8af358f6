"""Benchmark of resume cost: time from process start to the first trained iteration after
resuming at iteration N, mmengine's ``IterBasedTrainLoop`` (replays N batches) against
:class:`~csg_mm.engine.runner.ResumableIterBasedTrainLoop` (starts the sampler at N).

The run uses a CSG GTA5 config (the shipped data pipeline: decode a 1914 x 1052 PNG frame and its
label, random scale, 512 x 512 crop, flip, colour-jittered key view) with a tiny model (ResNet-18
at 1/8 width), so that the measured cost is the data skipping, not the network. The frames are
generated: a smooth colour field plus Gaussian noise (sigma 12 grey levels), which PNG compresses
to about the size of real GTA5 frames (2-4 MB). The checkpoint of a 1-iteration run is relabelled
as iteration N (``meta.iter`` and the schedulers' ``last_step``); the resume cost depends on N
only. Each measurement is a fresh ``python`` process (imports, model build, checkpoint load,
dataloader workers, first step).

Used by ``tools/analysis_tools/benchmark_resume.py``; results in ``docs/benchmark.md``.
"""
import json
import os
import os.path as osp
import subprocess
import sys
import time
from typing import Dict, List, Sequence, Tuple

import numpy as np
from mmengine.hooks import Hook

LOOPS = {'stock': 'IterBasedTrainLoop', 'resumable': 'ResumableIterBasedTrainLoop'}
FRAME_SIZE = (1914, 1052)  # GTA5 frames, width x height (DESIGN.md 1.4)


def make_frames(root: str, num: int = 4, size: Tuple[int, int] = FRAME_SIZE,
                seed: int = 0) -> str:
    """Write ``num`` GTA5-like frames in the converted layout (``images/00001.png``,
    ``labels/00001_labelTrainIds.png`` with train ids 0..18) and ``all.txt``; return ``root``.
    Existing files are kept (the frames are deterministic for a given ``seed``)."""
    from PIL import Image

    rng = np.random.default_rng(seed)
    w, h = size
    os.makedirs(osp.join(root, 'images'), exist_ok=True)
    os.makedirs(osp.join(root, 'labels'), exist_ok=True)
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    ids = []
    for i in range(1, num + 1):
        fid = f'{i:05d}'
        ids.append(fid)
        img_path = osp.join(root, 'images', f'{fid}.png')
        if not osp.exists(img_path):
            phase = rng.uniform(0, 2 * np.pi, size=3)
            field = np.stack([np.sin(xs / (97 + 13 * c) + ys / (71 + 7 * c) + phase[c])
                              for c in range(3)], axis=-1) * 100 + 128
            noisy = field + rng.normal(0, 12, size=field.shape)
            Image.fromarray(np.clip(noisy, 0, 255).astype(np.uint8)).save(img_path)
        label_path = osp.join(root, 'labels', f'{fid}_labelTrainIds.png')
        if not osp.exists(label_path):
            label = ((xs // 101 + ys // 67 + i) % 19).astype(np.uint8)
            Image.fromarray(label).save(label_path)
    with open(osp.join(root, 'all.txt'), 'w') as f:
        f.write('\n'.join(ids) + '\n')
    return root


def _save_backbone_weights(path: str, backbone: dict) -> str:
    """Random weights of the tiny backbone (stands in for the ImageNet checkpoint)."""
    import torch
    from mmseg.registry import MODELS

    import csg_mm  # noqa: F401
    cfg = dict(backbone)
    cfg.pop('init_cfg', None)
    torch.manual_seed(0)
    torch.save(MODELS.build(cfg).state_dict(), path)
    return path


def write_config(base_config: str, work_dir: str, data_root: str, weights: str, batch_size: int,
                 num_workers: int) -> str:
    """Write the benchmark config (``base_config`` with a tiny model, the generated data, no
    validation) to ``work_dir/benchmark_resume_cfg.py``; return its path."""
    from mmengine.config import Config

    cfg = Config.fromfile(base_config)
    backbone = dict(cfg.model.backbone, depth=18, base_channels=8, stem_channels=8)
    backbone['init_cfg'] = dict(type='Pretrained', checkpoint=weights)
    cfg.model.backbone = backbone
    cfg.model.decode_head.in_channels = 64
    cfg.train_dataloader.dataset.data_root = data_root
    cfg.train_dataloader.dataset.ann_file = 'all.txt'
    cfg.train_dataloader.batch_size = batch_size
    cfg.train_dataloader.num_workers = num_workers
    cfg.train_dataloader.persistent_workers = num_workers > 0
    cfg.val_dataloader = cfg.val_cfg = cfg.val_evaluator = None
    cfg.test_dataloader = cfg.test_cfg = cfg.test_evaluator = None
    cfg.default_hooks.checkpoint = dict(type='CheckpointHook', by_epoch=False, interval=1,
                                        save_last=False)
    cfg.default_hooks.logger = dict(type='LoggerHook', interval=1, log_metric_by_epoch=False)
    cfg.randomness = dict(seed=0)
    path = osp.join(work_dir, 'benchmark_resume_cfg.py')
    cfg.dump(path)
    if not osp.exists(weights):
        _save_backbone_weights(weights, backbone)
    return path


class FirstIterationHook(Hook):
    """Writes the wall-clock time of the first trained iteration to ``out_file`` (JSON) and
    stops training. Runs before the other hooks (priority VERY_HIGH), so checkpoint saving
    and logging of that iteration are not part of the time."""
    priority = 'VERY_HIGH'

    def __init__(self, out_file: str) -> None:
        self.out_file = out_file

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None) -> None:
        with open(self.out_file, 'w') as f:
            json.dump(dict(time=time.time(), iter=runner.iter), f)
        runner.train_loop.stop_training = True


def run_child(config: str, loop: str, work_dir: str, resume_from: str, max_iters: int,
              out_file: str) -> None:
    """In a fresh process: build the runner with ``loop`` and train (resuming from
    ``resume_from`` if given) until the first iteration is done; its time goes to ``out_file``."""
    from mmengine.config import Config
    from mmengine.registry import init_default_scope
    from mmengine.runner import Runner

    import csg_mm  # noqa: F401
    from csg_mm.engine.runner import apply_csg_mixin

    cfg = apply_csg_mixin(Config.fromfile(config))
    cfg.train_cfg.type = LOOPS[loop]
    cfg.train_cfg.max_iters = max_iters
    cfg.work_dir = work_dir
    cfg.resume, cfg.load_from = resume_from is not None, resume_from
    if resume_from is not None:  # no checkpoint after the measured iteration
        cfg.default_hooks.checkpoint.interval = max_iters + 1
    init_default_scope(cfg.get('default_scope', 'mmseg'))
    runner = Runner.from_cfg(cfg)
    runner.register_hook(FirstIterationHook(out_file), priority='VERY_HIGH')
    runner.train()


def _spawn(args: Sequence, log_file: str, timeout: float) -> float:
    """Run ``run_child(*args)`` in a new process; seconds from its start to its first
    iteration (``inf`` if it did not get there within ``timeout``)."""
    out_file = args[-1]
    if osp.exists(out_file):
        os.remove(out_file)
    code = ('import sys, json; from csg_mm.utils.resume_benchmark import run_child; '
            'run_child(*json.loads(sys.argv[1]))')
    start = time.time()
    with open(log_file, 'w') as log:
        try:
            subprocess.run([sys.executable, '-c', code, json.dumps(list(args))], stdout=log,
                           stderr=subprocess.STDOUT, timeout=timeout, check=True)
        except subprocess.TimeoutExpired:
            return float('inf')
        except subprocess.CalledProcessError as exc:
            raise RuntimeError(
                f'benchmark run failed (exit {exc.returncode}); see {log_file}') from None
    with open(out_file) as f:
        return json.load(f)['time'] - start


def relabel_checkpoint(src: str, dst: str, iteration: int) -> str:
    """Copy runner checkpoint ``src`` to ``dst`` as if written at ``iteration``."""
    import torch

    from csg_mm.utils.checkpoint import safe_torch_load
    ckpt = safe_torch_load(src, map_location='cpu')
    ckpt['meta']['iter'] = iteration
    for scheduler in ckpt.get('param_schedulers', []):
        scheduler['last_step'] = iteration
    torch.save(ckpt, dst)
    return dst


def benchmark_resume(work_dir: str,
                     base_config: str,
                     iters: Sequence[int] = (0, 1000, 10000),
                     loops: Sequence[str] = ('stock', 'resumable'),
                     num_frames: int = 4,
                     batch_size: int = 2,
                     num_workers: int = 2,
                     timeout: float = 7200.0,
                     repeats: int = 1) -> List[Dict]:
    """Measure the time to the first trained iteration after resuming at each of ``iters``
    with each of ``loops``.

    Args:
        work_dir (str): Folder for the frames, checkpoints, logs (created).
        base_config (str): The CSG GTA5 config to shrink (``configs/csg/deeplabv2_r50_gta5.py``).
        iters (Sequence[int]): Iterations to resume at (>= 0).
        loops (Sequence[str]): ``'stock'`` and / or ``'resumable'``.
        num_frames (int): Generated 1914 x 1052 frames.
        batch_size (int): Samples per iteration.
        num_workers (int): Dataloader workers (persistent).
        timeout (float): Seconds allowed per measurement; longer ones are reported as ``inf``.
        repeats (int): Rounds of all measurements (interleaved: round by round, every
            iteration and loop in each round).

    Returns:
        list[dict]: One row per (loop, iteration): ``loop``, ``iter``, ``seconds`` (median over
        the rounds), ``runs`` (every round's seconds), ``batches_loaded`` (what the loop loads
        before its first step: ``iter + 1`` batches for the stock loop, 1 for ours).

    Raises:
        ValueError: An unknown loop name, a negative iteration or ``repeats < 1``.
    """
    unknown = [loop for loop in loops if loop not in LOOPS]
    if unknown or any(int(n) < 0 for n in iters) or repeats < 1:
        raise ValueError(f'loops must be in {sorted(LOOPS)}, iters >= 0 and repeats >= 1; got '
                         f'loops={loops}, iters={iters}, repeats={repeats}')
    work_dir = osp.abspath(work_dir)
    os.makedirs(work_dir, exist_ok=True)
    data = make_frames(osp.join(work_dir, 'frames'), num=num_frames)
    config = write_config(base_config, work_dir, data, osp.join(work_dir, 'tiny_backbone.pth'),
                          batch_size, num_workers)
    max_iters = max(iters) + 2
    prep = osp.join(work_dir, 'prepare')
    _spawn([config, 'resumable', prep, None, 1, osp.join(work_dir, 'prepare.json')],
           osp.join(work_dir, 'prepare.log'), timeout)
    ckpts = {n: relabel_checkpoint(osp.join(prep, 'iter_1.pth'),
                                   osp.join(work_dir, f'resume_at_{n}.pth'), int(n))
             for n in iters}
    runs = {(loop, n): [] for n in iters for loop in loops}
    for round_idx in range(repeats):
        for n in iters:
            for loop in loops:
                run_dir = osp.join(work_dir, f'{loop}_{n}_r{round_idx}')
                runs[loop, n].append(
                    _spawn([config, loop, run_dir, ckpts[n], max_iters, run_dir + '.json'],
                           run_dir + '.log', timeout))
    return [
        dict(loop=loop, iter=int(n), seconds=float(np.median(runs[loop, n])),
             runs=runs[loop, n], batches_loaded=int(n) + 1 if loop == 'stock' else 1)
        for n in iters for loop in loops
    ]


def format_table(rows: List[Dict]) -> str:
    """Markdown table of :func:`benchmark_resume` rows, with each loop's cost relative to its
    resume at the smallest iteration."""
    first = {}
    for row in rows:
        first.setdefault(row['loop'], row['seconds'])
    lines = ['| loop | resume at iteration | batches loaded before the first step | '
             'seconds to the first iteration (median) | each run | vs. its first row |',
             '|---|---:|---:|---:|---|---:|']
    for row in rows:
        ratio = row['seconds'] / first[row['loop']]
        each = ', '.join(f'{s:.1f}' for s in row.get('runs', [row['seconds']]))
        lines.append(f"| {row['loop']} ({LOOPS[row['loop']]}) | {row['iter']:,} | "
                     f"{row['batches_loaded']:,} | {row['seconds']:.1f} | {each} | "
                     f'{ratio:.2f}x |')
    return '\n'.join(lines)

"""Measure CSG's training cost against its physical floor, in one process.

    python tools/analysis_tools/benchmark.py CONFIG [--iters N] [--warmup W] [--device cpu|cuda]
        [--amp] [--batch B] [--size H W] [--test-size H W] [--threads T] [--cfg-options ...]

On synthetic inputs at the config's crop size (segmentation: ``model.data_preprocessor.size``;
classification: 224) and the config's per-GPU batch, it times (CUDA synchronised):

* the training step (forward, backward, optimizer step) of the config WITHOUT CSG (baseline,
  ``regularizer=None``: the stock model) and WITH CSG in both attention modes (``key``:
  paper-exact, ``anchor``: reused);
* the components: ``S`` = the student's training step (= the baseline step), ``T`` = the frozen
  teacher's forward on the key view, ``Q`` = the student's no-grad eval-mode forward on the key
  view;
* the floor ratios ``(S + T + Q) / S`` (paper-exact) and ``(S + T) / S`` (reused attention),
  the measured ratios ``CSG step / S`` and how far each is above its floor;
* CSG's own compute, what lies above the floor: the A-pools, the projection MLPs and the
  contrastive head (loss, backward, enqueue), each timed alone at the config's shapes;
* peak memory of each configuration while it is built and warmed up (CUDA:
  ``max_memory_allocated`` above what was allocated before; CPU: the peak RSS above the RSS
  before, see :class:`CPUMemory`): weights, optimizer state and a step's activations; the CSG
  head's logits memory, and inference throughput (images/s) of the CSG model's ``predict`` at
  ``--test-size``.

All five measurements are taken in ``--iters`` interleaved rounds (order rotated per round) after
``--warmup`` untimed iterations of each, with the garbage collector held off during each timed
call; the table gives medians, the per-round spread of how far each CSG step is above its floor,
and the same from the fastest run of each (``timeit``'s estimator on a shared machine). Weights
are random (no files needed): speed does not depend on them.
"""
import argparse
import contextlib
import copy
import gc
import resource
import statistics
import sys
import time
from typing import Callable, Dict, List

import torch
from mmengine.config import Config, DictAction


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('config')
    parser.add_argument('--iters', type=int, default=5,
                        help='timed rounds; each times every configuration once (medians)')
    parser.add_argument('--warmup', type=int, default=2, help='untimed iterations first')
    parser.add_argument('--device', choices=['cpu', 'cuda'], default='cpu')
    parser.add_argument('--amp', action='store_true',
                        help='mixed precision: on CUDA mmengine\'s AmpOptimWrapper (autocast to '
                        '--amp-dtype, dynamic loss scale); on CPU bfloat16 autocast (mmengine\'s '
                        'AmpOptimWrapper needs a GPU)')
    parser.add_argument('--amp-dtype', choices=['float16', 'bfloat16'], default='float16',
                        help='autocast dtype on CUDA (default float16)')
    parser.add_argument('--batch', type=int, help='per-device batch (default: the config\'s)')
    parser.add_argument('--size', type=int, nargs=2, metavar=('H', 'W'), help='crop size')
    parser.add_argument('--test-size', type=int, nargs=2, metavar=('H', 'W'),
                        help='inference size (default: 1024 2048 for segmentation, 224 224)')
    parser.add_argument('--test-iters', type=int, default=3)
    parser.add_argument('--threads', type=int, help='torch.set_num_threads')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    return parser.parse_args(argv)


def _sync(device):
    if device == 'cuda':
        torch.cuda.synchronize()


def _timed(fn: Callable, device: str) -> float:
    """Seconds one call of ``fn`` takes, synchronised, with Python's garbage collector run
    before and held off during the call (as ``timeit`` does)."""
    gc.collect()
    gc.disable()
    try:
        _sync(device)
        start = time.perf_counter()
        fn()
        _sync(device)
        return time.perf_counter() - start
    finally:
        gc.enable()


def _time(fn: Callable, iters: int, warmup: int, device: str) -> float:
    for _ in range(warmup):
        fn()
    return statistics.median(_timed(fn, device) for _ in range(iters))


def _status_mib(field: str) -> float:
    """``VmRSS`` / ``VmHWM`` (peak RSS) of this process from ``/proc/self/status``, in MiB."""
    with open('/proc/self/status') as f:
        for line in f:
            if line.startswith(field + ':'):
                return int(line.split()[1]) / 1024
    raise OSError(f'{field} not in /proc/self/status')


def _reset_peak_rss() -> bool:
    """Reset the process's peak RSS (Linux >= 4.0: ``echo 5 > /proc/self/clear_refs``)."""
    try:
        with open('/proc/self/clear_refs', 'w') as f:
            f.write('5')
        return _status_mib('VmHWM') <= _status_mib('VmRSS') + 1
    except OSError:
        return False


class CPUMemory:
    """How much a configuration adds to the process's peak RSS while it is built and warmed
    up: ``VmHWM`` after minus ``VmRSS`` before, with the peak reset in between; where the peak
    cannot be reset, the process's cumulative peak RSS (``ru_maxrss``)."""

    def __init__(self) -> None:
        self.start = 0.0
        self.resettable = False

    def begin(self) -> None:
        self.resettable = _reset_peak_rss()
        self.start = _status_mib('VmRSS') if self.resettable else 0.0

    def end(self) -> float:
        if self.resettable:
            return _status_mib('VmHWM') - self.start
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    @property
    def unit(self) -> str:
        return ('MiB peak RSS added (build + warm-up)' if self.resettable else
                'MiB process peak RSS, cumulative')


class Bench:
    """Builds the models of one config and times them."""

    def __init__(self, args):
        from mmengine.registry import init_default_scope

        import csg_mm  # noqa: F401
        from csg_mm.engine import apply_csg_mixin
        cfg = Config.fromfile(args.config)
        if args.cfg_options:
            cfg.merge_from_dict(args.cfg_options)
        if cfg.get('runner_type') == 'CSGRunner':
            cfg = apply_csg_mixin(cfg)
        init_default_scope(cfg.get('default_scope', 'mmseg'))
        self.cfg, self.args, self.device = cfg, args, args.device
        self.cpu_memory = CPUMemory()
        self.task = 'seg' if 'decode_head' in cfg.model else 'cls'
        if self.task == 'seg':
            size = args.size or tuple(cfg.model.data_preprocessor.get('size') or (512, 512))
            test = args.test_size or (1024, 2048)
        else:
            size = args.size or (224, 224)
            test = args.test_size or (224, 224)
        self.size, self.test_size = tuple(size), tuple(test)
        self.batch = args.batch or cfg.train_dataloader.batch_size
        if cfg.model.get('regularizer') is None:
            raise SystemExit(f'benchmark.py: {args.config} has no CSG regularizer '
                             '(model.regularizer); give a CSG config')

    def build(self, regularizer):
        from mmengine.optim import build_optim_wrapper
        from mmengine.registry import MODELS
        model_cfg = copy.deepcopy(self.cfg.model)
        model_cfg.regularizer = regularizer
        model_cfg.pop('pretrained', None)
        model = MODELS.build(model_cfg).to(self.device)
        model.train()
        optim_cfg = copy.deepcopy(self.cfg.optim_wrapper)
        if self.args.amp and self.device == 'cuda':  # as tools/train.py --amp does
            optim_cfg.type = 'AmpOptimWrapper'
            optim_cfg.setdefault('loss_scale', 'dynamic')
            optim_cfg.dtype = self.args.amp_dtype
        optim = build_optim_wrapper(model, optim_cfg)
        return model, optim

    def samples(self, batch, size):
        if self.task == 'seg':
            from mmengine.structures import PixelData
            from mmseg.structures import SegDataSample
            num_classes = self.cfg.model.decode_head.num_classes
            out = []
            for _ in range(batch):
                s = SegDataSample()
                s.gt_sem_seg = PixelData(
                    data=torch.randint(0, num_classes, (1, *size), device=self.device))
                s.set_metainfo(dict(img_shape=size, ori_shape=size, pad_shape=size,
                                    padding_size=[0, 0, 0, 0]))
                out.append(s)
            return out
        from mmpretrain.structures import DataSample
        num_classes = self.cfg.model.head.num_classes
        return [DataSample(metainfo=dict(img_shape=size, ori_shape=size)).set_gt_label(
            int(torch.randint(0, num_classes, ()))) for _ in range(batch)]

    def autocast(self):
        if not self.args.amp:
            return torch.autocast(self.device, enabled=False)
        dtype = getattr(torch, self.args.amp_dtype) if self.device == 'cuda' else torch.bfloat16
        return torch.autocast(self.device, dtype=dtype)

    def step_fn(self, model, optim, inputs, samples):
        """One training step as mmengine's ``BaseModel.train_step`` takes it (after the data
        preprocessor): forward in the optim wrapper's context (autocast with
        ``AmpOptimWrapper``), ``parse_losses``, ``update_params`` (backward, step, zero_grad)."""
        cpu_amp = self.args.amp and self.device == 'cpu'

        def step():
            with optim.optim_context(model), \
                    (self.autocast() if cpu_amp else contextlib.nullcontext()):
                losses = model.loss(inputs, samples)
            loss, _ = model.parse_losses(losses)
            optim.update_params(loss)
        return step

    def run(self) -> Dict[str, object]:
        """Build the three configurations, warm each up (recording its peak memory), then time
        them in ``--iters`` interleaved rounds: every round times one baseline step, one CSG step
        per attention mode, ``T`` and ``Q``, in an order rotated from round to round, so that the
        machine's drift (other jobs, frequency, caches) reaches every measurement alike and each
        round's ratios compare steps taken moments apart."""
        dev, wu = self.device, self.args.warmup
        x = torch.randn(self.batch, 3, *self.size, device=dev)
        x_k = torch.randn(self.batch, 3, *self.size, device=dev)
        samples = self.samples(self.batch, self.size)
        reg = copy.deepcopy(self.cfg.model.regularizer)
        res: Dict[str, object] = {}
        fns: Dict[str, Callable] = {}
        models = {}
        for name, regularizer, inputs in (('S', None, x),
                                          ('csg_key', dict(reg, attention='key'), [x, x_k]),
                                          ('csg_anchor', dict(reg, attention='anchor'),
                                           [x, x_k])):
            before = torch.cuda.memory_allocated() if dev == 'cuda' else 0
            if dev == 'cuda':
                torch.cuda.reset_peak_memory_stats()
            else:
                self.cpu_memory.begin()
            models[name], optim = self.build(regularizer)
            fns[name] = self.step_fn(models[name], optim, inputs, samples)
            for _ in range(max(wu, 1)):
                fns[name]()
            _sync(dev)
            res[f'mem_{name}'] = ((torch.cuda.max_memory_allocated() - before) / 2**20
                                  if dev == 'cuda' else self.cpu_memory.end())
        fns['T'], fns['Q'] = self.component_fns(models['csg_key'], x_k)
        for name in ('T', 'Q'):
            for _ in range(wu):
                fns[name]()

        names = list(fns)
        times: Dict[str, list] = {name: [] for name in names}
        for r in range(self.args.iters):
            for name in names[r % len(names):] + names[:r % len(names)]:
                times[name].append(_timed(fns[name], dev))
        res['times'] = times
        for name in names:
            res[name] = statistics.median(times[name])
        res.update(self.head_memory(models['csg_key']))
        res['parts'] = self.csg_parts(models['csg_key'], x)
        res['csg_stages'] = tuple(models['csg_key'].regularizer.stages)
        res['infer_img_s'] = self.throughput(models['csg_key'])
        return res

    def component_fns(self, model, x_k):
        """``T``: the teacher's forward, ``Q``: the student's no-grad eval-mode forward, both on
        the key view, with the CSG model's own modules."""
        from csg_mm.models.csg.csg_regularizer import eval_mode
        student, teacher = model.backbone, model.regularizer.teacher

        def teacher_fwd():
            with torch.no_grad(), self.autocast():
                teacher(x_k)

        def student_key_fwd():
            with torch.no_grad(), self.autocast(), eval_mode(student):
                student(x_k)
        return teacher_fwd, student_key_fwd

    def head_memory(self, model) -> Dict[str, float]:
        """The CSG head's logits at this batch: ``N`` queries against ``K`` keys, of which the
        fused loss holds one chunk at a time (MiB, float32); on CUDA also the measured peak memory
        of the head's loss + backward over all stages, above what was allocated before."""
        from csg_mm.models.csg.queue_info_nce import default_chunk_size
        head = model.regularizer.head
        n = self.batch * model.regularizer.pool.grid**2
        chunk = head.chunk_size or default_chunk_size(n, head.queue_len, self.device)
        out = {'head_n': n, 'head_k': head.queue_len,
               'head_chunk_mib': n * min(chunk, head.queue_len) * 4 / 2**20}
        if self.device == 'cuda':
            q = [torch.randn(n, head.feat_dim, device='cuda', requires_grad=True)
                 for _ in head.stages]
            keys = [torch.randn(n, head.feat_dim, device='cuda') for _ in head.stages]
            torch.cuda.synchronize()
            torch.cuda.reset_peak_memory_stats()
            start = torch.cuda.memory_allocated()
            sum(v for kk, v in head.loss(q, keys).items() if 'loss' in kk).backward()
            torch.cuda.synchronize()
            out['head_peak_mib'] = (torch.cuda.max_memory_allocated() - start) / 2**20
        return out

    def csg_parts(self, model, x) -> Dict[str, float]:
        """CSG's own compute at this config's shapes (median of ``--iters`` after ``--warmup``),
        on the CSG stages' maps of ``x``: the query A-pool forward + backward, the key A-pool
        (attention from another map), the projection MLPs (query forward + backward, key
        forward) and the contrastive head (loss + backward, then the enqueue)."""
        reg = model.regularizer
        with torch.no_grad(), self.autocast():
            maps = [f.detach() for f in reg.select(model.backbone(x))]
        attn = [m.flip(-1) for m in maps]
        dev, it, wu = self.device, self.args.iters, self.args.warmup

        def backward(outs):
            sum(o.float().sum() for o in outs).backward()

        def query_pool():
            with self.autocast():
                outs = [reg.pool(m.requires_grad_()) for m in maps]
            backward(outs)

        def key_pool():
            with torch.no_grad(), self.autocast():
                [reg.pool(m, a) for m, a in zip(maps, attn)]

        with torch.no_grad(), self.autocast():
            pooled = [reg.pool(m.detach()) for m in maps]

        def mlps():
            with self.autocast():
                outs = reg.neck.forward_query([p.detach().requires_grad_() for p in pooled])
                reg.neck.forward_key(pooled)
            backward(outs)

        with torch.no_grad(), self.autocast():
            embeds = reg.neck.forward_key(pooled)

        def head():
            queries = [e.detach().clone().requires_grad_() for e in embeds]
            with self.autocast():
                losses = reg.head.loss(queries, embeds)
            sum(v for k, v in losses.items() if 'loss' in k).backward()
            reg.head.enqueue(embeds)

        out = {}
        for name, fn in (('query A-pool, forward + backward', query_pool),
                         ('key A-pool (other attention map), forward', key_pool),
                         ('projection MLPs: query fwd + bwd, key fwd', mlps),
                         ('contrastive head: loss + backward + enqueue', head)):
            out[name] = _time(fn, it, wu, dev)
        for m in maps:
            m.requires_grad_(False)
        return out

    def throughput(self, model) -> float:
        model.eval()
        x = torch.randn(1, 3, *self.test_size, device=self.device)
        samples = self.samples(1, self.test_size)
        if self.task == 'cls':
            samples = None

        def infer():
            with torch.no_grad(), self.autocast():
                model.predict(x, samples)
        sec = _time(infer, self.args.test_iters, 1, self.device)
        model.train()
        return 1.0 / sec


def above_floor(res: Dict[str, object], attention: str) -> List[float]:
    """Per round: how far the measured ratio ``CSG / S`` is above the floor ratio, in percent
    (the floor is ``(S + T + Q) / S`` for ``key`` and ``(S + T) / S`` for ``anchor``)."""
    times = res['times']
    out = []
    for s, t, q, step in zip(times['S'], times['T'], times['Q'], times[f'csg_{attention}']):
        floor = s + t + (q if attention == 'key' else 0.0)
        out.append(100 * (step / floor - 1))
    return out


def best_ratio(res: Dict[str, object], attention: str) -> float:
    """The fastest CSG step over the floor made of the fastest ``S``, ``T`` (and ``Q``): the
    least disturbed run of each, the estimator ``timeit`` recommends on a shared machine."""
    t = {k: min(v) for k, v in res['times'].items()}
    floor = t['S'] + t['T'] + (t['Q'] if attention == 'key' else 0.0)
    return t[f'csg_{attention}'] / floor


def report(bench: Bench, res: Dict[str, object]) -> str:
    s, t, q = res['S'], res['T'], res['Q']
    rows = [
        ('config', bench.args.config),
        ('device / amp', f'{bench.device} / ' + (
            ('AmpOptimWrapper ' + bench.args.amp_dtype if bench.device == 'cuda' else
             'bfloat16 autocast') if bench.args.amp else 'off')),
        ('batch x crop', f'{bench.batch} x {bench.size[0]}x{bench.size[1]}'),
        ('rounds (interleaved) / warm-up', f'{bench.args.iters} / {bench.args.warmup}'),
        ('baseline step S (s)', f'{s:.3f}'),
        ('teacher forward T (s)', f'{t:.3f}'),
        ('student no-grad key forward Q (s)', f'{q:.3f}'),
    ]
    for attention, floor in (('key', (s + t + q) / s), ('anchor', (s + t) / s)):
        step = res[f'csg_{attention}']
        per_round = above_floor(res, attention)
        rows += [
            (f'CSG step, attention={attention} (s)', f'{step:.3f}'),
            ('  measured ratio / floor ratio', f'{step / s:.3f} / {floor:.3f}'),
            ('  above floor (medians)', f'{100 * (step / s / floor - 1):+.1f}%'),
            ('  above floor per round: median [min, max]',
             f'{statistics.median(per_round):+.1f}% [{min(per_round):+.1f}%, '
             f'{max(per_round):+.1f}%]'),
            ('  above floor, fastest of each (timeit\'s estimator)',
             f'{100 * (best_ratio(res, attention) - 1):+.1f}%'),
        ]
    rows.append((f'CSG\'s own compute, stages {res["csg_stages"]} (s)', ''))
    rows += [(f'  {name}', f'{sec:.3f}') for name, sec in res['parts'].items()]
    unit = ('MiB peak allocated (build + warm-up)' if bench.device == 'cuda' else
            bench.cpu_memory.unit)
    rows += [
        (f'memory baseline ({unit})', f'{res["mem_S"]:.0f}'),
        (f'memory CSG key ({unit})', f'{res["mem_csg_key"]:.0f}'),
        (f'memory CSG anchor ({unit})', f'{res["mem_csg_anchor"]:.0f}'),
        ('CSG head logits N x (1+K)', f'{res["head_n"]} x {res["head_k"] + 1}'),
        ('CSG head logits per chunk (MiB)', f'{res["head_chunk_mib"]:.1f}'),
    ]
    if 'head_peak_mib' in res:
        rows.append(('CSG head loss+backward peak (MiB)', f'{res["head_peak_mib"]:.1f}'))
    rows.append((f'inference {bench.test_size[0]}x{bench.test_size[1]} (img/s)',
                 f'{res["infer_img_s"]:.3f}'))
    width = max(len(r[0]) for r in rows)
    return '\n'.join(f'{k.ljust(width)}  {v}' for k, v in rows)


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.device == 'cuda' and not torch.cuda.is_available():
        print('benchmark.py: error: --device cuda but CUDA is not available', file=sys.stderr)
        return 2
    torch.manual_seed(0)
    import logging

    from mmengine.logging import MMLogger
    MMLogger.get_instance('mmengine').setLevel(logging.WARNING)  # no per-parameter lr lines
    bench = Bench(args)
    res = bench.run()
    print(report(bench, res))
    return 0


if __name__ == '__main__':
    sys.exit(main())

"""The logic behind ``tools/gpu_check.sh``: the offline wheel bundle, the run's reports.

``tools/gpu_check.sh`` checks csg_mm on a bare GPU machine in one command (GPU tests, the GPU
rows of ``docs/benchmark.md``, 100 training iterations of the paper's R101 config). The machine has
Python 3.12 with CUDA torch and a fixed set of packages, but no mmengine / mmcv / mmsegmentation /
mmpretrain and no package registry, so those travel as a bundle of wheels (plus mmcv's sdist,
built there) that ``tools/gpu_check.sh --prepare`` downloads here. This module

* checks such a bundle (:func:`check_bundle`): every requirement of every wheel (and of the mmcv
  sdist) is in the bundle or in the GPU image (:data:`GPU_IMAGE_PACKAGES`), no package comes in
  two versions, and it fits the device tool's 64 MiB transfer limit;
* reads what the run wrote (:func:`train_report` on mmengine's ``scalars.json``,
  :func:`parse_benchmark` on ``tools/analysis_tools/benchmark.py``'s table) and writes the
  summary (:func:`summarize`).

Command line (used by the shell script)::

    python -m csg_mm.utils.gpu_check check-bundle BUNDLE_DIR
    python -m csg_mm.utils.gpu_check summary OUT_DIR SCRATCH_DIR --mode gpu|dry-run
"""
import argparse
import glob
import json
import math
import os.path as osp
import platform
import re
import sys
import tarfile
import zipfile
from typing import Dict, List, Optional, Sequence

# Packages the GPU machine's image already holds that the bundle's packages need (a subset of
# the image's package list in the workplace's device notes, KINDS.md, as read on 2026-11-17).
# `opencv-python` is satisfied by `opencv-python-headless` (the same `cv2` module), see ALIASES.
GPU_IMAGE_PACKAGES = frozenset({
    'click', 'einops', 'markdown', 'markdown-it-py', 'matplotlib', 'mdurl', 'ninja', 'numpy',
    'opencv-python-headless', 'packaging', 'pillow', 'pygments', 'pytest', 'pyyaml', 'regex',
    'rich', 'scipy', 'setuptools', 'tabulate', 'torch', 'torchvision', 'wheel', 'zipp'
})
ALIASES = {'opencv-python': 'opencv-python-headless'}
# The device tool carries at most 64 MiB of working tree per call (bundle included).
BUNDLE_LIMIT_MIB = 64.0
# The interpreter the GPU machine runs: the bundle's markers are evaluated for it.
TARGET_ENV = {'python_version': '3.12', 'python_full_version': '3.12.3',
              'sys_platform': 'linux', 'platform_system': 'Linux',
              'platform_machine': 'x86_64', 'os_name': 'posix',
              'implementation_name': 'cpython', 'platform_python_implementation': 'CPython'}
MMCV_SDIST = 'mmcv-*.tar.gz'


def canonical(name: str) -> str:
    """PEP 503 normalised project name (``Foo_bar.baz`` -> ``foo-bar-baz``)."""
    return re.sub(r'[-_.]+', '-', name).lower()


def _applies(requirement) -> bool:
    """Whether a requirement (``packaging`` Requirement) applies on the GPU machine without
    extras."""
    if requirement.marker is None:
        return True
    return requirement.marker.evaluate(dict(TARGET_ENV, extra=''))


def _requirements(lines: Sequence[str]) -> List:
    from packaging.requirements import Requirement
    out = []
    for line in lines:
        line = line.split('#', 1)[0].strip()
        if line:
            req = Requirement(line)
            if _applies(req):
                out.append(req)
    return out


def wheel_metadata(path: str) -> Dict[str, object]:
    """Name, version and applicable requirements of a wheel (its own ``*.dist-info/METADATA``,
    not those of packages it vendors)."""
    with zipfile.ZipFile(path) as zf:
        meta = [n for n in zf.namelist() if n.count('/') == 1 and
                n.endswith('.dist-info/METADATA')]
        if len(meta) != 1:
            raise ValueError(f'{path}: expected one top-level *.dist-info/METADATA, found {meta}')
        text = zf.read(meta[0]).decode('utf-8', 'replace')
    headers = text.split('\n\n', 1)[0].splitlines()
    field = {k: [ln.split(':', 1)[1].strip() for ln in headers if ln.startswith(k + ':')]
             for k in ('Name', 'Version', 'Requires-Dist')}
    return dict(name=canonical(field['Name'][0]), version=field['Version'][0],
                requires=_requirements(field['Requires-Dist']))


def sdist_metadata(path: str) -> Dict[str, object]:
    """Name, version and runtime requirements of an OpenMMLab sdist (``requirements/runtime.txt``,
    which its ``setup.py`` reads as ``install_requires``)."""
    base = osp.basename(path)[:-len('.tar.gz')]
    name, version = base.rsplit('-', 1)
    with tarfile.open(path) as tf:
        member = tf.extractfile(f'{base}/requirements/runtime.txt')
        if member is None:
            raise ValueError(f'{path}: no {base}/requirements/runtime.txt inside')
        lines = member.read().decode().splitlines()
    return dict(name=canonical(name), version=version, requires=_requirements(lines))


def check_bundle(bundle_dir: str, limit_mib: float = BUNDLE_LIMIT_MIB) -> Dict[str, object]:
    """Check a bundle made by ``tools/gpu_check.sh --prepare``.

    Returns:
        dict: ``packages`` (name -> version), ``size_mib`` and ``problems`` (list of strings,
        empty when the bundle is complete): missing mmcv sdist, a package in two versions, a
        requirement that neither the bundle nor the GPU image (:data:`GPU_IMAGE_PACKAGES`)
        provides, or a size over ``limit_mib``.
    """
    if not osp.isdir(bundle_dir):
        raise FileNotFoundError(f'bundle folder {bundle_dir} does not exist: make it with '
                                '`bash tools/gpu_check.sh --prepare`')
    problems, metas = [], []
    wheels = sorted(glob.glob(osp.join(bundle_dir, '*.whl')))
    sdists = sorted(glob.glob(osp.join(bundle_dir, MMCV_SDIST)))
    if len(sdists) != 1:
        problems.append(f'expected one mmcv sdist ({MMCV_SDIST}) in {bundle_dir}, found '
                        f'{len(sdists)}')
    metas += [wheel_metadata(w) for w in wheels] + [sdist_metadata(s) for s in sdists]
    packages: Dict[str, str] = {}
    for meta in metas:
        if meta['name'] in packages:
            problems.append(f'{meta["name"]} is in the bundle twice ({packages[meta["name"]]} '
                            f'and {meta["version"]}): pip refuses to install both')
        packages[meta['name']] = meta['version']
    provided = set(packages) | GPU_IMAGE_PACKAGES
    for meta in metas:
        for req in meta['requires']:
            name = canonical(req.name)
            if name not in provided and ALIASES.get(name) not in provided:
                problems.append(f'{meta["name"]} {meta["version"]} requires {req}, which '
                                'neither the bundle nor the GPU image provides: add it to '
                                'requirements/gpu_bundle.txt')
            elif name in packages and not req.specifier.contains(packages[name],
                                                                 prereleases=True):
                problems.append(f'{meta["name"]} requires {req}, the bundle has '
                                f'{name} {packages[name]}')
    size = sum(osp.getsize(p) for p in wheels + sdists) / 2**20
    if size > limit_mib:
        problems.append(f'bundle is {size:.1f} MiB, over the {limit_mib:.0f} MiB the device '
                        'tool carries')
    return dict(packages=packages, size_mib=size, problems=problems)


def read_scalars(path: str) -> List[Dict[str, float]]:
    """The training records of an mmengine ``vis_data/scalars.json`` (one JSON object per line;
    training lines carry ``iter`` and ``loss``)."""
    out = []
    with open(path) as f:
        for line in f:
            line = line.strip()
            if line:
                rec = json.loads(line)
                if 'loss' in rec and 'iter' in rec:
                    out.append(rec)
    return out


def train_report(records: Sequence[Dict[str, float]],
                 card_mib: Optional[float] = None,
                 task_loss: str = 'decode.loss_ce',
                 window: int = 10) -> Dict[str, object]:
    """What the training log shows.

    Args:
        records: training records of :func:`read_scalars`. mmengine logs each loss as the mean
            over its last ``window`` iterations (``LogProcessor.window_size``, 10 by default);
            a record logged before iteration ``window`` averages fewer.
        card_mib: the GPU's memory in MiB, to relate the peak to.
        task_loss: the loss that must fall: from the first record that averages a full window
            to the last record. (With stand-in weights the first iterations are not
            representative: the CSG InfoNCE, near its floor at iteration 0 because student and
            teacher start from the same weights, DESIGN.md 1.1, jumps once the queue fills with
            keys that resemble the positive, and its gradient moves the backbone, which throws
            the segmentation loss up for a few iterations before it falls.)
        window: mmengine's ``window_size``.

    Returns:
        dict: ``iters``; ``losses``: per logged loss ``first``, ``peak``, ``peak_iter``,
        ``last``; ``non_finite`` (names with a NaN or inf value); ``task_loss_from`` (value and
        iteration it is compared from) and ``task_loss_falls``; ``peak_mib`` (mmengine's
        ``memory``: ``max_memory_allocated`` in MiB, None without CUDA), ``peak_fraction`` of the
        card; ``ok`` (finite everywhere and the task loss falls).
    """
    if not records:
        raise ValueError('no training records in the log: did training start?')
    names = sorted({k for r in records for k in r if 'loss' in k})
    non_finite = sorted({k for r in records for k, v in r.items()
                         if isinstance(v, float) and not math.isfinite(v)})
    losses = {}
    for k in names:
        logged = [r for r in records if k in r]
        top = max(logged, key=lambda r: r[k] if math.isfinite(r[k]) else math.inf)
        losses[k] = dict(first=logged[0][k], peak=top[k], peak_iter=int(top['iter']),
                         last=logged[-1][k])
    task = [r for r in records if task_loss in r]
    start = next((r for r in task if r['iter'] >= window), task[0] if task else None)
    falls = bool(start is not None and task[-1] is not start
                 and task[-1][task_loss] < start[task_loss])
    peaks = [r['memory'] for r in records if 'memory' in r]
    peak = max(peaks) if peaks else None
    return dict(
        iters=int(records[-1]['iter']),
        losses=losses,
        non_finite=non_finite,
        task_loss=task_loss,
        task_loss_from=(None if start is None else
                        dict(iter=int(start['iter']), value=start[task_loss])),
        task_loss_falls=falls,
        peak_mib=peak,
        peak_fraction=(peak / card_mib if peak is not None and card_mib else None),
        ok=not non_finite and falls)


def parse_benchmark(text: str) -> Dict[str, str]:
    """The rows of ``tools/analysis_tools/benchmark.py``'s table, label -> value.

    The table starts at its ``config`` row (warnings before it are ignored); a row is
    ``label  value`` (two or more spaces apart; a heading row has no value); an indented row
    belongs to the unindented row above it and is named ``parent: label`` (the per-mode rows under
    each CSG step, the parts of CSG's own compute).
    """
    rows: Dict[str, str] = {}
    parent = None
    for line in text.splitlines():
        parts = re.split(r'\s{2,}', line.strip(), maxsplit=1)
        if not rows and parts[0] != 'config':
            continue
        if not parts[0]:
            continue
        label, value = parts[0], (parts[1] if len(parts) == 2 else '')  # '': a heading row
        if line.startswith(' ') and parent:
            label = f'{parent}: {label}'
        else:
            parent = label
        rows[label] = value
    return rows


def env_info() -> Dict[str, object]:
    """Versions and the device: Python, torch (+ CUDA, cuDNN), the OpenMMLab packages, numpy,
    and the GPU's name and memory (MiB) when CUDA is available."""
    import importlib

    import torch
    info: Dict[str, object] = dict(python=platform.python_version(), torch=torch.__version__,
                                   cuda=torch.version.cuda,
                                   cudnn=torch.backends.cudnn.version())
    for mod in ('torchvision', 'numpy', 'mmcv', 'mmengine', 'mmseg', 'mmpretrain'):
        try:
            info[mod] = importlib.import_module(mod).__version__
        except Exception as exc:  # a missing package is part of the report
            info[mod] = f'unavailable ({type(exc).__name__})'
    if torch.cuda.is_available():
        props = torch.cuda.get_device_properties(0)
        info.update(gpu=props.name, gpu_mib=props.total_memory / 2**20,
                    capability='.'.join(map(str, torch.cuda.get_device_capability(0))))
    else:
        info.update(gpu=None, gpu_mib=None)
    return info


def read_phases(path: str) -> List[Dict[str, object]]:
    """The script's phase records: ``name<TAB>exit status<TAB>seconds<TAB>note`` lines."""
    out = []
    if osp.isfile(path):
        with open(path) as f:
            for line in f:
                name, rc, sec, note = (line.rstrip('\n').split('\t') + ['', '', ''])[:4]
                out.append(dict(name=name, rc=int(rc) if rc.lstrip('-').isdigit() else rc,
                                seconds=float(sec) if sec else None, note=note))
    return out


def _bench_table(out_dir: str, names: Sequence[str]) -> List[str]:
    """Markdown rows comparing the benchmark runs (``benchmark_<name>.txt``) side by side."""
    runs = {}
    for name in names:
        path = osp.join(out_dir, f'benchmark_{name}.txt')
        if osp.isfile(path):
            with open(path) as f:
                runs[name] = parse_benchmark(f.read())
    if not runs:
        return ['(no benchmark output)']
    labels: List[str] = []
    for rows in runs.values():
        labels += [k for k in rows if k not in labels and k not in ('config', 'device / amp')]
    out = ['| | ' + ' | '.join(runs) + ' |', '|---' * (len(runs) + 1) + '|']
    # the two "above floor (medians)" / ratio rows repeat per mode: key first, then anchor
    for label in labels:
        out.append(f'| {label} | ' + ' | '.join(r.get(label, '') for r in runs.values()) + ' |')
    return out


def summarize(out_dir: str, scratch: str, mode: str) -> Dict[str, object]:
    """Write ``summary.md`` and ``summary.json`` into ``out_dir`` and return the summary.

    Reads the phase records (``scratch/phases.tsv``), the pytest output (``pytest.txt``), the
    benchmark tables (``benchmark_*.txt``) and the training log (``train_scalars.json``) that
    ``tools/gpu_check.sh`` left in ``out_dir``.
    """
    info = env_info() if mode == 'gpu' else dict(env_info(), gpu=None)
    phases = read_phases(osp.join(scratch, 'phases.tsv'))
    summary: Dict[str, object] = dict(mode=mode, env=info, phases=phases)
    lines = [f'# csg_mm GPU check ({mode})', '']
    if mode == 'dry-run':
        lines += ['No GPU: the same steps at a tiny size on the CPU (dry run).', '']
    lines += ['| | |', '|---|---|']
    lines += [f'| {k} | {v} |' for k, v in info.items()]
    lines += ['', '| phase | exit | seconds | note |', '|---|---|---|---|']
    lines += [f'| {p["name"]} | {p["rc"]} | '
              f'{"" if p["seconds"] is None else format(p["seconds"], ".1f")} | {p["note"]} |'
              for p in phases]
    pytest_out = osp.join(out_dir, 'pytest.txt')
    if osp.isfile(pytest_out):
        with open(pytest_out) as f:
            tail = [ln for ln in f.read().splitlines() if ln.strip()]
        summary['pytest'] = tail[-1] if tail else ''
        lines += ['', f'pytest -m gpu: {summary["pytest"]}']
    lines += ['', '## Benchmark (tools/analysis_tools/benchmark.py)', '']
    lines += _bench_table(out_dir, ('fp32', 'fp16', 'bf16'))
    scalars = osp.join(out_dir, 'train_scalars.json')
    lines += ['', '## Training']
    if osp.isfile(scalars):
        try:
            rep = train_report(read_scalars(scalars), info.get('gpu_mib'))
        except ValueError as exc:
            rep = dict(ok=False, error=str(exc))
        summary['train'] = rep
        if 'error' in rep:
            lines += ['', rep['error']]
        else:
            start = rep['task_loss_from'] or {}
            lines += ['', f'iterations: {rep["iters"]}; non-finite: {rep["non_finite"] or "none"};'
                      f' {rep["task_loss"]} falls from iteration {start.get("iter")} to the '
                      f'end: {rep["task_loss_falls"]}']
            lines += ['', '| loss (window means) | first log | peak (iteration) | last log |',
                      '|---|---|---|---|']
            lines += [f'| {k} | {v["first"]:.4g} | {v["peak"]:.4g} ({v["peak_iter"]}) | '
                      f'{v["last"]:.4g} |' for k, v in rep['losses'].items()]
            if rep['peak_mib'] is not None:
                frac = rep['peak_fraction']
                lines += ['', f'peak memory (max_memory_allocated): {rep["peak_mib"]:.0f} MiB'
                          + (f' of {info["gpu_mib"]:.0f} MiB ({100 * frac:.1f}%)' if frac
                             else '')]
    else:
        lines += ['', '(no training log)']
    failed = [p['name'] for p in phases if p['rc'] not in (0, 'skipped')]
    if mode == 'gpu' and summary.get('train', {}).get('ok') is False:
        failed.append('train: ' + ('losses not finite' if summary['train'].get('non_finite')
                                   else 'task loss did not fall'))
    summary['failed'] = failed
    lines += ['', 'RESULT: ' + ('all steps passed' if not failed else
                                'FAILED: ' + ', '.join(failed))]
    text = '\n'.join(lines) + '\n'
    with open(osp.join(out_dir, 'summary.md'), 'w') as f:
        f.write(text)
    with open(osp.join(out_dir, 'summary.json'), 'w') as f:
        json.dump(summary, f, indent=1, default=str)
    summary['text'] = text
    return summary


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog='python -m csg_mm.utils.gpu_check',
                                     description=__doc__.split('\n\n')[0])
    sub = parser.add_subparsers(dest='cmd', required=True)
    p = sub.add_parser('check-bundle', help='check a bundle made by gpu_check.sh --prepare')
    p.add_argument('bundle_dir')
    p = sub.add_parser('summary', help='write summary.md / summary.json and print them')
    p.add_argument('out_dir')
    p.add_argument('scratch')
    p.add_argument('--mode', choices=['gpu', 'dry-run'], required=True)
    args = parser.parse_args(argv)
    if args.cmd == 'check-bundle':
        try:
            res = check_bundle(args.bundle_dir)
        except (FileNotFoundError, ValueError) as exc:
            print(f'gpu_check: error: {exc}', file=sys.stderr)
            return 2
        print(f'bundle {args.bundle_dir}: {len(res["packages"])} packages, '
              f'{res["size_mib"]:.1f} MiB')
        for problem in res['problems']:
            print(f'gpu_check: error: {problem}', file=sys.stderr)
        return 1 if res['problems'] else 0
    res = summarize(args.out_dir, args.scratch, args.mode)
    print(res['text'], end='')
    return 1 if res['failed'] else 0


if __name__ == '__main__':
    sys.exit(main())

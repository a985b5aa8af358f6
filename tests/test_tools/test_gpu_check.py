"""tools/gpu_check.sh: the dry run end to end (what CI can run of the GPU check), and the
bundle check and report logic of csg_mm.utils.gpu_check on hand-made inputs."""
import io
import json
import math
import os
import subprocess
import sys
import tarfile
import zipfile

import pytest
import torch

from csg_mm.utils.gpu_check import check_bundle, parse_benchmark, read_scalars, train_report
from tests.utils.runner_utils import REPO

SCRIPT = os.path.join(REPO, 'tools', 'gpu_check.sh')
RESULT_FILES = {'summary.md', 'summary.json', 'gpu_check.log', 'pytest.txt',
                'train_scalars.json', 'benchmark_fp32.txt', 'benchmark_fp16.txt',
                'benchmark_bf16.txt'}


def _run(args, timeout=900):
    env = dict(os.environ, PYTHON=sys.executable, OMP_NUM_THREADS='2')
    return subprocess.run(['bash', SCRIPT, *args], cwd=REPO, env=env, text=True,
                          capture_output=True, timeout=timeout)


def test_dry_run_runs_every_step_on_the_cpu(tmp_path):
    out = tmp_path / 'out'
    proc = _run(['--dry-run', str(out)])
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-3000:]
    first = next(ln for ln in proc.stdout.splitlines() if 'dry run:' in ln)
    assert 'the same steps at a tiny size on the CPU' in first
    assert ('no GPU present' in first) == (not torch.cuda.is_available())
    assert 'RESULT: all steps passed' in proc.stdout
    # at most 8 files come back from the device tool; the dry run writes 7 (no fp16 on the CPU)
    assert set(os.listdir(out)) == RESULT_FILES - {'benchmark_fp16.txt'}
    summary = json.loads((out / 'summary.json').read_text())
    ran = {p['name']: p['rc'] for p in summary['phases']}
    assert ran['install bundle'] == ran['build mmcv'] == 'skipped'
    for name in ('pytest -m gpu', 'make training data', 'convert GTA5 labels', 'train',
                 'benchmark fp32', 'benchmark bf16'):
        assert ran[name] == 0, name
    assert 'passed' in summary['pytest'] and 'failed' not in summary['pytest']
    assert summary['train']['iters'] == 6 and summary['train']['non_finite'] == []
    assert 'baseline step S (s)' in (out / 'summary.md').read_text()


def test_refuses_to_overwrite_results_and_unknown_options(tmp_path):
    (tmp_path / 'summary.md').write_text('earlier run')
    proc = _run(['--dry-run', str(tmp_path)], timeout=60)
    assert proc.returncode == 2 and 'summary.md exists' in proc.stderr
    assert (tmp_path / 'summary.md').read_text() == 'earlier run'
    proc = _run(['--gpu'], timeout=60)
    assert proc.returncode == 2 and 'unknown option --gpu' in proc.stderr


def _wheel(folder, name, version, requires=()):
    path = folder / f'{name}-{version}-py3-none-any.whl'
    meta = f'Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n'
    meta += ''.join(f'Requires-Dist: {r}\n' for r in requires) + '\nlong description\n'
    with zipfile.ZipFile(path, 'w') as zf:
        zf.writestr(f'{name}-{version}.dist-info/METADATA', meta)
        # a vendored package's metadata is not the wheel's own
        zf.writestr(f'{name}/_vendor/other-1.0.dist-info/METADATA',
                    'Name: other\nVersion: 1.0\nRequires-Dist: not-there\n')
    return path


def _sdist(folder, requires):
    path = folder / 'mmcv-2.1.0.tar.gz'
    data = '\n'.join(requires).encode()
    with tarfile.open(path, 'w:gz') as tf:
        info = tarfile.TarInfo('mmcv-2.1.0/requirements/runtime.txt')
        info.size = len(data)
        tf.addfile(info, io.BytesIO(data))
    return path


@pytest.fixture
def bundle(tmp_path):
    _wheel(tmp_path, 'mmengine', '0.10.7', ['addict', 'opencv-python>=3', 'numpy',
                                            'regex; sys_platform == "win32"',
                                            'pytest-cov; extra == "tests"'])
    _wheel(tmp_path, 'addict', '2.4.0')
    _sdist(tmp_path, ['addict', 'mmengine>=0.3.0', 'numpy', '# a comment'])
    return tmp_path


def test_complete_bundle(bundle):
    res = check_bundle(str(bundle))
    # opencv-python: the image's opencv-python-headless; numpy: the image's; extras and
    # markers that do not hold on Linux / Python 3.12 are not needed
    assert res['problems'] == []
    assert res['packages'] == {'mmengine': '0.10.7', 'addict': '2.4.0', 'mmcv': '2.1.0'}


def test_bundle_missing_requirement_is_named(bundle):
    _wheel(bundle, 'mmpretrain', '1.2.0', ['mat4py', 'einops'])
    problems = check_bundle(str(bundle))['problems']
    assert len(problems) == 1 and 'mmpretrain 1.2.0 requires mat4py' in problems[0]


def test_bundle_version_conflicts(bundle):
    _wheel(bundle, 'addict', '2.3.0')
    _wheel(bundle, 'yapf', '0.43.0', ['addict>=3'])
    problems = check_bundle(str(bundle))['problems']
    assert any('addict is in the bundle twice' in p for p in problems)
    assert any('yapf requires addict>=3' in p for p in problems)


def test_bundle_without_sdist_or_too_large(bundle, tmp_path):
    (bundle / 'mmcv-2.1.0.tar.gz').unlink()
    assert 'expected one mmcv sdist' in check_bundle(str(bundle))['problems'][0]
    assert 'over the 0 MiB' in check_bundle(str(bundle), limit_mib=1e-6)['problems'][-1]
    with pytest.raises(FileNotFoundError, match='--prepare'):
        check_bundle(str(tmp_path / 'nowhere'))


def _records(*rows):
    return [dict(iter=10 * (i + 1), **row) for i, row in enumerate(rows)]


def test_train_report_falling_loss_and_peak_memory(tmp_path):
    """The task loss is compared from the first full 10-iteration window (iteration 10), not
    from the single iteration logged first: 9.0 at iteration 10 -> 2.5 falls, although 2.0 at
    iteration 1 is lower."""
    path = tmp_path / 'scalars.json'
    lines = [dict(iter=1, loss=2.5, **{'decode.loss_ce': 2.0}, memory=800),
             dict(iter=10, loss=30.0, **{'decode.loss_ce': 9.0}, memory=1000),
             {'mIoU': 1.0, 'step': 10},  # a validation line: no training loss
             dict(iter=20, loss=3.5, **{'decode.loss_ce': 2.5}, memory=1500)]
    path.write_text('\n'.join(json.dumps(r) for r in lines) + '\n')
    rep = train_report(read_scalars(str(path)), card_mib=3000)
    assert rep['iters'] == 20 and rep['task_loss_falls'] and rep['ok']
    assert rep['task_loss_from'] == dict(iter=10, value=9.0)
    assert rep['losses']['decode.loss_ce'] == dict(first=2.0, peak=9.0, peak_iter=10, last=2.5)
    assert rep['losses']['loss'] == dict(first=2.5, peak=30.0, peak_iter=10, last=3.5)
    assert rep['peak_mib'] == 1500 and rep['peak_fraction'] == 0.5


def test_train_report_nan_and_rising_loss():
    rep = train_report(_records({'loss': 1.0, 'decode.loss_ce': 1.0},
                                {'loss': math.nan, 'decode.loss_ce': 1.2}))
    assert rep['non_finite'] == ['loss'] and not rep['task_loss_falls'] and not rep['ok']
    assert rep['losses']['loss']['peak'] != rep['losses']['loss']['peak']  # NaN is the peak
    assert rep['peak_mib'] is None and rep['peak_fraction'] is None
    with pytest.raises(ValueError, match='no training records'):
        train_report([])


def test_parse_benchmark_rows():
    text = '\n'.join([
        'UserWarning: something  with two spaces',
        'config                       configs/x.py',
        'baseline step S (s)          0.100',
        'CSG step, attention=key (s)  0.150',
        '  above floor (medians)      +2.0%',
        "CSG's own compute (s)        ",
        '  query A-pool               0.010',
    ])
    assert parse_benchmark(text) == {
        'config': 'configs/x.py',
        'baseline step S (s)': '0.100',
        'CSG step, attention=key (s)': '0.150',
        'CSG step, attention=key (s): above floor (medians)': '+2.0%',
        "CSG's own compute (s)": '',
        "CSG's own compute (s): query A-pool": '0.010',
    }

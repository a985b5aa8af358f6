"""tools/train.py and tools/test.py: bad input gives one clear message and no traceback; the
runner's own checkpoints work for test and resume."""
import os
import os.path as osp
import subprocess
import sys

import pytest
import torch

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
DATA_DIR = osp.join(ROOT, 'tests', 'data')
TOY_CONFIG = osp.join(DATA_DIR, 'configs', 'toy_runner.py')
TRAIN = osp.join(ROOT, 'tools', 'train.py')
TEST = osp.join(ROOT, 'tools', 'test.py')


def _run(script, *args, timeout=300):
    env = dict(os.environ)
    env['PYTHONPATH'] = os.pathsep.join([ROOT, DATA_DIR, env.get('PYTHONPATH', '')])
    env.pop('CSG_MM_TRUST_CHECKPOINTS', None)
    for name in ('RANK', 'WORLD_SIZE', 'LOCAL_RANK', 'MASTER_ADDR', 'MASTER_PORT'):
        env.pop(name, None)
    return subprocess.run([sys.executable, script, *map(str, args)], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=timeout)


def _assert_clean_failure(proc, *needles):
    assert proc.returncode != 0, proc.stderr
    assert 'Traceback' not in proc.stderr, proc.stderr
    for needle in needles:
        assert str(needle) in proc.stderr, proc.stderr


@pytest.fixture(scope='module')
def trained(tmp_path_factory):
    """A 4-iteration single-process run of the toy config through tools/train.py."""
    work_dir = tmp_path_factory.mktemp('cli_train')
    proc = _run(TRAIN, TOY_CONFIG, '--work-dir', work_dir)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return work_dir


@pytest.mark.parametrize('script', [TRAIN, TEST])
def test_missing_config(script, tmp_path):
    missing = tmp_path / 'no_such_config.py'
    args = [missing] + ([tmp_path / 'x.pth'] if script == TEST else [])
    _assert_clean_failure(_run(script, *args), missing)


@pytest.mark.parametrize('script', [TRAIN, TEST])
def test_unknown_launcher(script, tmp_path):
    args = [TOY_CONFIG] + ([tmp_path / 'x.pth'] if script == TEST else [])
    _assert_clean_failure(_run(script, *args, '--launcher', 'bogus'), 'bogus', '--launcher')


def test_launcher_without_torchrun_env():
    _assert_clean_failure(_run(TRAIN, TOY_CONFIG, '--launcher', 'pytorch'), 'RANK', 'torchrun')


def test_unwritable_work_dir(tmp_path):
    regular_file = tmp_path / 'a_file'
    regular_file.write_text('not a directory')
    work_dir = regular_file / 'work'
    _assert_clean_failure(_run(TRAIN, TOY_CONFIG, '--work-dir', work_dir), work_dir)


def test_amp_without_gpu(tmp_path):
    if torch.cuda.is_available():
        pytest.skip('a GPU is visible')
    proc = _run(TRAIN, TOY_CONFIG, '--amp', '--work-dir', tmp_path / 'w')
    _assert_clean_failure(proc, '--amp')
    assert 'needs a GPU' in proc.stderr


def test_missing_checkpoint(tmp_path):
    missing = tmp_path / 'no_such.pth'
    _assert_clean_failure(
        _run(TEST, TOY_CONFIG, missing, '--work-dir', tmp_path / 'w'), missing)


def test_missing_resume_checkpoint(tmp_path):
    missing = tmp_path / 'no_such.pth'
    _assert_clean_failure(
        _run(TRAIN, TOY_CONFIG, '--work-dir', tmp_path / 'w', '--resume', missing), missing)


def test_unsafe_checkpoint_is_refused(tmp_path):
    marker = tmp_path / 'marker'

    class Payload:

        def __reduce__(self):
            return (exec, (f'open({str(marker)!r}, "w").close()', ))

    path = tmp_path / 'evil.pth'
    torch.save({'state_dict': {}, 'meta': Payload()}, path)
    proc = _run(TEST, TOY_CONFIG, path, '--work-dir', tmp_path / 'w')
    _assert_clean_failure(proc, path, 'builtins.exec')
    assert not marker.exists()


def test_train_writes_checkpoints(trained):
    assert (trained / 'iter_4.pth').is_file()
    assert (trained / 'last_checkpoint').is_file()


def test_test_on_runner_checkpoint(trained, tmp_path):
    proc = _run(TEST, TOY_CONFIG, trained / 'iter_4.pth', '--work-dir', tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert 'mse' in proc.stdout + proc.stderr


def test_resume_auto_and_path(trained, tmp_path):
    proc = _run(TRAIN, TOY_CONFIG, '--work-dir', trained, '--resume',
                '--cfg-options', 'train_cfg.max_iters=6')
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert (trained / 'iter_6.pth').is_file()
    proc = _run(TRAIN, TOY_CONFIG, '--work-dir', tmp_path, '--resume', trained / 'iter_4.pth',
                '--cfg-options', 'train_cfg.max_iters=6')
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert (tmp_path / 'iter_6.pth').is_file()
    assert not (tmp_path / 'iter_2.pth').exists()

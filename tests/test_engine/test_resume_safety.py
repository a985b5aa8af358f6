"""Resume never trains silently in a way the user did not ask for: `--resume` in a work dir
without checkpoints starts a new run with a WARNING in the run's log; resuming with another
batch size or number of processes than the checkpoint's is refused (the sample-stream record
that the resumable loops keep in the message hub); old checkpoints without the record resume
with a warning."""
import glob
import os
import os.path as osp
import subprocess
import sys

import pytest
import torch

from csg_mm.engine.runner.resumable_loops import SAMPLE_STREAM_KEY, check_sample_stream
from csg_mm.utils.checkpoint import (
    NotResumableError,
    ResumeMismatchError,
    find_resume_checkpoint,
)

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TOY_CONFIG = osp.join(ROOT, 'tests', 'data', 'configs', 'toy_runner.py')
STATE = dict(batch_size=2, world_size=1, samples_per_iter=2, seed=0, shuffle=True,
             dataset_size=16)


# ----------------------------------------------------------------------------- units


def test_check_sample_stream():
    assert check_sample_stream(dict(STATE), dict(STATE), 'w/iter_2.pth') is None
    note = check_sample_stream(None, dict(STATE), 'w/iter_2.pth')
    assert 'w/iter_2.pth' in note and 'no record' in note and 'batch_size=2' in note
    four_procs = dict(STATE, batch_size=1, world_size=4, samples_per_iter=4)
    with pytest.raises(ResumeMismatchError) as err:
        check_sample_stream(four_procs, dict(STATE), 'w/iter_2.pth')
    msg = str(err.value)
    assert msg.startswith('cannot resume from "w/iter_2.pth"')
    # the saved and the current values of what differs, nothing else
    assert 'trained with batch_size=1, world_size=4, samples_per_iter=4, this run has ' \
        'batch_size=2, world_size=1, samples_per_iter=2' in msg
    assert 'seed=' not in msg
    assert 'dist_train.sh CONFIG N --resume' in msg and 'load_from=w/iter_2.pth' in msg
    with pytest.raises(ResumeMismatchError,
                       match='samples_per_iter=2, dataset_size=15, this run has batch_size'):
        check_sample_stream(dict(STATE, dataset_size=15), dict(STATE), 'c.pth')
    # a key recorded by a later version and unknown now is not compared
    assert check_sample_stream(dict(STATE, extra=1), dict(STATE), 'c.pth') is None


def test_find_resume_checkpoint(tmp_path):
    assert find_resume_checkpoint(str(tmp_path / 'missing')) is None  # a new work dir
    assert find_resume_checkpoint(str(tmp_path)) is None  # an empty one
    (tmp_path / 'iter_2.pth').write_bytes(b'')
    with pytest.raises(NotResumableError) as err:  # a new run would overwrite iter_2.pth
        find_resume_checkpoint(str(tmp_path))
    assert str(tmp_path) in str(err.value) and 'iter_2.pth' in str(err.value)
    assert 'no last_checkpoint' in str(err.value) and '--resume CKPT' in str(err.value)
    (tmp_path / 'last_checkpoint').write_text(str(tmp_path / 'iter_4.pth'))
    with pytest.raises(NotResumableError, match=r'iter_4.pth", which does not exist'):
        find_resume_checkpoint(str(tmp_path))
    (tmp_path / 'last_checkpoint').write_text(str(tmp_path / 'iter_2.pth') + '\n')
    assert find_resume_checkpoint(str(tmp_path)) == str(tmp_path / 'iter_2.pth')


# ---------------------------------------------------------------- tools/train.py, toy runs


@pytest.fixture
def toy_config(tmp_path):
    """The toy config with the resumable iteration loop: 2 iterations at batch 2."""
    path = tmp_path / 'toy_resumable.py'
    path.write_text(f'_base_ = {TOY_CONFIG!r}\n'
                    "train_cfg = dict(type='ResumableIterBasedTrainLoop', max_iters=2)\n"
                    'train_dataloader = dict(batch_size=2)\n')
    return str(path)


def _train(*args):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([ROOT, osp.join(ROOT, 'tests', 'data')]),
               OMP_NUM_THREADS='1')
    return subprocess.run([sys.executable, 'tools/train.py', *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300)


def _log_text(work_dir):
    logs = glob.glob(osp.join(work_dir, '*', '*.log'))
    assert len(logs) == 1, logs
    with open(logs[0]) as f:
        return f.read()


def test_resume_without_checkpoint_starts_a_new_run_with_a_warning(toy_config, tmp_path):
    work_dir = str(tmp_path / 'typo')
    proc = _train(toy_config, '--resume', '--work-dir', work_dir)
    assert proc.returncode == 0, proc.stderr[-3000:]
    log = _log_text(work_dir)
    expected = (f'WARNING - --resume found no checkpoint in the work dir {work_dir}: a NEW run '
                'starts from iteration 0')
    assert expected in log  # in the log file, not only printed
    assert 'Did not find last_checkpoint' not in proc.stdout + proc.stderr
    assert osp.isfile(osp.join(work_dir, 'iter_2.pth'))
    # the same command again (a pre-empted job relaunched) resumes the latest checkpoint
    proc = _train(toy_config, '--resume', '--work-dir', work_dir,
                  '--cfg-options', 'train_cfg.max_iters=4')
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert torch.load(osp.join(work_dir, 'iter_4.pth'), weights_only=False)['meta']['iter'] == 4
    out = proc.stdout + proc.stderr
    assert 'Resuming at iteration 2' in out and 'NEW run' not in out


def test_resume_with_another_batch_size_is_refused(toy_config, tmp_path):
    full = str(tmp_path / 'full')
    proc = _train(toy_config, '--work-dir', full)
    assert proc.returncode == 0, proc.stderr[-3000:]
    ckpt = osp.join(full, 'iter_2.pth')
    record = torch.load(ckpt, weights_only=False)['message_hub']['runtime_info']
    assert record[SAMPLE_STREAM_KEY] == STATE
    proc = _train(toy_config, '--work-dir', str(tmp_path / 'part'), '--resume', ckpt,
                  '--cfg-options', 'train_cfg.max_iters=4', 'train_dataloader.batch_size=1')
    assert proc.returncode == 2 and 'Traceback' not in proc.stderr, proc.stderr[-3000:]
    assert (f'cannot resume from "{ckpt}": it was trained with batch_size=2, world_size=1, '
            'samples_per_iter=2, this run has batch_size=1, world_size=1, samples_per_iter=1'
            in proc.stderr)
    assert not osp.exists(osp.join(tmp_path, 'part', 'iter_4.pth'))

    # a checkpoint written before the record: resumes, with a warning
    old = torch.load(ckpt, weights_only=False)
    del old['message_hub']['runtime_info'][SAMPLE_STREAM_KEY]
    old_ckpt = str(tmp_path / 'old_iter_2.pth')
    torch.save(old, old_ckpt)
    proc = _train(toy_config, '--work-dir', str(tmp_path / 'old'), '--resume', old_ckpt,
                  '--cfg-options', 'train_cfg.max_iters=4')
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert f'WARNING - checkpoint {old_ckpt} has no record' in _log_text(str(tmp_path / 'old'))

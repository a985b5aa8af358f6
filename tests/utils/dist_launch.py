"""Multi-process CPU (gloo) launches of ``tools/dist_train.sh`` for tests."""
import os
import socket
import subprocess
import sys
from typing import Sequence

from .runner_utils import REPO


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def run_dist_train(config, nproc: int, args: Sequence = (), pythonpath: Sequence[str] = (),
                   timeout: int = 600) -> subprocess.CompletedProcess:
    """``bash tools/dist_train.sh CONFIG NPROC ARGS...`` on CPU (``CUDA_VISIBLE_DEVICES=''``, one
    thread per process) with the repository and ``pythonpath`` on ``PYTHONPATH``; the completed
    process, stdout and stderr captured."""
    env = dict(os.environ, PYTHON=sys.executable, PORT=str(free_port()), MASTER_ADDR='127.0.0.1',
               PYTHONPATH=os.pathsep.join([REPO, *map(str, pythonpath)]),
               CUDA_VISIBLE_DEVICES='', OMP_NUM_THREADS='1')
    for name in ('RANK', 'WORLD_SIZE', 'LOCAL_RANK', 'MASTER_PORT'):
        env.pop(name, None)
    cmd = ['bash', 'tools/dist_train.sh', str(config), str(nproc), *map(str, args)]
    return subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=timeout)

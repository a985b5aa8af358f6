"""Helpers for end-to-end tests that run the repository's tools in subprocesses."""
import os
import os.path as osp
import subprocess
import sys
from typing import List

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TINY_CFG_DIR = osp.join(REPO, 'tests', 'data', 'configs')


def run_tool(args: List[str], timeout: int = 600, env=None) -> subprocess.CompletedProcess:
    """Run ``python <args>`` from the repository root; fail with its output on error."""
    # the repository first, then what the caller had (tools/gpu_check.sh's offline packages)
    path = os.pathsep.join(p for p in (REPO, os.environ.get('PYTHONPATH')) if p)
    full_env = dict(os.environ, PYTHONPATH=path, OMP_NUM_THREADS='2')
    full_env.update(env or {})
    proc = subprocess.run([sys.executable, *args], cwd=REPO, env=full_env, text=True,
                          capture_output=True, timeout=timeout)
    if proc.returncode != 0:
        raise AssertionError(f'{" ".join(args)} exited {proc.returncode}\n--- stdout\n'
                             f'{proc.stdout[-6000:]}\n--- stderr\n{proc.stderr[-6000:]}')
    return proc


def seg_data_options(gta5_root: str, cityscapes_root: str, ckpt: str) -> List[str]:
    """--cfg-options pointing a tiny seg config at generated data and weights."""
    return [
        f'train_dataloader.dataset.data_root={gta5_root}',
        f'val_dataloader.dataset.data_root={cityscapes_root}',
        f'test_dataloader.dataset.data_root={cityscapes_root}',
        f'model.backbone.init_cfg.checkpoint={ckpt}',
    ]


def import_tool(relpath: str, module_name: str):
    """Import a tool script (e.g. ``'tools/train.py'``) as a module, with ``tools/`` on the path
    for its ``cli_utils`` import."""
    import importlib.util
    sys.path.insert(0, osp.join(REPO, 'tools'))
    try:
        spec = importlib.util.spec_from_file_location(module_name, osp.join(REPO, relpath))
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module
    finally:
        sys.path.pop(0)

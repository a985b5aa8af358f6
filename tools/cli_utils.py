"""Command-line helpers shared by ``tools/train.py``, ``tools/test.py`` and the analysis tools.

Light on purpose: importing this module imports neither torch nor csg_mm, so the tools can
reject a bad command line before their slow imports.
"""
import os
import os.path as osp
import sys
import tempfile
from typing import Optional


class CLIError(Exception):
    """Bad command-line input, reported as one line on stderr without a traceback."""


def load_config(path: str, cfg_options: Optional[dict] = None):
    """The config at ``path`` with ``cfg_options`` merged; any failure becomes a
    :class:`CLIError` naming the file."""
    from mmengine.config import Config

    if not osp.isfile(path):
        raise CLIError(f'config file not found: {path}')
    try:
        cfg = Config.fromfile(path)
        if cfg_options:
            cfg.merge_from_dict(cfg_options)
    except Exception as exc:  # any config error becomes one message
        raise CLIError(f'cannot load config {path}: {type(exc).__name__}: {exc}') from None
    return cfg


def ensure_writable_dir(path: str, what: str = 'work dir') -> str:
    """Create ``path`` if needed and check that files can be written in it."""
    try:
        os.makedirs(path, exist_ok=True)
        with tempfile.TemporaryFile(dir=path):
            pass
    except OSError as exc:
        raise CLIError(f'{what} {path} cannot be created or written: '
                       f'{exc.strerror or exc}') from None
    return path


def fail(prog: str, message: str) -> int:
    """Print ``prog: error: message`` on stderr; the exit code of a bad command line (2)."""
    print(f'{prog}: error: {message}', file=sys.stderr)
    return 2


def add_conversion_arguments(parser) -> None:
    """``--nproc`` and ``--on-mismatch``, shared by the label converters in
    ``tools/dataset_converters/`` (logic: ``csg_mm/datasets/converters/``)."""
    parser.add_argument('--nproc', default=1, type=int, help='number of processes')
    parser.add_argument(
        '--on-mismatch',
        choices=['resize', 'skip'],
        default='resize',
        help='image/label size mismatch: resize the label to the image (nearest neighbour) '
        'or exclude the frame (default: resize)')


def wait_for_all_ranks() -> None:
    """Barrier after a successful run, before teardown: no rank closes its connections while a
    peer still finishes its last collective (a gloo peer that loses its connection aborts with
    SIGABRT)."""
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        dist.barrier()


def destroy_process_group() -> None:
    """Tear down torch.distributed if a launcher started it."""
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()

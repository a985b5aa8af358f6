"""Safe checkpoint loading for mmengine 0.10.x on any torch.

mmengine 0.10.7 calls ``torch.load`` without ``weights_only``. On torch >= 2.6 that means
``weights_only=True``, so the runner's own checkpoints (``HistoryBuffer`` and numpy objects in the
message hub) fail to load for ``tools/test.py`` and ``--resume``; on torch < 2.6 it means
``weights_only=False``, so any weights file can run code when it is loaded. Worse, mmengine's URL
loaders go through ``torch.hub.load_state_dict_from_url``, whose ``weights_only`` defaults to
``False`` even on torch 2.14.

:func:`register_safe_checkpoint_loading` keeps every load on the ``weights_only=True`` path:

* it allow-lists exactly the extra types a runner checkpoint holds (:data:`RUNNER_SAFE_GLOBALS`),
* it replaces mmengine's local-file loader and its ``http(s)://`` loader (which the
  ``open-mmlab://``, ``torchvision://`` and ``mmcls://`` loaders call) with loaders that pass
  ``weights_only=True`` explicitly, and
* a refused file raises :class:`UnsafeCheckpointError`, naming the file, what was refused and what
  to do about it.

Setting the environment variable ``CSG_MM_TRUST_CHECKPOINTS=1`` loads files with
``weights_only=False`` instead (only for files from a source you trust).
"""
import inspect
import os
import os.path as osp
import pickle
import re
import warnings
from typing import Any, Callable, List, Optional, Tuple, Union

import torch

TRUST_ENV_VAR = 'CSG_MM_TRUST_CHECKPOINTS'

_SafeGlobal = Union[Callable, Tuple[Callable, str]]
_REGISTERED = False


class UnsafeCheckpointError(pickle.UnpicklingError):
    """A checkpoint holds objects that the weights-only unpickler refused to build."""


def _numpy_safe_globals() -> List[_SafeGlobal]:
    """Numpy globals needed to unpickle arrays, scalars and dtypes.

    Arrays pickle as ``_reconstruct(ndarray, shape, dtype)`` plus state, scalars as
    ``scalar(dtype, bytes)``, dtypes as ``numpy.dtype(code, False, True)`` plus state, which the
    unpickler only applies to allow-listed classes: the concrete dtype classes
    (``numpy.dtypes.Float64DType`` ...) of every type code except object (``O``) and void (``V``),
    so object and structured arrays stay refused. The two functions are registered under their
    numpy 2 path (``numpy._core.multiarray``) and their numpy 1 path (``numpy.core.multiarray``)
    so that checkpoints written with either numpy load.
    """
    import numpy as np

    core = getattr(np, '_core', None) or np.core
    safe: List[_SafeGlobal] = [np.ndarray, np.dtype]
    for name in ('_reconstruct', 'scalar'):
        fn = getattr(core.multiarray, name)
        for module in ('numpy._core.multiarray', 'numpy.core.multiarray'):
            safe.append((fn, f'{module}.{name}'))
    dtype_classes = {type(np.dtype(code)) for code in np.typecodes['All'] if code not in 'OV'}
    safe.extend(sorted(dtype_classes, key=lambda cls: cls.__name__))
    return safe


def _history_buffer_getattr(obj: Any, name: str) -> Any:
    """``getattr`` restricted to the statistics methods of mmengine's ``HistoryBuffer``.

    ``HistoryBuffer.__getstate__`` stores its ``_statistics_methods`` (``HistoryBuffer.min`` and
    so on); pickle protocol 2 writes such a method as ``builtins.getattr(HistoryBuffer, 'min')``.
    A general ``getattr`` would let a file walk to arbitrary callables, so this stand-in is
    registered under the name ``builtins.getattr`` and allows only that case.
    """
    from mmengine.logging.history_buffer import HistoryBuffer

    if (obj is HistoryBuffer and isinstance(name, str) and not name.startswith('_')
            and inspect.isfunction(vars(HistoryBuffer).get(name))):
        return getattr(obj, name)
    raise pickle.UnpicklingError(
        f'builtins.getattr({getattr(obj, "__qualname__", type(obj).__name__)}, {name!r}) is not '
        'allowed (only statistics methods of mmengine HistoryBuffer are)')


def runner_safe_globals() -> List[_SafeGlobal]:
    """The non-torch globals found in checkpoints that mmengine's ``Runner`` writes.

    Measured on mmengine 0.10.7 / numpy 2.4 / torch 2.14 (``get_unsafe_globals_in_checkpoint`` of
    a runner checkpoint): ``HistoryBuffer``, ``builtins.getattr`` (HistoryBuffer methods),
    ``numpy._core.multiarray._reconstruct``, ``numpy._core.multiarray.scalar``,
    ``numpy.ndarray``, ``numpy.dtype`` and the dtype classes (``numpy.dtypes.Float64DType``...).
    """
    from mmengine.logging.history_buffer import HistoryBuffer

    return ([HistoryBuffer, (_history_buffer_getattr, 'builtins.getattr')] +
            _numpy_safe_globals())


def _trusted() -> bool:
    return os.environ.get(TRUST_ENV_VAR, '').strip().lower() in ('1', 'true', 'yes', 'y')


def _refused_part(message: str) -> str:
    """Pull the refused global (or the unpickler's own reason) out of torch's message."""
    message = re.sub(r'\x1b\[[0-9;]*m', '', message)
    match = re.search(r'GLOBAL (\S+) was not an allowed global', message)
    if match:
        name = match.group(1)
        name = name if '.' in name else f'builtins.{name}'  # torch strips "builtins."
        return f'the global `{name}`, which is not on the allow-list'
    marker = 'WeightsUnpickler error:'
    if marker in message:
        lines = message[message.rindex(marker) + len(marker):].strip().splitlines()
        if lines and lines[0].strip():
            return f'it ({lines[0].strip()})'
    lines = [line.strip() for line in message.splitlines() if line.strip()]
    return f'it ({lines[0] if lines else "no detail"})'


def unsafe_checkpoint_message(filename: str, reason: str) -> str:
    """The message of :class:`UnsafeCheckpointError` for ``filename``."""
    return (
        f'Refused to load checkpoint "{filename}": the weights-only unpickler refused '
        f'{_refused_part(reason)}. csg_mm loads checkpoints with torch.load(weights_only=True) so '
        'that loading a file cannot run code. If the file comes from a source you trust, re-save '
        "its weights as a plain state dict (torch.save({'state_dict': state_dict}, path)), allow "
        'the type with torch.serialization.add_safe_globals([...]) in a module listed in '
        f'custom_imports, or set {TRUST_ENV_VAR}=1 to load it with weights_only=False.')


def safe_torch_load(file: Any,
                    map_location: Any = None,
                    name: Optional[str] = None,
                    mmap: bool = False) -> Any:
    """``torch.load(file, weights_only=True)`` with runner types allowed and a clear error.

    Args:
        file: A path or a file-like object, as for :func:`torch.load`.
        map_location: Same as for :func:`torch.load`.
        name: How to name the file in an error message; defaults to ``file``.
        mmap: Memory-map the tensors (zip-format files only), as for :func:`torch.load`.

    Raises:
        UnsafeCheckpointError: The file holds objects outside the allow-list.
    """
    register_safe_checkpoint_loading()
    if _trusted():
        warnings.warn(f'{TRUST_ENV_VAR} is set: loading {name or file} with weights_only=False',
                      stacklevel=2)
        return torch.load(file, map_location=map_location, weights_only=False, mmap=mmap)
    try:
        return torch.load(file, map_location=map_location, weights_only=True, mmap=mmap)
    except pickle.UnpicklingError as exc:
        if isinstance(exc, UnsafeCheckpointError):
            raise
        raise UnsafeCheckpointError(
            unsafe_checkpoint_message(str(name or file), str(exc))) from None


def load_from_local(filename: str, map_location: Any = None) -> Any:
    """Safe replacement for mmengine's ``load_from_local`` (registered for local paths)."""
    filename = osp.expanduser(filename)
    if not osp.isfile(filename):
        raise FileNotFoundError(f'{filename} can not be found.')
    return safe_torch_load(filename, map_location=map_location, name=filename)


def load_from_http(filename: str,
                   map_location: Any = None,
                   model_dir: Optional[str] = None,
                   progress: bool = os.isatty(0)) -> Any:
    """Safe replacement for mmengine's ``load_from_http``: rank 0 downloads first, then all load."""
    from mmengine.dist import get_dist_info
    from torch.hub import load_state_dict_from_url

    def _load():
        if _trusted():
            return load_state_dict_from_url(
                filename, model_dir=model_dir, map_location=map_location, progress=progress,
                weights_only=False)
        try:
            return load_state_dict_from_url(
                filename, model_dir=model_dir, map_location=map_location, progress=progress,
                weights_only=True)
        except pickle.UnpicklingError as exc:
            raise UnsafeCheckpointError(unsafe_checkpoint_message(filename, str(exc))) from None

    rank, world_size = get_dist_info()
    if rank == 0:
        checkpoint = _load()
    if world_size > 1:
        torch.distributed.barrier()
        if rank > 0:
            checkpoint = _load()
    return checkpoint


def register_safe_checkpoint_loading() -> None:
    """Allow-list runner types and install the safe mmengine loaders (idempotent)."""
    global _REGISTERED
    if _REGISTERED:
        return
    from mmengine.runner import checkpoint as mm_ckpt

    add_safe_globals = getattr(torch.serialization, 'add_safe_globals', None)
    if add_safe_globals is not None:  # torch >= 2.4; older torch cannot allow-list
        add_safe_globals(runner_safe_globals())
    # mmengine logs the loader by its __name__ ("load_from_<backend>"), hence the plain names.
    mm_ckpt.CheckpointLoader.register_scheme(prefixes='', loader=load_from_local, force=True)
    mm_ckpt.CheckpointLoader.register_scheme(
        prefixes=('http://', 'https://'), loader=load_from_http, force=True)
    # The open-mmlab://, torchvision:// and mmcls:// loaders call this module-level name.
    mm_ckpt.load_from_http = load_from_http
    _REGISTERED = True


class NotResumableError(ValueError):
    """A checkpoint lacks what ``Runner.resume`` needs (e.g. a weights-only file)."""


# what mmengine 0.10.7's Runner.resume reads (runner.py: meta.epoch / meta.iter, message_hub,
# the model state, the optimizer and the parameter schedulers)
RESUME_KEYS = ('state_dict', 'meta', 'message_hub', 'optimizer')
RESUME_META_KEYS = ('epoch', 'iter')


def _load_for_inspection(filename: str) -> Any:
    """Load ``filename`` on CPU, memory-mapped when the format allows (cheap for large files)."""
    try:
        return safe_torch_load(filename, map_location='cpu', name=filename, mmap=True)
    except RuntimeError as exc:  # legacy (non-zip) format: mmap unsupported
        if 'mmap' not in str(exc):
            raise
        return safe_torch_load(filename, map_location='cpu', name=filename)


def check_resumable(filename: str, need_param_schedulers: bool = False) -> None:
    """Check that ``filename`` is a checkpoint a training run can resume from.

    Args:
        filename (str): Local path (remote URLs are not checked).
        need_param_schedulers (bool): Also require ``param_schedulers`` (the run has
            parameter schedulers). Defaults to False.

    Raises:
        FileNotFoundError: No such file.
        NotResumableError: The file lacks any of ``state_dict``, ``meta`` (with ``epoch`` and
            ``iter``), ``message_hub``, ``optimizer`` (or ``param_schedulers``); the message
            names the file, what it lacks, and says to use ``load_from`` for weights-only files.
    """
    if '://' in str(filename):
        return
    filename = osp.expanduser(str(filename))
    if not osp.isfile(filename):
        raise FileNotFoundError(f'resume checkpoint not found: {filename}')
    ckpt = _load_for_inspection(filename)
    keys = RESUME_KEYS + (('param_schedulers', ) if need_param_schedulers else ())
    if not isinstance(ckpt, dict):
        missing = [f"'{key}'" for key in keys]
        kind = f'a {type(ckpt).__name__}, not a runner checkpoint'
    else:
        missing = [f"'{key}'" for key in keys if key not in ckpt]
        meta = ckpt.get('meta')
        if isinstance(meta, dict):
            missing += [f"'meta.{key}'" for key in RESUME_META_KEYS if key not in meta]
        if ckpt and all(isinstance(v, torch.Tensor) for v in ckpt.values()):
            kind = 'a bare state dict (weights only)'
        else:
            kind = ('a weights-only file (such as tools/model_converters/strip_csg.py writes)'
                    if 'optimizer' not in ckpt else 'an incomplete runner checkpoint')
    if missing:
        raise NotResumableError(
            f'cannot resume from "{filename}": it lacks {", ".join(missing)}, which resuming a '
            f'run needs; it is {kind}. Resume from a checkpoint the training run wrote '
            '(WORK_DIR/iter_N.pth or epoch_N.pth), or start a NEW run from these weights with '
            f'load_from (tools/train.py CONFIG --cfg-options load_from={filename}).')


class ResumeMismatchError(NotResumableError):
    """The resumed run would not continue the checkpoint's sample stream (another batch size,
    number of processes, seed or dataset length than when the checkpoint was written)."""


# mmengine 0.10.7's CheckpointHook writes the path of the newest checkpoint to this file of the
# work dir; its Runner resumes that file for ``resume=True`` without ``load_from``
LAST_CHECKPOINT_FILE = 'last_checkpoint'


def find_resume_checkpoint(work_dir: str) -> Optional[str]:
    """The checkpoint that resuming without a path (``tools/train.py CONFIG --resume``) resumes.

    Args:
        work_dir (str): The run's work dir.

    Returns:
        str or None: The path in ``WORK_DIR/last_checkpoint`` (as mmengine's
        ``find_latest_checkpoint``), or None when the work dir holds no checkpoint at all (a new
        run: the first launch of an auto-resumed job, or a mistyped work dir).

    Raises:
        NotResumableError: ``last_checkpoint`` names a file that does not exist, or the work dir
            holds ``*.pth`` files but no ``last_checkpoint`` (mmengine would start a new run and
            overwrite them).
    """
    record = osp.join(work_dir, LAST_CHECKPOINT_FILE)
    if osp.isfile(record):
        with open(record) as f:
            latest = f.read().strip()
        if '://' not in latest and not osp.isfile(latest):
            raise NotResumableError(
                f'cannot resume: {record} names the checkpoint "{latest}", which does not exist '
                '(was the work dir moved?); resume a given file with --resume CKPT')
        return latest
    found = sorted(f for f in os.listdir(work_dir) if f.endswith('.pth')) \
        if osp.isdir(work_dir) else []
    if found:
        raise NotResumableError(
            f'cannot resume: the work dir {work_dir} holds checkpoints ({", ".join(found[:5])}'
            f'{", ..." if len(found) > 5 else ""}) but no {LAST_CHECKPOINT_FILE} file naming the '
            'latest one, and a new run would overwrite them; resume one of them with '
            '--resume CKPT, or start a new run in another work dir')
    return None


def new_run_message(work_dir: str, load_from: Optional[str] = None) -> str:
    """The warning logged when resuming finds no checkpoint in ``work_dir`` (see
    :func:`find_resume_checkpoint`) and a NEW run starts."""
    init = f'initialised from load_from={load_from}' if load_from else 'as the config says'
    return (f'--resume found no checkpoint in the work dir {osp.abspath(work_dir)}: a NEW run '
            f'starts from iteration 0 ({init}). Expected on the first launch of an '
            'auto-resumed job; otherwise check --work-dir (or give the checkpoint: '
            '--resume CKPT).')

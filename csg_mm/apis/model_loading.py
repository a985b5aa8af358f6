# Copyright (c) csg_mm contributors. All rights reserved.
"""Build a config's model for analysis and load a checkpoint's weights into it, with the
backbone checked key by key (``tools/analysis_tools/feature_diversity.py`` and
``visualize_attention.py``).

A checkpoint is a runner checkpoint (``{'state_dict': ...}``), a model state dict, or a bare
backbone state dict (keys without the ``backbone.`` prefix, e.g. ImageNet weights). Its BACKBONE
must match the model exactly (every key present, no extra ``backbone.*`` keys, same shapes),
otherwise :class:`ModelLoadingError` names the checkpoint and the first offending keys; other
parts (decode head, CSG regulariser) that are missing or of another shape are skipped with a
note.
"""
import os.path as osp
from typing import Dict, List, Sequence

MAX_LISTED_KEYS = 5


class ModelLoadingError(ValueError):
    """A config or checkpoint that cannot be used; the message names the file or keys and says
    what to do."""


def task_of(cfg) -> str:
    """``'seg'`` (mmseg) or ``'cls'`` (mmpretrain), from the config's default scope."""
    scope = cfg.get('default_scope')
    if scope == 'mmseg':
        return 'seg'
    if scope == 'mmpretrain':
        return 'cls'
    raise ModelLoadingError(f'the config\'s default_scope is {scope!r}: only mmseg and '
                            'mmpretrain configs are supported')


def build_runner(cfg, work_dir: str):
    """The config's runner (``runner_type``, e.g. CSGRunner, or mmengine's Runner), built quietly
    in ``work_dir`` and without loading any checkpoint; its model is in eval mode."""
    from mmengine.registry import RUNNERS, init_default_scope
    from mmengine.runner import Runner

    cfg = cfg.copy()
    cfg.work_dir = work_dir
    cfg.load_from = None
    cfg.resume = False
    cfg.launcher = 'none'
    cfg.log_level = 'WARNING'
    if cfg.get('default_scope'):
        init_default_scope(cfg.default_scope)
    try:
        runner = Runner.from_cfg(cfg) if 'runner_type' not in cfg else RUNNERS.build(cfg)
    except Exception as exc:
        raise ModelLoadingError(f'cannot build the model of the config: '
                                f'{type(exc).__name__}: {exc}') from None
    runner.model.eval()
    return runner


def unwrap(model):
    from mmengine.model import is_model_wrapper
    return model.module if is_model_wrapper(model) else model


def _first(keys: Sequence[str]) -> str:
    listed = ', '.join(keys[:MAX_LISTED_KEYS])
    more = f', ... ({len(keys)} in all)' if len(keys) > MAX_LISTED_KEYS else ''
    return listed + more


def read_state_dict(ckpt_path: str) -> Dict:
    """The state dict of a checkpoint file (runner checkpoint or plain), ``module.`` stripped."""
    import torch
    from mmengine.runner.checkpoint import _load_checkpoint

    if '://' not in ckpt_path and not osp.isfile(osp.expanduser(ckpt_path)):
        raise ModelLoadingError(f'checkpoint not found: {ckpt_path}')
    try:
        ckpt = _load_checkpoint(ckpt_path, map_location='cpu')
    except Exception as exc:
        raise ModelLoadingError(f'cannot load checkpoint {ckpt_path}: '
                                f'{type(exc).__name__}: {exc}') from None
    state = ckpt.get('state_dict', ckpt) if isinstance(ckpt, dict) else None
    if not isinstance(state, dict) or not state or not all(
            isinstance(v, torch.Tensor) for v in state.values()):
        raise ModelLoadingError(f'checkpoint {ckpt_path} holds no state dict of tensors '
                                "(expected {'state_dict': {...}} or a plain {name: tensor} "
                                'dict)')
    return {(k[len('module.'):] if k.startswith('module.') else k): v for k, v in state.items()}


def load_weights(model, ckpt_path: str) -> List[str]:
    """Load ``ckpt_path`` into ``model``; the backbone must match exactly (else
    :class:`ModelLoadingError`). Returns notes about skipped non-backbone keys."""
    state = read_state_dict(ckpt_path)
    own = model.state_dict()
    prefix = 'backbone.'
    backbone_keys = [k for k in own if k.startswith(prefix)]
    if not backbone_keys:
        raise ModelLoadingError(f'the model {type(model).__name__} has no `backbone`')
    notes = []
    if not any(k.startswith(prefix) for k in state) and any(prefix + k in own for k in state):
        extra = [k for k in state if prefix + k not in own]  # e.g. torchvision's fc.*
        state = {prefix + k: v for k, v in state.items() if prefix + k in own}
        notes.append('a bare backbone state dict: only the backbone was loaded' +
                     (f'; {len(extra)} key(s) that are not the backbone\'s ignored: '
                      f'{_first(extra)}' if extra else ''))
    missing = [k for k in backbone_keys if k not in state]
    unexpected = [k for k in state if k.startswith(prefix) and k not in own]
    mismatched = [
        f'{k} (checkpoint {tuple(state[k].shape)}, model {tuple(own[k].shape)})'
        for k in backbone_keys if k in state and state[k].shape != own[k].shape
    ]
    if missing or unexpected or mismatched:
        parts = []
        if mismatched:
            parts.append(f'{len(mismatched)} key(s) of another shape: {_first(mismatched)}')
        if missing:
            parts.append(f'{len(missing)} key(s) missing: {_first(missing)}')
        if unexpected:
            parts.append(f'{len(unexpected)} unexpected key(s): {_first(unexpected)}')
        raise ModelLoadingError(
            f'checkpoint {ckpt_path} does not match the backbone of the config '
            f'({type(model.backbone).__name__}): ' + '; '.join(parts) +
            '. Was it trained with this config (same depth and widths)?')
    loadable = {k: v for k, v in state.items() if k in own and v.shape == own[k].shape}
    skipped_shape = [k for k in state if k in own and state[k].shape != own[k].shape]
    absent = [k for k in own if k not in state and not k.startswith(prefix)]
    if skipped_shape:
        notes.append(f'{len(skipped_shape)} non-backbone key(s) of another shape kept from the '
                     f'config: {_first(skipped_shape)}')
    if absent and not notes:
        notes.append(f'{len(absent)} non-backbone key(s) not in the checkpoint kept from the '
                     f'config (e.g. {_first(absent)})')
    model.load_state_dict(loadable, strict=False)
    return notes


def restore(model, state: Dict) -> None:
    """Put back a copy of the weights the model was built with (before the next checkpoint)."""
    model.load_state_dict(state, strict=True)


__all__ = ['ModelLoadingError', 'task_of', 'build_runner', 'unwrap', 'read_state_dict',
           'load_weights', 'restore']

"""Momentum (EMA) update of CSG's key projection heads."""
import logging
from typing import List, Optional

from mmengine.hooks import Hook
from mmengine.logging import print_log
from mmengine.model import is_model_wrapper
from mmengine.registry import HOOKS

from ...models.csg import CSGProjectionNeck


class CSGNotBuiltError(RuntimeError):
    """A config asks for CSG but the model that was built has no CSG regulariser."""


def no_csg_message(runner, model) -> str:
    """Why a run that asks for CSG (``CSGMomentumHook`` in ``custom_hooks``) has a model without
    it, and how to build it correctly."""
    cfg = getattr(runner, 'cfg', None) or {}
    model_name = type(model).__name__
    if cfg.get('csg') is not None or cfg.get('runner_type') is not None:
        return (
            f'the config asks for CSG (the CSG mixin: `csg`, runner_type='
            f'{cfg.get("runner_type")!r}), but the {type(runner).__name__} built a plain '
            f'{model_name}, which would train WITHOUT CSG. mmengine\'s Runner.from_cfg(cfg) and '
            'Runner(...) ignore runner_type; the mixin is applied by CSGRunner. Build the runner '
            'with mmengine.registry.RUNNERS.build(cfg) or `python tools/train.py CONFIG`, or call '
            'cfg = csg_mm.engine.apply_csg_mixin(cfg) before Runner.from_cfg(cfg).')
    return (f'custom_hooks has CSGMomentumHook, so the config asks for CSG, but the model '
            f'({model_name}) has no CSG regularizer (no CSGProjectionNeck) and would train '
            'WITHOUT CSG. Give the model regularizer=dict(type=\'CSGRegularizer\', ...) (see '
            'configs/_base_/csg/), or remove CSGMomentumHook from custom_hooks to train without '
            'CSG.')


def _frozen_in_optimizer(optim_wrapper) -> int:
    """Number of parameters with ``requires_grad=False`` in the optimizer(s)."""
    wrappers = getattr(optim_wrapper, 'optim_wrappers', None)
    wrappers = wrappers.values() if wrappers is not None else [optim_wrapper]
    return sum(not p.requires_grad for w in wrappers
               for group in getattr(getattr(w, 'optimizer', None), 'param_groups', [])
               for p in group['params'])


@HOOKS.register_module()
class CSGMomentumHook(Hook):
    """Update every :class:`CSGProjectionNeck`'s key projections ``h~`` from its query
    projections ``h`` once per training iteration, BEFORE the iteration computes its keys
    (Chen et al., ICLR 2021, Sec. 3.2)::

        h~ <- (1 - momentum) * h~ + momentum * h      (the first update copies h)

    mmengine's ``EMAHook`` averages the whole model, which is not what CSG needs. Works with
    DDP-wrapped models. ``momentum`` follows mmengine's convention (paper ``m = 0.999`` is
    ``0.001``); None keeps each neck's own ``momentum``.

    The hook is what marks a config as a CSG one (the CSG bases add it), so before training it
    checks that the model really has CSG: a CSG mixin config built by a runner that ignores
    ``runner_type`` (``mmengine.runner.Runner.from_cfg``) gives a plain model, and training it
    would silently drop CSG. It also warns if the optimizer holds frozen parameters.

    Args:
        momentum (float, optional): overrides the necks' momentum. Defaults to None.

    Raises:
        CSGNotBuiltError: in ``before_train``, when the model has no :class:`CSGProjectionNeck`;
            the message says how to build the CSG model.
    """

    priority = 'HIGH'

    def __init__(self, momentum: Optional[float] = None) -> None:
        if momentum is not None and not 0.0 < momentum < 1.0:
            raise ValueError(f'CSGMomentumHook momentum must be in (0, 1), got {momentum}')
        self.momentum = momentum
        self._necks: List[CSGProjectionNeck] = []

    def before_train(self, runner) -> None:
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        self._necks = [m for m in model.modules() if isinstance(m, CSGProjectionNeck)]
        if not self._necks:
            raise CSGNotBuiltError(no_csg_message(runner, model))
        frozen = _frozen_in_optimizer(getattr(runner, 'optim_wrapper', None))
        if frozen:
            print_log(
                f'CSGMomentumHook: the optimizer holds {frozen} frozen parameters (teacher, key '
                'projections, frozen norms); they do not move, but set optim_wrapper.constructor='
                '\'TrainableOptimWrapperConstructor\' to leave them out', logger='current',
                level=logging.WARNING)

    def before_train_iter(self, runner, batch_idx: int, data_batch=None) -> None:
        for neck in self._necks:
            neck.momentum_update(self.momentum)

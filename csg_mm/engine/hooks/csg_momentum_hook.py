"""Momentum (EMA) update of CSG's key projection heads."""
from typing import List, Optional

from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmengine.registry import HOOKS

from ...models.csg import CSGProjectionNeck


@HOOKS.register_module()
class CSGMomentumHook(Hook):
    """Update every :class:`CSGProjectionNeck`'s key projections ``h~`` from its query
    projections ``h`` once per training iteration, BEFORE the iteration computes its keys
    (Chen et al., ICLR 2021, Sec. 3.2)::

        h~ <- (1 - momentum) * h~ + momentum * h      (the first update copies h)

    mmengine's ``EMAHook`` averages the whole model, which is not what CSG needs. Works with
    DDP-wrapped models. ``momentum`` follows mmengine's convention (paper ``m = 0.999`` is
    ``0.001``); None keeps each neck's own ``momentum``.

    Args:
        momentum (float, optional): overrides the necks' momentum. Defaults to None.
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
            runner.logger.warning('CSGMomentumHook: the model has no CSGProjectionNeck; '
                                  'the hook does nothing')

    def before_train_iter(self, runner, batch_idx: int, data_batch=None) -> None:
        for neck in self._necks:
            neck.momentum_update(self.momentum)

"""Optimizer-wrapper constructor that gives the optimizer only the trainable parameters."""
import logging
from collections import Counter
from typing import Iterator

from mmengine.logging import MMLogger, print_log
from mmengine.model import is_model_wrapper
from mmengine.optim import DefaultOptimWrapperConstructor, OptimWrapper
from mmengine.registry import OPTIM_WRAPPER_CONSTRUCTORS
from torch import nn


class _DropFrozenSkipWarnings(logging.Filter):
    """Drops ``DefaultOptimWrapperConstructor.add_params``'s per-parameter warning
    ``<name> is skipped since its requires_grad=False``."""

    def filter(self, record: logging.LogRecord) -> bool:
        return 'is skipped since its requires_grad=False' not in record.getMessage()


class _TrainableParameters:
    """The part of a model that :class:`DefaultOptimWrapperConstructor` reads when there is no
    ``paramwise_cfg``: ``parameters()``, here restricted to ``requires_grad=True``."""

    def __init__(self, model: nn.Module) -> None:
        self._model = model

    def parameters(self) -> Iterator[nn.Parameter]:
        return (p for p in self._model.parameters() if p.requires_grad)


@OPTIM_WRAPPER_CONSTRUCTORS.register_module()
class TrainableOptimWrapperConstructor(DefaultOptimWrapperConstructor):
    """mmengine's :class:`DefaultOptimWrapperConstructor` whose optimizer holds exactly the
    parameters with ``requires_grad=True``.

    Without ``paramwise_cfg`` the default constructor hands ``model.parameters()`` -- frozen ones
    included -- to the optimizer. In a CSG model those are the frozen ImageNet teacher
    (``regularizer.teacher``), the momentum (EMA) key projections (``regularizer.neck.key_projs``)
    and frozen BN affine parameters: they never get gradients, so they never move, but they do not
    belong in the optimizer's parameter groups. With ``paramwise_cfg`` this constructor is the
    default one (mmengine already skips frozen parameters there, with one warning per parameter,
    which this one replaces by a single line). One log line counts what was left out, by
    top-level module.

    Use it with ``optim_wrapper = dict(constructor='TrainableOptimWrapperConstructor', ...)``;
    :func:`csg_mm.engine.apply_csg_mixin` sets it on configs that use the default constructor.
    Other constructors of mmseg / mmpretrain (layer-wise learning-rate decay) take
    ``paramwise_cfg`` and skip frozen parameters themselves.

    Args:
        optim_wrapper_cfg (dict): as for :class:`DefaultOptimWrapperConstructor`.
        paramwise_cfg (dict, optional): as for :class:`DefaultOptimWrapperConstructor`.
    """

    def __call__(self, model: nn.Module) -> OptimWrapper:
        if is_model_wrapper(model) or hasattr(model, 'module'):
            model = model.module
        frozen = Counter(
            name.split('.')[0] for name, p in model.named_parameters() if not p.requires_grad)
        if frozen:
            where = ', '.join(f'{prefix} ({num})' for prefix, num in sorted(frozen.items()))
            print_log(
                f'{type(self).__name__}: {sum(frozen.values())} frozen parameters '
                f'(requires_grad=False) are not in the optimizer: {where}',
                logger='current', level=logging.INFO)
        if not self.paramwise_cfg:
            return super().__call__(_TrainableParameters(model))
        # mmengine's add_params leaves frozen parameters out with one warning EACH (hundreds for
        # a ResNet-101 teacher); the line above counts them once instead
        logger = MMLogger.get_current_instance()
        quiet = _DropFrozenSkipWarnings()
        logger.addFilter(quiet)
        try:
            return super().__call__(model)
        finally:
            logger.removeFilter(quiet)

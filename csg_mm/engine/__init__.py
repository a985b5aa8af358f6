from .hooks import CSGMomentumHook, ProtocolRecordHook
from .optimizers import TrainableOptimWrapperConstructor
from .runner import CSGRunner, apply_csg_mixin

__all__ = [
    'CSGMomentumHook', 'CSGRunner', 'ProtocolRecordHook', 'TrainableOptimWrapperConstructor',
    'apply_csg_mixin'
]

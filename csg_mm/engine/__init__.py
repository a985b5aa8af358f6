from .hooks import CSGMomentumHook
from .runner import CSGRunner, apply_csg_mixin

__all__ = ['CSGMomentumHook', 'CSGRunner', 'apply_csg_mixin']

from .csg_runner import CSGRunner, apply_csg_mixin

__all__ = ['CSGRunner', 'apply_csg_mixin']

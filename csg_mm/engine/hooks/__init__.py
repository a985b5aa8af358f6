from .csg_momentum_hook import CSGMomentumHook

__all__ = ['CSGMomentumHook']

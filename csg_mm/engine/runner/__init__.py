from .csg_runner import CSGRunner, apply_csg_mixin
from .resumable_loops import ResumableEpochBasedTrainLoop, ResumableIterBasedTrainLoop

__all__ = [
    'CSGRunner', 'ResumableEpochBasedTrainLoop', 'ResumableIterBasedTrainLoop', 'apply_csg_mixin'
]

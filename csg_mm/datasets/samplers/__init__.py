from .resumable_default_sampler import ResumableDefaultSampler
from .resumable_infinite_sampler import ResumableInfiniteSampler

__all__ = ['ResumableDefaultSampler', 'ResumableInfiniteSampler']

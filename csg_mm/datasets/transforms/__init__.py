from .formatting import PackCSGSegInputs

__all__ = ['PackCSGSegInputs']

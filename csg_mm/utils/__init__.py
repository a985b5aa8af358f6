from .checkpoint import register_safe_checkpoint_loading
from .compat import patch_mmcv_adjust_hue

__all__ = ['register_safe_checkpoint_loading', 'patch_mmcv_adjust_hue']

"""csg_mm: Contrastive Syn-to-Real Generalization (Chen et al., ICLR 2021) for MMSegmentation and
MMPretrain.

Importing the package registers every component with the stock OpenMMLab registries (the shared
CSG core in mmengine's root registries, task components in mmseg's / mmpretrain's), so configs
only need ``custom_imports = dict(imports=['csg_mm'], allow_failed_imports=False)``.
"""
from .utils import patch_mmcv_adjust_hue, register_safe_checkpoint_loading

register_safe_checkpoint_loading()
patch_mmcv_adjust_hue()

from . import datasets, engine, evaluation, models  # noqa: E402,F401

__version__ = '0.1.0'

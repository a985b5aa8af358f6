"""The CSG core shared by the segmentation and classification models."""
from .contrastive_head import CSGContrastiveHead
from .csg_regularizer import BaseSyn2RealRegularizer, CSGRegularizer, build_regularizer, split_views
from .l2_regularizers import FeatureL2Regularizer, L2SPRegularizer
from .pooling import CSGPooling, apool, apool_attention, gap_pool, grid_patch_ids
from .projection_neck import CSGProjectionNeck
from .teacher import FrozenTeacher

__all__ = [
    'CSGContrastiveHead', 'BaseSyn2RealRegularizer', 'CSGRegularizer', 'FeatureL2Regularizer',
    'L2SPRegularizer', 'CSGPooling', 'apool', 'apool_attention', 'gap_pool', 'grid_patch_ids',
    'CSGProjectionNeck', 'FrozenTeacher', 'build_regularizer', 'split_views'
]

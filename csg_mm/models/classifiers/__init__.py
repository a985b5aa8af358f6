from .average_cls_score_tta import CSGAverageClsScoreTTA
from .csg_image_classifier import CSGImageClassifier

__all__ = ['CSGAverageClsScoreTTA', 'CSGImageClassifier']

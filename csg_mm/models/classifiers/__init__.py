from .csg_image_classifier import CSGImageClassifier

__all__ = ['CSGImageClassifier']

from .class_subset_iou_metric import ClassSubsetIoUMetric
from .hyperspherical_energy import HypersphericalEnergyMetric
from .visda_metric import VisDAMetric

__all__ = ['ClassSubsetIoUMetric', 'HypersphericalEnergyMetric', 'VisDAMetric']

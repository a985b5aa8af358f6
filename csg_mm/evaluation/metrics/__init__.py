from .hyperspherical_energy import HypersphericalEnergyMetric
from .visda_metric import VisDAMetric

__all__ = ['HypersphericalEnergyMetric', 'VisDAMetric']

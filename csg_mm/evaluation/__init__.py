from . import functional  # noqa: F401
from .metrics import HypersphericalEnergyMetric, VisDAMetric

__all__ = ['HypersphericalEnergyMetric', 'VisDAMetric']

from . import functional  # noqa: F401
from .evaluator import MultiDatasetEvaluator
from .metrics import ClassSubsetIoUMetric, HypersphericalEnergyMetric, VisDAMetric
from .protocol_record import build_record, render_markdown, write_record

__all__ = [
    'ClassSubsetIoUMetric', 'HypersphericalEnergyMetric', 'MultiDatasetEvaluator', 'VisDAMetric',
    'build_record', 'render_markdown', 'write_record'
]

from .digits import RealDigitsDataset, SynthDigitsDataset
from .gta5 import GTA5Dataset
from .transforms import PackCSGSegInputs
from .visda17 import VisDA17Dataset

__all__ = [
    'GTA5Dataset', 'PackCSGSegInputs', 'RealDigitsDataset', 'SynthDigitsDataset',
    'VisDA17Dataset'
]

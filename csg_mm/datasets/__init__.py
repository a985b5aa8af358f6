from .acdc import ACDCDataset
from .bdd100k import CheckedBDD100KDataset
from .checks import CheckedSegDatasetMixin
from .cityscapes import CITYSCAPES_METAINFO, CheckedCityscapesDataset
from .dataset_wrappers import ConcatEvalDataset
from .digits import RealDigitsDataset, SynthDigitsDataset
from .gta5 import GTA5Dataset
from .mapillary import Mapillary19Dataset
from .position_seeded_dataset import PositionSeededDataset, SampleKey
from .samplers import ResumableDefaultSampler, ResumableInfiniteSampler
from .synthia import SynthiaDataset
from .transforms import PackCSGSegInputs
from .visda17 import VisDA17Dataset

__all__ = [
    'ConcatEvalDataset',
    'ACDCDataset', 'CITYSCAPES_METAINFO', 'CheckedBDD100KDataset', 'CheckedCityscapesDataset',
    'CheckedSegDatasetMixin', 'Mapillary19Dataset', 'SynthiaDataset',
    'GTA5Dataset', 'PackCSGSegInputs', 'PositionSeededDataset', 'RealDigitsDataset',
    'ResumableDefaultSampler', 'ResumableInfiniteSampler', 'SampleKey', 'SynthDigitsDataset',
    'VisDA17Dataset'
]

"""SYNTHIA-RAND-CITYSCAPES labels -> 19 Cityscapes train ids (for
:class:`csg_mm.datasets.SynthiaDataset`).

SYNTHIA-RAND-CITYSCAPES (Ros et al., CVPR 2016) ships ``RGB/XXXXXXX.png`` (1280 x 760) and
``GT/LABELS/XXXXXXX.png``: 16-bit PNGs with several channels, the class id in the channel that
OpenCV's ``IMREAD_UNCHANGED`` returns LAST (the first in RGB order; another channel holds
instance ids). :func:`convert` writes ``GT/LABELS/XXXXXXX_labelTrainIds.png`` next to them (table:
:data:`csg_mm.datasets.label_maps.SYNTHIA_ID_TO_TRAIN_ID`); the rules shared by all converters are
in :mod:`.common`.
"""
import os.path as osp

import numpy as np

from ..label_maps import SYNTHIA_ID_TO_TRAIN_ID, SYNTHIA_NUM_IDS, looks_like_train_ids, lut_from_ids
from .common import AlreadyConverted, convert_beside

IMG_DIR = 'RGB'
LABEL_DIR = osp.join('GT', 'LABELS')
OUT_SUFFIX = '_labelTrainIds.png'
LUT = lut_from_ids(SYNTHIA_ID_TO_TRAIN_ID, size=65536)


def decode(path: str) -> np.ndarray:
    """Read one SYNTHIA source label and return its train ids (uint8, (H, W)).

    Raises:
        AlreadyConverted: a single-channel label holding only train ids (0..18, 255).
        ValueError: a file OpenCV cannot read, a single-channel label that is not train ids, an
            8-bit colour image (``GT/COLOR``?) or class ids outside SYNTHIA's 0..22.
    """
    import cv2
    arr = cv2.imread(path, cv2.IMREAD_UNCHANGED)
    if arr is None:
        raise ValueError(f'OpenCV cannot read {path}')
    if arr.ndim == 2:
        values = np.unique(arr)
        if looks_like_train_ids(values):
            raise AlreadyConverted(
                f'{path} is single-channel and holds only Cityscapes train ids (values '
                f'{values[:20].tolist()}), not a SYNTHIA GT/LABELS file (16-bit, several '
                'channels); not converted again. If it is a converted label, name it '
                f'{osp.basename(path)[:-4]}{OUT_SUFFIX}')
        raise ValueError(f'{path} is single-channel ({arr.dtype}, values '
                         f'{values[:20].tolist()}); SYNTHIA GT/LABELS files have several 16-bit '
                         'channels')
    if arr.dtype != np.uint16:
        raise ValueError(f'{path} is a {arr.shape[2]}-channel {arr.dtype} image; SYNTHIA '
                         'GT/LABELS files are 16-bit (is it a GT/COLOR visualisation?)')
    ids = arr[..., -1]  # BGR order: the last channel is the first in RGB order, the class id
    top = int(ids.max())
    if top >= SYNTHIA_NUM_IDS:
        raise ValueError(f'{path}: class id {top} outside SYNTHIA\'s 0..{SYNTHIA_NUM_IDS - 1} in '
                         'the class channel; is it a SYNTHIA-RAND-CITYSCAPES GT/LABELS file?')
    return LUT[ids]


def convert(data_root: str, nproc: int = 1, on_mismatch: str = 'resize') -> dict:
    """Convert all labels of a SYNTHIA-RAND-CITYSCAPES folder; the summary dict of
    :func:`.common.run`.

    Raises:
        ConversionError: a missing folder, no labels, or a bad option.
    """
    return convert_beside(data_root, 'SYNTHIA', IMG_DIR, LABEL_DIR, decode, nproc, on_mismatch,
                          out_suffix=OUT_SUFFIX, table=SYNTHIA_ID_TO_TRAIN_ID)

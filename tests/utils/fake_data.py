"""Tiny generated data folders shaped like GTA5 and Cityscapes, for tests.

Only numpy and PIL are needed; the folders are deterministic for a given ``seed``.
"""
import os
import os.path as osp
from typing import Tuple, Union

import numpy as np
from PIL import Image

# Cityscapes label ids that map to the 19 train ids, and some that map to 255 (ignore).
MAPPED_IDS = (7, 8, 11, 12, 13, 17, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 31, 32, 33)
UNMAPPED_IDS = (0, 1, 3, 4, 6, 9, 10, 14, 15, 16, 18, 29, 30, 34)
CITY = 'frankfurt'


def _palette_png(ids: np.ndarray, rng: np.random.Generator) -> Image.Image:
    ids = np.ascontiguousarray(ids, dtype=np.uint8)
    img = Image.frombytes('P', (ids.shape[1], ids.shape[0]), ids.tobytes())  # indices = ids
    img.putpalette(rng.integers(0, 256, size=768, dtype=np.uint8).tolist())
    return img


def make_gta5(root: Union[str, os.PathLike],
              num: int = 4,
              size: Tuple[int, int] = (64, 48),
              mismatch: bool = True,
              orphans: bool = True,
              seed: int = 0) -> str:
    """Write a GTA5-like folder (BEFORE label conversion) and return its path.

    Layout: ``root/images/00001.png ...`` (RGB) and ``root/labels/00001.png ...`` (palette PNGs
    whose indices are Cityscapes label ids, mapped and unmapped ones), ``num`` pairs.

    Args:
        root: folder to create (may exist).
        num (int): number of image/label pairs (frame ids ``00001`` .. ``num``).
        size (tuple[int, int]): image size as (width, height).
        mismatch (bool): if True (and num >= 2) frame ``00002``'s label is 8 x 6 pixels larger
            than its image, like GTA5's frames 15188 / 17705.
        orphans (bool): if True, add an image without label (frame ``num + 1``) and a label
            without image (frame ``num + 2``), as in the real data.
        seed (int): random seed.
    """
    root = str(root)
    rng = np.random.default_rng(seed)
    w, h = size
    os.makedirs(osp.join(root, 'images'), exist_ok=True)
    os.makedirs(osp.join(root, 'labels'), exist_ok=True)
    all_ids = np.array(MAPPED_IDS + UNMAPPED_IDS)

    def _image(fid: str) -> None:
        arr = rng.integers(0, 256, size=(h, w, 3), dtype=np.uint8)
        Image.fromarray(arr).save(osp.join(root, 'images', f'{fid}.png'))

    def _label(fid: str, lw: int, lh: int) -> None:
        ids = rng.choice(all_ids, size=(lh, lw))
        ids.flat[:len(all_ids)] = all_ids  # every id present at least once
        _palette_png(ids, rng).save(osp.join(root, 'labels', f'{fid}.png'))

    for i in range(1, num + 1):
        fid = f'{i:05d}'
        _image(fid)
        if mismatch and i == 2:
            _label(fid, w + 8, h + 6)
        else:
            _label(fid, w, h)
    if orphans:
        _image(f'{num + 1:05d}')
        _label(f'{num + 2:05d}', w, h)
    return root


def make_cityscapes(root: Union[str, os.PathLike],
                    num: int = 2,
                    size: Tuple[int, int] = (64, 32),
                    seed: int = 0,
                    split: str = 'val') -> str:
    """Write a Cityscapes-like folder (stock mmseg ``CityscapesDataset`` layout); return its path.

    Layout: ``root/leftImg8bit/<split>/frankfurt/frankfurt_000000_XXXXXX_leftImg8bit.png`` (RGB)
    and ``root/gtFine/<split>/frankfurt/..._gtFine_labelTrainIds.png`` (mode L, train ids 0..18
    and 255), ``num`` frames of ``size`` = (width, height).
    """
    root = str(root)
    rng = np.random.default_rng(seed)
    w, h = size
    img_dir = osp.join(root, 'leftImg8bit', split, CITY)
    ann_dir = osp.join(root, 'gtFine', split, CITY)
    os.makedirs(img_dir, exist_ok=True)
    os.makedirs(ann_dir, exist_ok=True)
    values = np.array(list(range(19)) + [255])
    for i in range(num):
        stem = f'{CITY}_000000_{i:06d}'
        img = rng.integers(0, 256, size=(h, w, 3), dtype=np.uint8)
        Image.fromarray(img).save(osp.join(img_dir, f'{stem}_leftImg8bit.png'))
        lab = rng.choice(values, size=(h, w)).astype(np.uint8)
        lab.flat[:len(values)] = values
        Image.fromarray(lab).save(osp.join(ann_dir, f'{stem}_gtFine_labelTrainIds.png'))
    return root

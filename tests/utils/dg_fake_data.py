"""Tiny generated folders shaped like the domain-generalisation data sets (BDD100K, Mapillary
Vistas v1.2, ACDC, SYNTHIA-RAND-CITYSCAPES), for tests. GTA5 and Cityscapes are in
:mod:`tests.utils.fake_data`.

Only numpy, PIL and OpenCV are needed; the folders are deterministic for a given ``seed``.
Sizes are (width, height). Every label holds every class value at least once (first pixels).
"""
import json
import os
import os.path as osp
from typing import Sequence, Tuple, Union

import numpy as np
from PIL import Image

PathLike = Union[str, os.PathLike]
TRAIN_IDS = np.array(list(range(19)) + [255], dtype=np.uint8)

# Mapillary Vistas v1.2 config.json label names, in id order (66 labels).
MAPILLARY_V12_NAMES = (
    'animal--bird', 'animal--ground-animal', 'construction--barrier--curb',
    'construction--barrier--fence', 'construction--barrier--guard-rail',
    'construction--barrier--other-barrier', 'construction--barrier--wall',
    'construction--flat--bike-lane', 'construction--flat--crosswalk-plain',
    'construction--flat--curb-cut', 'construction--flat--parking',
    'construction--flat--pedestrian-area', 'construction--flat--rail-track',
    'construction--flat--road', 'construction--flat--service-lane',
    'construction--flat--sidewalk', 'construction--structure--bridge',
    'construction--structure--building', 'construction--structure--tunnel', 'human--person',
    'human--rider--bicyclist', 'human--rider--motorcyclist', 'human--rider--other-rider',
    'marking--crosswalk-zebra', 'marking--general', 'nature--mountain', 'nature--sand',
    'nature--sky', 'nature--snow', 'nature--terrain', 'nature--vegetation', 'nature--water',
    'object--banner', 'object--bench', 'object--bike-rack', 'object--billboard',
    'object--catch-basin', 'object--cctv-camera', 'object--fire-hydrant', 'object--junction-box',
    'object--mailbox', 'object--manhole', 'object--phone-booth', 'object--pothole',
    'object--street-light', 'object--support--pole', 'object--support--traffic-sign-frame',
    'object--support--utility-pole', 'object--traffic-light', 'object--traffic-sign--back',
    'object--traffic-sign--front', 'object--trash-can', 'object--vehicle--bicycle',
    'object--vehicle--boat', 'object--vehicle--bus', 'object--vehicle--car',
    'object--vehicle--caravan', 'object--vehicle--motorcycle', 'object--vehicle--on-rails',
    'object--vehicle--other-vehicle', 'object--vehicle--trailer', 'object--vehicle--truck',
    'object--vehicle--wheeled-slow', 'void--car-mount', 'void--ego-vehicle', 'void--unlabeled')
ACDC_CONDITIONS = ('fog', 'night', 'rain', 'snow')


def _rgb(rng: np.random.Generator, size: Tuple[int, int]) -> Image.Image:
    w, h = size
    return Image.fromarray(rng.integers(0, 256, size=(h, w, 3), dtype=np.uint8))


def _labels(rng: np.random.Generator, values: np.ndarray, size: Tuple[int, int]) -> np.ndarray:
    w, h = size
    lab = rng.choice(values, size=(h, w)).astype(values.dtype)
    lab.flat[:len(values)] = values  # every value at least once
    return lab


def make_bdd100k(root: PathLike, num: int = 3, size: Tuple[int, int] = (32, 18),
                 split: str = 'val', seed: int = 0) -> str:
    """BDD100K "10K" layout: ``images/10k/<split>/<id>.jpg`` and
    ``labels/sem_seg/masks/<split>/<id>.png`` (mode L, train ids 0..18 and 255)."""
    root = str(root)
    rng = np.random.default_rng(seed)
    img_dir = osp.join(root, 'images', '10k', split)
    ann_dir = osp.join(root, 'labels', 'sem_seg', 'masks', split)
    os.makedirs(img_dir, exist_ok=True)
    os.makedirs(ann_dir, exist_ok=True)
    for i in range(num):
        stem = f'7d{i:03d}0f-bdd{i:05d}'
        _rgb(rng, size).save(osp.join(img_dir, stem + '.jpg'), quality=95)
        Image.fromarray(_labels(rng, TRAIN_IDS, size)).save(osp.join(ann_dir, stem + '.png'))
    return root


def make_acdc(root: PathLike, nums: Sequence[int] = (2, 3, 2, 2),
              size: Tuple[int, int] = (32, 18), split: str = 'val', seed: int = 0) -> str:
    """ACDC layout for the 4 conditions (``nums`` images each, spread over two GOPR sequences):
    ``rgb_anon/<cond>/<split>/GOPRxxxx/<stem>_rgb_anon.png`` and
    ``gt/<cond>/<split>/GOPRxxxx/<stem>_gt_labelTrainIds.png``."""
    root = str(root)
    rng = np.random.default_rng(seed)
    for c, (cond, num) in enumerate(zip(ACDC_CONDITIONS, nums)):
        for i in range(num):
            seq = f'GOPR{c:02d}{i % 2:02d}'
            stem = f'{seq}_frame_{i:06d}'
            img_dir = osp.join(root, 'rgb_anon', cond, split, seq)
            ann_dir = osp.join(root, 'gt', cond, split, seq)
            os.makedirs(img_dir, exist_ok=True)
            os.makedirs(ann_dir, exist_ok=True)
            _rgb(rng, size).save(osp.join(img_dir, f'{stem}_rgb_anon.png'))
            Image.fromarray(_labels(rng, TRAIN_IDS, size)).save(
                osp.join(ann_dir, f'{stem}_gt_labelTrainIds.png'))
    return root


def make_mapillary(root: PathLike, num: int = 3, size: Tuple[int, int] = (40, 30),
                   split: str = 'validation', mismatch: bool = True, orphans: bool = True,
                   seed: int = 0) -> str:
    """Mapillary Vistas v1.2 layout BEFORE conversion: ``config.json`` (the 66 v1.2 labels),
    ``<split>/images/<id>.jpg`` and ``<split>/labels/<id>.png`` (palette PNGs whose indices are
    label ids 0..65, every id present).

    With ``mismatch`` the second label is 8 x 6 pixels larger than its image; with ``orphans``
    an image without label and a label without image are added.
    """
    root = str(root)
    rng = np.random.default_rng(seed)
    os.makedirs(root, exist_ok=True)
    colors = rng.integers(0, 256, size=(len(MAPILLARY_V12_NAMES), 3)).tolist()
    config = dict(labels=[
        dict(name=n, readable=n.rsplit('--', 1)[-1].replace('-', ' ').title(), color=col,
             instances=False, evaluate=True) for n, col in zip(MAPILLARY_V12_NAMES, colors)
    ])
    with open(osp.join(root, 'config.json'), 'w') as f:
        json.dump(config, f)
    img_dir = osp.join(root, split, 'images')
    ann_dir = osp.join(root, split, 'labels')
    os.makedirs(img_dir, exist_ok=True)
    os.makedirs(ann_dir, exist_ok=True)
    ids = np.arange(len(MAPILLARY_V12_NAMES), dtype=np.uint8)
    palette = [v for c in colors for v in c]

    def _label(stem: str, lsize: Tuple[int, int]) -> None:
        lab = Image.frombytes('P', lsize, _labels(rng, ids, lsize).tobytes())
        lab.putpalette(palette)
        lab.save(osp.join(ann_dir, stem + '.png'))

    w, h = size
    for i in range(num):
        stem = f'mpl{i:04d}'
        _rgb(rng, size).save(osp.join(img_dir, stem + '.jpg'), quality=95)
        _label(stem, (w + 8, h + 6) if mismatch and i == 1 else size)
    if orphans:
        _rgb(rng, size).save(osp.join(img_dir, f'mpl{num:04d}.jpg'), quality=95)
        _label(f'mpl{num + 1:04d}', size)
    return root


def write_synthia_label(path: str, class_ids: np.ndarray, rng: np.random.Generator) -> None:
    """A SYNTHIA GT/LABELS-like PNG: 16-bit, 3 channels, the class id in the channel OpenCV
    reads LAST (BGR order), random instance ids in the middle one, zeros in the first."""
    import cv2
    h, w = class_ids.shape
    bgr = np.zeros((h, w, 3), dtype=np.uint16)
    bgr[..., 1] = rng.integers(0, 1000, size=(h, w))
    bgr[..., 2] = class_ids
    assert cv2.imwrite(path, bgr)


def make_synthia(root: PathLike, num: int = 3, size: Tuple[int, int] = (40, 24),
                 mismatch: bool = True, orphans: bool = True, seed: int = 0) -> str:
    """SYNTHIA-RAND-CITYSCAPES layout BEFORE conversion: ``RGB/<id>.png`` and
    ``GT/LABELS/<id>.png`` (see :func:`write_synthia_label`; class ids 0..22, every id present).

    With ``mismatch`` the second label is 8 x 6 pixels larger than its image; with ``orphans``
    an image without label and a label without image are added.
    """
    root = str(root)
    rng = np.random.default_rng(seed)
    img_dir = osp.join(root, 'RGB')
    ann_dir = osp.join(root, 'GT', 'LABELS')
    os.makedirs(img_dir, exist_ok=True)
    os.makedirs(ann_dir, exist_ok=True)
    ids = np.arange(23, dtype=np.uint16)
    w, h = size
    for i in range(num):
        stem = f'{i:07d}'
        _rgb(rng, size).save(osp.join(img_dir, stem + '.png'))
        lsize = (w + 8, h + 6) if mismatch and i == 1 else size
        write_synthia_label(osp.join(ann_dir, stem + '.png'), _labels(rng, ids, lsize), rng)
    if orphans:
        _rgb(rng, size).save(osp.join(img_dir, f'{num:07d}.png'))
        write_synthia_label(osp.join(ann_dir, f'{num + 1:07d}.png'), _labels(rng, ids, size), rng)
    return root

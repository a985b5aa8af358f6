# Copyright (c) csg_mm contributors. All rights reserved.
"""A small, download-free syn-to-real benchmark for the CPU demo (``tools/demo.py``).

* **Real domain**: scikit-learn's bundled handwritten digits (``sklearn.datasets.load_digits``:
  1,797 real 8 x 8 scans, values 0-16, from the UCI "optdigits" data). They are split ONCE,
  deterministically (stratified, fixed ``split_seed``) into ``'pretrain'`` (the ImageNet
  stand-in: the only real images any model is trained on) and ``'test'`` (never used for training
  or model selection). ``label_groups`` (e.g. :data:`COARSE_PAIRS`) gives the pretraining split
  COARSE labels, so that a teacher pretrained on it does not know the fine ten-digit task (as
  ImageNet does not know VisDA's classes).
* **Synthetic domain**: the digits 0-9 rendered from the TrueType fonts that ship with matplotlib
  (``matplotlib/mpl-data/fonts/ttf``, read with PIL), with a random affine (rotation, shear,
  anisotropic scale), stroke width, blur, noise and binarisation threshold, then brought to the
  real digits' exact look by the optdigits recipe: the glyph's bounding box is scaled to fit a
  32 x 32 bitmap (aspect ratio kept, centred) and the "on" pixels of every 4 x 4 block are counted,
  giving an 8 x 8 image with integer values 0-16. Generated deterministically from ``seed``.

Both datasets hold their images in memory; every sample is ``dict(img=uint8 (8, 8) array scaled
from 0-16 to 0-255, gt_label=int)``, so their pipelines start without ``LoadImageFromFile``
(e.g. ``Resize`` to the network's input size, then ``PackInputs``).
"""
import functools
import hashlib
import os.path as osp
from typing import List, Optional, Sequence, Tuple

import numpy as np
from mmpretrain.datasets import BaseDataset
from mmpretrain.registry import DATASETS

DIGIT_CLASSES = tuple(str(i) for i in range(10))

#: Fonts of matplotlib's ``mpl-data/fonts/ttf`` used for the synthetic digits (those that carry the
#: ten ASCII digits; the STIX size/non-unicode variants, ``cmex10``/``cmmi10``/``cmsy10`` and the
#: ``Display`` faces do not render them as digits). Missing files are skipped.
SYNTH_FONTS = (
    'DejaVuSans.ttf', 'DejaVuSans-Bold.ttf', 'DejaVuSans-Oblique.ttf',
    'DejaVuSans-BoldOblique.ttf', 'DejaVuSansMono.ttf', 'DejaVuSansMono-Bold.ttf',
    'DejaVuSansMono-Oblique.ttf', 'DejaVuSansMono-BoldOblique.ttf', 'DejaVuSerif.ttf',
    'DejaVuSerif-Bold.ttf', 'DejaVuSerif-Italic.ttf', 'DejaVuSerif-BoldItalic.ttf',
    'STIXGeneral.ttf', 'STIXGeneralBol.ttf', 'STIXGeneralItalic.ttf', 'STIXGeneralBolIta.ttf',
    'cmr10.ttf', 'cmb10.ttf', 'cmss10.ttf', 'cmtt10.ttf', 'cmti10.ttf')

_BITMAP = 32  # optdigits: 32 x 32 bitmaps ...
_BLOCK = 4  # ... summed over non-overlapping 4 x 4 blocks -> 8 x 8, values 0..16
_CANVAS = 128
_FONT_SIZE = 64


def matplotlib_font_dir() -> str:
    """The folder of the TrueType fonts bundled with matplotlib."""
    import matplotlib
    return osp.join(osp.dirname(matplotlib.__file__), 'mpl-data', 'fonts', 'ttf')


@functools.lru_cache(maxsize=None)
def available_fonts(font_dir: Optional[str] = None) -> Tuple[str, ...]:
    """Paths of the :data:`SYNTH_FONTS` that exist in ``font_dir`` (default: matplotlib's) and
    render ten distinct, non-empty digit glyphs."""
    from PIL import Image, ImageDraw, ImageFont
    font_dir = font_dir or matplotlib_font_dir()
    fonts = []
    for name in SYNTH_FONTS:
        path = osp.join(font_dir, name)
        if not osp.isfile(path):
            continue
        font = ImageFont.truetype(path, 32)
        glyphs = set()
        for digit in DIGIT_CLASSES:
            canvas = Image.new('L', (64, 64), 0)
            ImageDraw.Draw(canvas).text((8, 8), digit, fill=255, font=font)
            arr = np.asarray(canvas)
            if arr.max() == 0:
                break
            glyphs.add(hashlib.sha1(arr.tobytes()).hexdigest())
        if len(glyphs) == len(DIGIT_CLASSES):
            fonts.append(path)
    if not fonts:
        raise RuntimeError(f'No usable digit fonts in {font_dir}: is matplotlib installed?')
    return tuple(fonts)


def _affine_inverse(angle: float, shear: float, scale_x: float, scale_y: float,
                    center: float) -> Tuple[float, ...]:
    """PIL ``Image.AFFINE`` data (output -> input map) of ``R(angle) @ Shear(shear) @ S`` about
    the canvas centre."""
    cos, sin = np.cos(angle), np.sin(angle)
    forward = np.array([[cos, -sin], [sin, cos]]) @ np.array([[1.0, shear], [0.0, 1.0]]) \
        @ np.diag([scale_x, scale_y])
    inv = np.linalg.inv(forward)
    offset = np.array([center, center]) - inv @ np.array([center, center])
    return (inv[0, 0], inv[0, 1], offset[0], inv[1, 0], inv[1, 1], offset[1])


def _to_optdigits(binary: np.ndarray, box_mask: Optional[np.ndarray] = None
                  ) -> Optional[np.ndarray]:
    """The optdigits recipe: fit the bounding box of the on pixels (of ``box_mask`` when given,
    so that isolated noise pixels do not count) into a 32 x 32 bitmap (aspect kept, centred), count
    the on pixels of every 4 x 4 block: an 8 x 8 uint8 image in 0..16."""
    from PIL import Image
    rows, cols = np.nonzero(binary if box_mask is None else box_mask)
    if rows.size == 0:
        return None
    crop = binary[rows.min():rows.max() + 1, cols.min():cols.max() + 1]
    h, w = crop.shape
    scale = _BITMAP / max(h, w)
    new_h, new_w = max(1, round(h * scale)), max(1, round(w * scale))
    resized = Image.fromarray(crop.astype(np.uint8) * 255).resize((new_w, new_h),
                                                                   Image.BILINEAR)
    bitmap = np.zeros((_BITMAP, _BITMAP), np.uint8)
    top, left = (_BITMAP - new_h) // 2, (_BITMAP - new_w) // 2
    bitmap[top:top + new_h, left:left + new_w] = np.asarray(resized) >= 128
    return bitmap.reshape(8, _BLOCK, 8, _BLOCK).sum(axis=(1, 3)).astype(np.uint8)


def render_synth_digits(num_per_class: int,
                        seed: int = 0,
                        fonts: Optional[Sequence[str]] = None,
                        max_rotation: float = 15.0,
                        max_shear: float = 0.3,
                        scale_range: Tuple[float, float] = (0.75, 1.25),
                        stroke_range: Tuple[int, int] = (0, 3),
                        max_blur: float = 1.5,
                        noise_std: float = 30.0,
                        threshold_range: Tuple[float, float] = (0.3, 0.7)
                        ) -> Tuple[np.ndarray, np.ndarray]:
    """Render ``num_per_class`` synthetic images of each digit 0-9, deterministically.

    Every image: a random font of ``fonts`` at a random stroke width (pixels at font size 64) on a
    128 x 128 canvas, a random affine (rotation ``+-max_rotation`` degrees, shear
    ``+-max_shear``, per-axis scale in ``scale_range``), a Gaussian blur of radius
    ``U(0, max_blur)``, additive Gaussian pixel noise (``noise_std`` on 0-255; it roughens the
    stroke edges, the glyph's box is taken from the noise-free image), binarisation at a random
    threshold (fraction of 255 in ``threshold_range``) and the optdigits reduction
    (:func:`_to_optdigits`) to 8 x 8 with values 0-16.

    Args:
        num_per_class (int): images per class.
        seed (int): seed of the ``numpy.random.Generator`` that draws all random choices: the same
            seed gives the same arrays.
        fonts (Sequence[str], optional): font files. Defaults to :func:`available_fonts`.

    Returns:
        tuple: ``images`` (``(10 * num_per_class, 8, 8)`` uint8, 0..16) and ``labels``
        (``(10 * num_per_class,)`` int64), class-major order.
    """
    from PIL import Image, ImageDraw, ImageFilter, ImageFont
    if num_per_class < 1:
        raise ValueError(f'num_per_class must be >= 1, got {num_per_class}')
    fonts = tuple(fonts) if fonts is not None else available_fonts()
    loaded = {}
    rng = np.random.default_rng(seed)
    images, labels = [], []
    center = _CANVAS / 2
    for label, digit in enumerate(DIGIT_CLASSES):
        made = 0
        while made < num_per_class:
            font_path = fonts[int(rng.integers(len(fonts)))]
            stroke = int(rng.integers(stroke_range[0], stroke_range[1] + 1))
            angle = np.deg2rad(rng.uniform(-max_rotation, max_rotation))
            shear = rng.uniform(-max_shear, max_shear)
            scale_x, scale_y = rng.uniform(*scale_range, size=2)
            blur = rng.uniform(0, max_blur)
            threshold = rng.uniform(*threshold_range) * 255
            if font_path not in loaded:
                loaded[font_path] = ImageFont.truetype(font_path, _FONT_SIZE)
            canvas = Image.new('L', (_CANVAS, _CANVAS), 0)
            ImageDraw.Draw(canvas).text((center, center), digit, fill=255,
                                        font=loaded[font_path], anchor='mm',
                                        stroke_width=stroke, stroke_fill=255)
            canvas = canvas.transform(canvas.size, Image.AFFINE,
                                      _affine_inverse(angle, shear, scale_x, scale_y, center),
                                      resample=Image.BILINEAR)
            if blur > 0:
                canvas = canvas.filter(ImageFilter.GaussianBlur(blur))
            arr = np.asarray(canvas, np.float32)
            noisy = arr + rng.normal(0.0, noise_std, size=arr.shape)
            # the glyph's box comes from the noise-free image; the noise roughens its edges
            image = _to_optdigits(noisy >= threshold, box_mask=arr >= threshold)
            if image is None:  # everything thresholded away: draw again
                continue
            images.append(image)
            labels.append(label)
            made += 1
    return np.stack(images), np.asarray(labels, np.int64)


@functools.lru_cache(maxsize=None)
def _real_split_indices(split_seed: int, test_fraction: float) -> Tuple[np.ndarray, np.ndarray]:
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split
    labels = load_digits().target
    pretrain_idx, test_idx = train_test_split(
        np.arange(len(labels)), test_size=test_fraction, stratify=labels,
        random_state=split_seed)
    return np.sort(pretrain_idx), np.sort(test_idx)


def load_real_digits(split: str,
                     split_seed: int = 0,
                     test_fraction: float = 0.5) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One half of scikit-learn's real handwritten digits.

    The 1,797 images are split ONCE by a stratified ``train_test_split`` with ``random_state =
    split_seed``: ``test_fraction`` of every class goes to ``'test'``, the rest to
    ``'pretrain'``. The two splits are disjoint and cover the data set.

    Returns:
        tuple: ``images`` ((N, 8, 8) uint8, 0..16), ``labels`` ((N,) int64) and ``indices`` (the
        images' positions in ``load_digits()``).
    """
    from sklearn.datasets import load_digits
    if split not in ('pretrain', 'test'):
        raise ValueError(f"split must be 'pretrain' or 'test', got {split!r}")
    digits = load_digits()
    pretrain_idx, test_idx = _real_split_indices(int(split_seed), float(test_fraction))
    idx = pretrain_idx if split == 'pretrain' else test_idx
    images = np.rint(digits.images[idx]).astype(np.uint8)
    return images, digits.target[idx].astype(np.int64), idx


class _InMemoryDigits(BaseDataset):
    """Base of the digit datasets: 8 x 8 images 0..16 held in memory, given to the pipeline as
    ``img`` (uint8 (8, 8), scaled to 0..255) with ``gt_label``."""

    METAINFO = dict(classes=DIGIT_CLASSES)

    def __init__(self, pipeline: Sequence = (), test_mode: bool = False,
                 indices=None, lazy_init: bool = False, metainfo: Optional[dict] = None) -> None:
        super().__init__(ann_file='', metainfo=metainfo, pipeline=pipeline, test_mode=test_mode,
                         indices=indices, lazy_init=lazy_init)

    def _arrays(self) -> Tuple[np.ndarray, np.ndarray]:
        raise NotImplementedError

    def load_data_list(self) -> List[dict]:
        images, labels = self._arrays()
        pixels = np.rint(images.astype(np.float32) * (255.0 / 16.0)).astype(np.uint8)
        return [dict(img=np.ascontiguousarray(img), gt_label=int(label), img_shape=img.shape,
                     ori_shape=img.shape) for img, label in zip(pixels, labels)]


@DATASETS.register_module()
class SynthDigitsDataset(_InMemoryDigits):
    """Synthetic digits rendered from matplotlib's fonts (:func:`render_synth_digits`): the
    syn-to-real demo's training domain.

    Args:
        num_per_class (int): images per class. Defaults to 200.
        seed (int): generation seed (same seed, same images). Defaults to 0.
        render_cfg (dict, optional): further :func:`render_synth_digits` arguments.
        pipeline, test_mode, indices, lazy_init: as :class:`mmpretrain.datasets.BaseDataset`.
    """

    def __init__(self, num_per_class: int = 200, seed: int = 0,
                 render_cfg: Optional[dict] = None, **kwargs) -> None:
        self.num_per_class = int(num_per_class)
        self.seed = int(seed)
        self.render_cfg = dict(render_cfg or {})
        super().__init__(**kwargs)

    def _arrays(self):
        try:
            key = tuple(sorted((k, tuple(v) if isinstance(v, list) else v)
                               for k, v in self.render_cfg.items()))
            hash(key)
        except TypeError:  # unhashable settings: render without the cache
            return render_synth_digits(self.num_per_class, self.seed, **self.render_cfg)
        return _cached_synth_digits(self.num_per_class, self.seed, key)


@functools.lru_cache(maxsize=4)
def _cached_synth_digits(num_per_class: int, seed: int, render_items: tuple):
    """:func:`render_synth_digits`, cached in-process (the demo builds the same synthetic set for
    every method); the arrays are read-only."""
    images, labels = render_synth_digits(num_per_class, seed, **dict(render_items))
    images.setflags(write=False)
    labels.setflags(write=False)
    return images, labels


def check_label_groups(groups: Sequence[Sequence[int]]) -> Tuple[Tuple[int, ...], ...]:
    """``groups`` as tuples, after checking that they partition the digits 0-9 (every digit in
    exactly one non-empty group).

    Raises:
        ValueError: a digit missing or repeated, a value outside 0-9, or an empty group.
    """
    try:
        groups = tuple(tuple(int(d) for d in g) for g in groups)
    except (TypeError, ValueError):
        raise ValueError(f'label_groups must be a sequence of sequences of digits, got '
                         f'{groups!r}') from None
    flat = [d for g in groups for d in g]
    if any(not g for g in groups) or sorted(flat) != list(range(len(DIGIT_CLASSES))):
        raise ValueError(f'label_groups must split the digits 0-9 into non-empty groups, each '
                         f'digit in exactly one group; got {groups!r}')
    return groups


def group_labels(labels: np.ndarray, groups: Sequence[Sequence[int]]) -> np.ndarray:
    """Map digit labels (0-9) to the index of their group in ``groups`` (checked by
    :func:`check_label_groups`); e.g. with :data:`COARSE_PAIRS`, 0 and 1 -> 0, ..., 8 and 9 -> 4.

    Returns:
        np.ndarray: int64 array of ``labels``' shape.
    """
    lut = np.empty(len(DIGIT_CLASSES), np.int64)
    for index, group in enumerate(check_label_groups(groups)):
        lut[list(group)] = index
    return lut[np.asarray(labels, np.int64)]


#: The coarse real labels the demo's teacher is pretrained with (issue 14 of this project: the
#: teacher must not know the target task's fine labels, as ImageNet does not know VisDA's
#: classes): the five pairs of consecutive digits. The distinction inside each pair (0 vs 1, 2 vs
#: 3, ...) must be learnt from the synthetic data.
COARSE_PAIRS = ((0, 1), (2, 3), (4, 5), (6, 7), (8, 9))


@DATASETS.register_module()
class RealDigitsDataset(_InMemoryDigits):
    """Real handwritten digits (scikit-learn's ``load_digits``), one half of a fixed stratified
    split (:func:`load_real_digits`): ``'pretrain'`` (the ImageNet stand-in) or ``'test'``.

    Args:
        split (str): ``'pretrain'`` or ``'test'``.
        seed (int): the split's seed (``split_seed``). Keep the default to use the one split the
            demo reports on. Defaults to 0.
        test_fraction (float): share of every class in ``'test'``. Defaults to 0.5.
        label_groups (Sequence[Sequence[int]], optional): coarse labels: the label of a digit
            becomes the index of its group (e.g. :data:`COARSE_PAIRS`: 5 classes ``'0/1'``,
            ``'2/3'``, ...); the groups must partition 0-9 (``ValueError`` otherwise). ``None``
            keeps the ten digit labels. Defaults to None.
        pipeline, test_mode, indices, lazy_init: as :class:`mmpretrain.datasets.BaseDataset`.
    """

    def __init__(self, split: str = 'pretrain', seed: int = 0, test_fraction: float = 0.5,
                 label_groups: Optional[Sequence[Sequence[int]]] = None, **kwargs) -> None:
        if split not in ('pretrain', 'test'):
            raise ValueError(f"split must be 'pretrain' or 'test', got {split!r}")
        self.split = split
        self.seed = int(seed)
        self.test_fraction = float(test_fraction)
        self.label_groups = None if label_groups is None else check_label_groups(label_groups)
        if self.label_groups is not None:
            kwargs['metainfo'] = dict(
                classes=tuple('/'.join(str(d) for d in g) for g in self.label_groups))
        super().__init__(**kwargs)

    def _arrays(self):
        images, labels, _ = load_real_digits(self.split, self.seed, self.test_fraction)
        if self.label_groups is not None:
            labels = group_labels(labels, self.label_groups)
        return images, labels


__all__ = [
    'DIGIT_CLASSES', 'SYNTH_FONTS', 'COARSE_PAIRS', 'available_fonts', 'render_synth_digits',
    'load_real_digits', 'check_label_groups', 'group_labels', 'SynthDigitsDataset',
    'RealDigitsDataset', 'matplotlib_font_dir'
]

"""Compatibility fixes for the tested stack, applied at ``import csg_mm`` only where needed."""
import functools

import numpy as np


def _hue_shift_uint8(hue_factor: float) -> np.uint8:
    """The uint8 hue offset mmcv means by ``np.uint8(hue_factor * 255)``: numpy 1.x wrapped a
    negative value around (-73 -> 183); numpy 2 raises ``OverflowError`` instead."""
    return np.uint8(int(hue_factor * 255) % 256)


def patch_mmcv_adjust_hue() -> bool:
    """Make ``mmcv.adjust_hue`` work for negative hue factors under numpy >= 2.

    mmcv 2.1.0 computes ``np.uint8(hue_factor * 255)``, which numpy >= 2 refuses for negative
    factors, so ``ColorJitter(hue=0.4)`` (CSG's key view) fails about half of the time. The patch
    probes the installed mmcv and, only if the probe fails, wraps ``adjust_hue`` so that a
    negative factor is applied as the same wrap-around uint8 offset numpy 1.x produced. Returns
    whether it patched.
    """
    import mmcv
    from mmcv import image as mmcv_image
    from mmcv.image import photometric

    original = photometric.adjust_hue
    if getattr(original, '_csg_mm_patched', False):
        return True
    try:
        original(np.zeros((1, 1, 3), np.uint8), -0.1, backend='cv2')
        return False
    except OverflowError:
        pass

    @functools.wraps(original)
    def adjust_hue(img: np.ndarray, hue_factor: float, backend=None) -> np.ndarray:
        if hue_factor >= 0:
            return original(img, hue_factor, backend)
        if not -0.5 <= hue_factor <= 0.5:
            raise ValueError(f'hue_factor:{hue_factor} is not in [-0.5, 0.5].')
        backend = backend or photometric.imread_backend
        shift = _hue_shift_uint8(hue_factor)
        if backend == 'pillow':
            from PIL import Image
            pil = Image.fromarray(img[..., ::-1], mode='RGB')
            h, s, v = pil.convert('HSV').split()
            h = Image.fromarray(np.array(h, dtype=np.uint8) + shift, 'L')
            out = Image.merge('HSV', (h, s, v)).convert('RGB')
            return np.array(out, dtype=img.dtype)[..., ::-1]
        import cv2
        dtype = img.dtype
        h, s, v = cv2.split(cv2.cvtColor(img.astype(np.uint8), cv2.COLOR_BGR2HSV_FULL))
        hsv = cv2.merge([h.astype(np.uint8) + shift, s, v])
        return cv2.cvtColor(hsv, cv2.COLOR_HSV2BGR_FULL).astype(dtype)

    adjust_hue._csg_mm_patched = True
    for module in (photometric, mmcv_image, mmcv):
        module.adjust_hue = adjust_hue
    return True

"""The numpy-2 fix of mmcv.adjust_hue: negative hue factors work and rotate hue like positive
ones in the other direction."""
import mmcv
import numpy as np
import pytest

import csg_mm  # noqa: F401
from csg_mm.utils.compat import _hue_shift_uint8


@pytest.mark.parametrize('backend', ['cv2', 'pillow'])
def test_negative_hue_factor(backend):
    rng = np.random.default_rng(0)
    img = rng.integers(0, 256, size=(8, 8, 3), dtype=np.uint8)
    out = mmcv.adjust_hue(img, -0.3, backend=backend)
    assert out.shape == img.shape and out.dtype == img.dtype
    assert not np.array_equal(out, img)
    back = mmcv.adjust_hue(out, 0.3, backend=backend)
    # rotating back recovers the image up to HSV rounding
    assert np.abs(back.astype(int) - img.astype(int)).mean() < 8


def test_shift_matches_numpy1_wraparound():
    assert _hue_shift_uint8(-0.3) == np.uint8(256 - 76)
    assert _hue_shift_uint8(0.2) == np.uint8(51)

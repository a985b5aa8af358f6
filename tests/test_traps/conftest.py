"""Fixtures of the trap tests (issue 13): a converted 7-frame GTA5 folder and a Cityscapes one."""
import pytest

from tests.utils.fake_data import make_cityscapes, make_gta5
from tests.utils.runner_utils import run_tool


@pytest.fixture(scope='package')
def trap_seg_data(tmp_path_factory):
    """``(gta5_root, cityscapes_root)``: 7 GTA5 frames (converted labels), 1 Cityscapes frame."""
    root = tmp_path_factory.mktemp('trapdata')
    gta5 = make_gta5(root / 'gta5', num=7, mismatch=False, orphans=False)
    run_tool(['tools/dataset_converters/gta5.py', gta5, '--nproc', '1'])
    return gta5, make_cityscapes(root / 'cityscapes', num=1)

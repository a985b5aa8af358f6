"""tools/analysis_tools: feature_diversity.py (energies + Figure-2 plot) and
visualize_attention.py (A-pool attention overlays), end to end on generated data and tiny
untrained models, plus their clear errors."""
import importlib.util
import math
import os
import os.path as osp
import re
import subprocess
import sys

import numpy as np
import pytest
import torch
from PIL import Image

from tests.utils.fake_data import make_cityscapes
from tests.utils.runner_utils import REPO, TINY_CFG_DIR

TOOLS = osp.join(REPO, 'tools', 'analysis_tools')
DIVERSITY = osp.join(TOOLS, 'feature_diversity.py')
ATTENTION = osp.join(TOOLS, 'visualize_attention.py')
CSG_CFG = osp.join(TINY_CFG_DIR, 'tiny_csg_deeplabv2_gta5.py')
PLAIN_CFG = osp.join(TINY_CFG_DIR, 'tiny_deeplabv2_gta5_baseline.py')
NUM_IMAGES = 3


def _load_script(path, name):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _run(script, *args, timeout=300):
    env = dict(os.environ, PYTHONPATH=REPO, OMP_NUM_THREADS='2')
    env.pop('CSG_MM_TRUST_CHECKPOINTS', None)
    return subprocess.run([sys.executable, script, *map(str, args)], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=timeout)


def _ok(proc):
    assert proc.returncode == 0, f'{proc.stdout[-3000:]}\n--- stderr\n{proc.stderr[-5000:]}'
    return proc


def _assert_clean_failure(proc, *needles):
    assert proc.returncode != 0, proc.stdout
    assert 'Traceback' not in proc.stderr, proc.stderr
    for needle in needles:
        assert str(needle) in proc.stderr, proc.stderr


def _assert_png_not_constant(path):
    assert osp.isfile(path), path
    pixels = np.asarray(Image.open(path).convert('RGB'))
    assert pixels.ndim == 3 and pixels.shape[0] > 50 and pixels.shape[1] > 50
    assert pixels.std() > 1.0, f'{path} is (nearly) constant'


def _build(cfg_path, **backbone):
    """An untrained model of a tiny seg config (CSG mixin applied) and its config."""
    from mmengine.config import Config
    from mmengine.registry import DefaultScope
    from mmseg.registry import MODELS

    import csg_mm  # noqa: F401
    from csg_mm.engine.runner.csg_runner import apply_csg_mixin
    cfg = Config.fromfile(cfg_path)
    if cfg.get('runner_type') == 'CSGRunner':
        cfg = apply_csg_mixin(cfg)
    cfg.model.backbone.update(backbone)
    if 'base_channels' in backbone:
        cfg.model.decode_head.in_channels = 8 * backbone['base_channels']
    with DefaultScope.overwrite_default_scope('mmseg'):
        torch.manual_seed(0)
        return MODELS.build(cfg.model)


@pytest.fixture(scope='module')
def setup(tmp_path_factory):
    """Generated Cityscapes-like test data, a checkpoint of the tiny CSG seg model (runner
    form, untrained) and one of the same model at twice the width (does not match)."""
    root = tmp_path_factory.mktemp('analysis')
    cityscapes = make_cityscapes(root / 'cityscapes', num=NUM_IMAGES)
    good = root / 'good' / 'model.pth'
    good.parent.mkdir()
    torch.save({'state_dict': _build(CSG_CFG).state_dict(), 'meta': {}}, good)
    wide = root / 'wide.pth'
    model = _build(CSG_CFG, base_channels=16, stem_channels=16)
    torch.save({'state_dict': model.state_dict(), 'meta': {}}, wide)
    images = sorted(
        osp.join(dirpath, f) for dirpath, _, files in os.walk(cityscapes) for f in files
        if f.endswith('_leftImg8bit.png'))
    return dict(root=root, cityscapes=cityscapes, good=good, wide=wide, images=images)


def _data_opts(setup):
    return ['--cfg-options', f'test_dataloader.dataset.data_root={setup["cityscapes"]}']


def _table_rows(stdout):
    """``{checkpoint: (n, e0, e1, e2)}`` from the printed table (header checked)."""
    lines = stdout.strip().splitlines()
    header = next(i for i, line in enumerate(lines) if line.startswith('checkpoint'))
    assert lines[header].split()[-3:] == ['E_0', 'E_1', 'E_2'], lines[header]
    rows = []
    for line in lines[header + 2:]:
        m = re.match(r'^(\S+)\s+(\d+)\s+(-?\d+\.\d+)\s+(-?\d+\.\d+)\s+(-?\d+\.\d+)$', line)
        if m:
            rows.append((m.group(1), int(m.group(2)), *map(float, m.group(3, 4, 5))))
    return rows


@pytest.mark.slow
def test_feature_diversity_end_to_end(setup, tiny_imagenet_ckpt, tmp_path):
    out = tmp_path / 'out'
    out.mkdir()
    (out / 'feature_diversity.md').write_text('keep me')  # never overwritten
    # the same checkpoint twice (-> a suffixed PNG) and a bare backbone state dict
    proc = _ok(_run(DIVERSITY, CSG_CFG, setup['good'], setup['good'], tiny_imagenet_ckpt,
                    '--out-dir', out, *_data_opts(setup)))
    rows = _table_rows(proc.stdout)
    assert [r[0] for r in rows] == [str(setup['good'])] * 2 + [str(tiny_imagenet_ckpt)]
    # 64 x 32 images -> 4 x 8 last-stage maps -> min(8, 4, 8)^2 = 16 patches per image
    for _, n, e0, e1, e2 in rows:
        assert n == NUM_IMAGES * 16
        assert all(math.isfinite(v) for v in (e0, e1, e2))
        assert 0 < e0 < e1 < e2  # post-ReLU features: distances below sqrt(2) < e
    assert rows[0][2:] == rows[1][2:]
    assert rows[2][2:] != rows[0][2:]

    _assert_png_not_constant(out / 'model_diversity.png')
    _assert_png_not_constant(out / 'model_diversity_1.png')
    _assert_png_not_constant(out / f'{tiny_imagenet_ckpt.stem}_diversity.png')
    assert (out / 'feature_diversity.md').read_text() == 'keep me'
    assert 'kept' in proc.stderr
    md = (out / 'feature_diversity_1.md').read_text()
    assert '| E_0 |' in md and f'{rows[0][2]:.4f}' in md
    csv_lines = (out / 'feature_diversity.csv').read_text().strip().splitlines()
    assert csv_lines[0].split(',') == ['checkpoint', 'n_features', 'n_total', 'E_0', 'E_1',
                                       'E_2']
    assert len(csv_lines) == 4
    assert abs(float(csv_lines[1].split(',')[3]) - rows[0][2]) < 1e-4


@pytest.mark.slow  # ~30 s on 2 busy cores (a subprocess importing mmseg + mmpretrain)
def test_feature_diversity_mismatched_checkpoint(setup, tmp_path):
    proc = _run(DIVERSITY, CSG_CFG, setup['good'], setup['wide'], '--out-dir', tmp_path / 'o',
                *_data_opts(setup))
    _assert_clean_failure(proc, setup['wide'], 'does not match', 'backbone.conv1.weight',
                          '(16, 3, 7, 7)')
    assert not list((tmp_path / 'o').glob('*.png'))  # checked before any evaluation


def test_feature_diversity_missing_checkpoint(tmp_path):
    missing = tmp_path / 'nope.pth'
    _assert_clean_failure(_run(DIVERSITY, CSG_CFG, missing), missing)


@pytest.mark.slow
def test_visualize_attention_end_to_end(setup, tmp_path):
    out = tmp_path / 'att'
    images = setup['images'][:2]
    proc = _ok(_run(ATTENTION, CSG_CFG, setup['good'], *images, '--out-dir', out, '--alpha',
                    '0.6', *_data_opts(setup)))
    for image in images:
        stem = osp.splitext(osp.basename(image))[0]
        for stage in (3, 4):  # the config's CSG stages G
            _assert_png_not_constant(out / f'{stem}_stage{stage}.png')
    assert len(list(out.glob('*.png'))) == 4
    assert proc.stdout.count('wrote') == 4


def test_visualize_attention_missing_image(setup, tmp_path):
    missing = tmp_path / 'no_such_image.png'
    proc = _run(ATTENTION, CSG_CFG, setup['good'], setup['images'][0], missing, '--out-dir',
                tmp_path / 'att')
    _assert_clean_failure(proc, missing, 'not found')
    assert not (tmp_path / 'att').exists()


# ------------------------------------------------------------------------------------------------
# in-process checks of the helpers


def test_tools_do_not_import_each_other():
    """The shared logic lives in the package (csg_mm.apis.model_loading, csg_mm.utils.paths)."""
    for script, other in ((DIVERSITY, 'visualize_attention'), (ATTENTION, 'feature_diversity')):
        text = open(script).read()
        assert 'spec_from_file_location' not in text
        assert f'import {other}' not in text and f'from {other}' not in text


def test_unique_path(tmp_path):
    from csg_mm.utils.paths import unique_path
    path = str(tmp_path / 'a.png')
    assert unique_path(path) == path
    open(path, 'w').close()
    assert unique_path(path) == str(tmp_path / 'a_1.png')
    open(tmp_path / 'a_1.png', 'w').close()
    assert unique_path(path) == str(tmp_path / 'a_2.png')


def test_circle_mapping_and_density():
    from csg_mm.visualization.feature_circle import circle_angles, circular_density

    # points spread in a plane of a 16-d space: their angles keep the spread
    theta = torch.linspace(0, 2 * math.pi, 41)[:-1]
    feats = torch.zeros(40, 16)
    feats[:, 3], feats[:, 7] = theta.cos(), theta.sin()
    angles = np.sort(circle_angles(feats))
    gaps = np.diff(np.concatenate([angles, angles[:1] + 2 * np.pi]))
    np.testing.assert_allclose(gaps, 2 * np.pi / 40, atol=1e-6)
    grid = np.linspace(-np.pi, np.pi, 2001)
    dens = circular_density(angles, grid)
    assert abs(np.trapezoid(dens, grid) - 1) < 1e-3  # wrapped: integrates to 1 on the circle
    np.testing.assert_allclose(dens, 1 / (2 * np.pi), rtol=0.05)  # uniform points
    # identical points: no KDE (singular), still a finite density
    assert np.isfinite(circular_density(np.zeros(5), grid)).all()


def test_load_weights_errors_and_notes(setup, tiny_imagenet_ckpt, tmp_path):
    from csg_mm.apis.model_loading import ModelLoadingError, load_weights
    model = _build(CSG_CFG)
    with pytest.raises(ModelLoadingError, match=r'wide\.pth.*backbone\.conv1\.weight'):
        load_weights(model, str(setup['wide']))
    # a bare backbone state dict (ImageNet weights, with a classifier as torchvision's have)
    # loads into the backbone only
    ref = torch.load(tiny_imagenet_ckpt, map_location='cpu')
    bare = tmp_path / 'imagenet_with_fc.pth'
    torch.save(dict(ref, **{'fc.weight': torch.zeros(10, 64)}), bare)
    notes = load_weights(model, str(bare))
    assert any('bare backbone' in n and 'fc.weight' in n for n in notes), notes
    torch.testing.assert_close(model.backbone.conv1.weight, ref['conv1.weight'])
    # a bare backbone state dict missing a key is refused
    del ref['layer4.1.bn2.running_var']
    torch.save(ref, bare)
    with pytest.raises(ModelLoadingError, match=r'missing: backbone\.layer4\.1\.bn2\.running_var'):
        load_weights(model, str(bare))
    with pytest.raises(ModelLoadingError, match='checkpoint not found'):
        load_weights(model, str(tmp_path / 'nope.pth'))


def test_attention_needs_csg_apool():
    va = _load_script(ATTENTION, 'visualize_attention_under_test')
    with pytest.raises(va.CLIError, match='not a CSGRegularizer'):
        va.check_csg_apool(_build(PLAIN_CFG))
    model = _build(CSG_CFG)
    assert va.check_csg_apool(model) is model.regularizer
    model.regularizer.pool.pool_type = 'gap'
    with pytest.raises(va.CLIError, match='not A-pool'):
        va.check_csg_apool(model)

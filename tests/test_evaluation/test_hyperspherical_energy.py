"""Hyperspherical energy (CSG Eq. 1, pair means): the chunked float64 computation against a
direct O(N^2) one, closed forms on a circle, and the metric through mmengine's Evaluator."""
import importlib
import importlib.util
import math
import sys
from pathlib import Path

import pytest
import torch

FUNCTIONAL = 'csg_mm.evaluation.functional.hyperspherical_energy'
METRIC = 'csg_mm.evaluation.metrics.hyperspherical_energy'


def _import_isolated():
    """The two modules by file path, for when ``import csg_mm`` itself fails for reasons
    outside them (the package imports every sub-package)."""
    from mmengine.registry import METRICS
    METRICS._module_dict.pop('HypersphericalEnergyMetric', None)  # if csg_mm got that far
    root = Path(__file__).resolve().parents[2]
    modules = []
    for name in (FUNCTIONAL, METRIC):
        path = root.joinpath(*name.split('.')).with_suffix('.py')
        spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module  # lets the metric's absolute import find the functional one
        spec.loader.exec_module(module)
        modules.append(module)
    return modules


try:
    _functional, _metric = importlib.import_module(FUNCTIONAL), importlib.import_module(METRIC)
except ImportError:
    for _name in [n for n in sys.modules if n == 'csg_mm' or n.startswith('csg_mm.')]:
        del sys.modules[_name]
    _functional, _metric = _import_isolated()
energies, hyperspherical_energy = _functional.energies, _functional.hyperspherical_energy
HypersphericalEnergyMetric = _metric.HypersphericalEnergyMetric


def direct_energy(feats, s):
    """Reference: every ordered pair i != j by broadcasting, in float64."""
    v = torch.nn.functional.normalize(feats.double(), dim=1)
    dist = (v[:, None, :] - v[None, :, :]).norm(dim=2)
    off = ~torch.eye(len(v), dtype=torch.bool)
    d = dist[off]
    return float(-d.log().mean()) if s == 0 else float(d.pow(-s).mean())


def loop_energy(feats, s):
    """Reference: a plain double loop."""
    v = torch.nn.functional.normalize(feats.double(), dim=1)
    total, count = 0.0, 0
    for i in range(len(v)):
        for j in range(len(v)):
            if i != j:
                d = float((v[i] - v[j]).norm())
                total += -math.log(d) if s == 0 else d ** (-s)
                count += 1
    return total / count


def circle(n, dim=2, radius=1.0, seed=0):
    theta = torch.arange(n, dtype=torch.float64) * 2 * math.pi / n
    pts = torch.stack([theta.cos(), theta.sin()], dim=1) * radius
    if dim == 2:
        return pts
    g = torch.Generator().manual_seed(seed)
    frame, _ = torch.linalg.qr(torch.randn(dim, 2, generator=g, dtype=torch.float64))
    return pts @ frame.T  # the circle on a random 2-plane of R^dim (still on the unit sphere)


@pytest.mark.parametrize('s', [0, 1, 2, 0.5])
@pytest.mark.parametrize('chunk_size', [64, 257, 1000, 5])
def test_matches_direct(s, chunk_size):
    g = torch.Generator().manual_seed(1)
    feats = torch.randn(257, 16, generator=g).relu() + 0.01  # post-ReLU-like, non-negative
    got = hyperspherical_energy(feats, s=s, chunk_size=chunk_size)
    assert got.dtype == torch.float64 and got.dim() == 0
    assert float(got) == pytest.approx(direct_energy(feats, s), rel=1e-6)


@pytest.mark.parametrize('s', [0, 1, 2])
@pytest.mark.parametrize('chunk_size', [1, 4])
def test_matches_double_loop(s, chunk_size):
    feats = torch.randn(13, 5, generator=torch.Generator().manual_seed(2))
    assert float(hyperspherical_energy(feats, s=s, chunk_size=chunk_size)) == pytest.approx(
        loop_energy(feats, s), rel=1e-9)


def test_energies_dict_matches_single_calls():
    feats = torch.randn(100, 8, generator=torch.Generator().manual_seed(3))
    out = energies(feats, s_values=(0, 1, 2), chunk_size=33)
    assert list(out) == [0, 1, 2]
    for s, v in out.items():
        assert float(v) == pytest.approx(float(hyperspherical_energy(feats, s=s)), rel=1e-12)


@pytest.mark.parametrize('n', [2, 3, 8, 257])
@pytest.mark.parametrize('dim', [2, 10])
def test_circle_closed_forms(n, dim):
    """N equally spaced points on a unit circle: prod_k |1 - w^k| = N, so the pair mean of
    log(1/d) is E_0 = -ln(N) / (N - 1) (0 only as N -> inf); sum_k 1 / (4 sin^2(pi k / N)) =
    (N^2 - 1) / 12, so E_2 = (N + 1) / 12."""
    pts = circle(n, dim=dim, radius=3.0)  # radius irrelevant: features are L2-normalised
    out = energies(pts, s_values=(0, 1, 2), chunk_size=64)
    assert float(out[0]) == pytest.approx(-math.log(n) / (n - 1), abs=1e-9)
    assert float(out[2]) == pytest.approx((n + 1) / 12, rel=1e-9)
    assert float(out[1]) == pytest.approx(direct_energy(pts, 1), rel=1e-9)


def test_circle_e0_tends_to_zero():
    values = [float(hyperspherical_energy(circle(n), s=0)) for n in (10, 100, 2000)]
    assert all(v < 0 for v in values)
    assert abs(values[0]) > abs(values[1]) > abs(values[2])
    assert abs(values[2]) < 5e-3


@pytest.mark.parametrize('s', [0, 1, 2])
def test_collapsed_scores_higher_than_spread(s):
    g = torch.Generator().manual_seed(4)
    spread = torch.randn(200, 10, generator=g)
    direction = torch.zeros(10)
    direction[0] = 1
    collapsed = direction + 0.05 * torch.randn(200, 10, generator=g)  # small-angle cluster
    assert hyperspherical_energy(collapsed, s=s) > hyperspherical_energy(spread, s=s)


def test_identical_points_are_finite():
    feats = torch.tensor([[1.0, 0.0], [2.0, 0.0]])  # the same direction: distance 0
    assert float(hyperspherical_energy(feats, s=0)) == pytest.approx(-math.log(1e-6), rel=1e-6)
    assert float(hyperspherical_energy(feats, s=2)) == pytest.approx(1e12, rel=1e-5)
    assert float(hyperspherical_energy(feats, s=0, eps=1e-3)) == pytest.approx(
        -math.log(1e-3), rel=1e-6)


def test_invalid_inputs():
    with pytest.raises(ValueError):
        hyperspherical_energy(torch.randn(1, 4))
    with pytest.raises(ValueError):
        hyperspherical_energy(torch.randn(4))
    with pytest.raises(ValueError):
        hyperspherical_energy(torch.randn(4, 4), s=-1)
    with pytest.raises(ValueError):
        hyperspherical_energy(torch.randn(4, 4), chunk_size=0)


def _samples(num, p, c, seed=5):
    g = torch.Generator().manual_seed(seed)
    return [dict(diversity_feat=torch.rand(p, c, generator=g)) for _ in range(num)]


@pytest.mark.parametrize('p', [1, 4])
def test_metric_process_compute(p):
    samples = _samples(30, p, 12)
    metric = HypersphericalEnergyMetric(chunk_size=7)
    metric.process(None, samples[:16])
    metric.process(None, samples[16:])
    out = metric.compute_metrics(metric.results)
    assert set(out) == {'energy_s0', 'energy_s1', 'energy_s2'}
    feats = torch.cat([s['diversity_feat'] for s in samples])
    for s in (0, 1, 2):
        assert isinstance(out[f'energy_s{s}'], float)
        assert out[f'energy_s{s}'] == pytest.approx(direct_energy(feats, s), rel=1e-6)


def test_metric_through_evaluator():
    from mmengine.evaluator import Evaluator
    from mmengine.structures import BaseDataElement
    samples = _samples(20, 2, 8)
    evaluator = Evaluator(dict(type='HypersphericalEnergyMetric', s_values=(0, 2)))
    for start in (0, 8, 16):
        batch = [BaseDataElement(diversity_feat=s['diversity_feat'])
                 for s in samples[start:start + 8]]
        evaluator.process(data_samples=batch)
    out = evaluator.evaluate(len(samples))
    feats = torch.cat([s['diversity_feat'] for s in samples])
    assert set(out) == {'diversity/energy_s0', 'diversity/energy_s2'}
    assert out['diversity/energy_s0'] == pytest.approx(direct_energy(feats, 0), rel=1e-6)
    assert out['diversity/energy_s2'] == pytest.approx(direct_energy(feats, 2), rel=1e-6)


def test_metric_found_from_task_scopes():
    from mmengine.registry import METRICS
    assert METRICS.get('HypersphericalEnergyMetric') is HypersphericalEnergyMetric
    for scope in ('mmseg', 'mmpretrain'):
        registry = pytest.importorskip(f'{scope}.registry')
        metric = registry.METRICS.build(dict(type='HypersphericalEnergyMetric', prefix='div'))
        assert isinstance(metric, HypersphericalEnergyMetric)


def test_metric_max_features_subsample_is_seeded():
    samples = _samples(50, 2, 6)
    feats = torch.cat([s['diversity_feat'] for s in samples])

    def run(**kwargs):
        metric = HypersphericalEnergyMetric(**kwargs)
        metric.process(None, samples)
        return metric.compute_metrics(metric.results)

    a, b = run(max_features=40), run(max_features=40)
    assert a == b
    keep = torch.randperm(100, generator=torch.Generator().manual_seed(0))[:40].sort().values
    assert a['energy_s1'] == pytest.approx(direct_energy(feats[keep], 1), rel=1e-6)
    assert run(max_features=40, seed=1) != a
    assert run(max_features=1000) == run()  # not triggered below the limit


def test_metric_missing_field_raises():
    metric = HypersphericalEnergyMetric()
    with pytest.raises(KeyError, match='CSGImageClassifier.*CSGEncoderDecoder'):
        metric.process(None, [dict(pred_label=torch.tensor([1]))])


def test_metric_accepts_1d_feature_and_rejects_bad_shapes():
    metric = HypersphericalEnergyMetric()
    metric.process(None, [dict(diversity_feat=torch.rand(5)), dict(diversity_feat=torch.rand(5))])
    assert [tuple(r.shape) for r in metric.results] == [(1, 5), (1, 5)]
    with pytest.raises(ValueError):
        metric.process(None, [dict(diversity_feat=torch.rand(2, 3, 4))])
    with pytest.raises(ValueError):
        metric.compute_metrics([torch.rand(1, 5), torch.rand(1, 6)])

"""csg_mm.utils.stats: Student-t intervals, paired differences and verdicts, against values
computed by hand (t quantiles from a printed table of Student's t distribution)."""
import math

import pytest

from csg_mm.utils.stats import mean_interval, paired_difference, t_quantile, verdict


@pytest.mark.parametrize('dof, table', [(1, 12.706), (4, 2.776), (9, 2.262), (29, 2.045)])
def test_t_quantile_matches_the_table(dof, table):
    assert t_quantile(0.95, dof) == pytest.approx(table, abs=5e-4)


def test_t_quantile_other_confidence():
    assert t_quantile(0.90, 4) == pytest.approx(2.132, abs=5e-4)


@pytest.mark.parametrize('confidence, dof', [(0.0, 4), (1.0, 4), (1.5, 4), (0.95, 0)])
def test_t_quantile_rejects(confidence, dof):
    with pytest.raises(ValueError):
        t_quantile(confidence, dof)


def test_mean_interval_by_hand():
    # mean 3, sample variance (4 + 1 + 0 + 1 + 4) / 4 = 2.5, sem = sqrt(2.5 / 5) = 0.70711,
    # half-width = 2.77645 * 0.70711 = 1.96324
    iv = mean_interval([1, 2, 3, 4, 5])
    assert iv['n'] == 5
    assert iv['mean'] == pytest.approx(3.0)
    assert iv['std'] == pytest.approx(math.sqrt(2.5))
    assert iv['sem'] == pytest.approx(math.sqrt(0.5))
    assert iv['t'] == pytest.approx(2.776, abs=5e-4)
    assert iv['half_width'] == pytest.approx(1.9632, abs=1e-4)
    assert iv['low'] == pytest.approx(1.0368, abs=1e-4)
    assert iv['high'] == pytest.approx(4.9632, abs=1e-4)
    assert iv['values'] == [1.0, 2.0, 3.0, 4.0, 5.0]


def test_mean_interval_two_values():
    # n = 2: mean 2, std sqrt(2), sem 1, t = 12.706
    iv = mean_interval([1.0, 3.0])
    assert iv['half_width'] == pytest.approx(12.706, abs=5e-4)


@pytest.mark.parametrize('values', [[], [1.0], [1.0, float('nan')], [1.0, float('inf')]])
def test_mean_interval_rejects(values):
    with pytest.raises(ValueError):
        mean_interval(values)


def test_paired_difference_resolved_higher_by_hand():
    # differences 1, 2, 1, 2, 3: mean 1.8, variance 2.8 / 4 = 0.7, sem = sqrt(0.14) = 0.37417,
    # half-width = 2.77645 * 0.37417 = 1.03885 -> [0.7612, 2.8389]
    d = paired_difference([10, 12, 11, 13, 14], [9, 10, 10, 11, 11])
    assert d['mean'] == pytest.approx(1.8)
    assert d['std'] == pytest.approx(math.sqrt(0.7))
    assert d['half_width'] == pytest.approx(1.0389, abs=1e-4)
    assert d['low'] == pytest.approx(0.7612, abs=1e-4)
    assert d['high'] == pytest.approx(2.8389, abs=1e-4)
    assert d['verdict'] == 'higher' and d['resolved'] is True
    assert d['borderline'] is False  # 0.7612 > 0.5 * 1.0389


def test_paired_difference_sign_lower():
    d = paired_difference([9, 10, 10, 11, 11], [10, 12, 11, 13, 14])
    assert d['mean'] == pytest.approx(-1.8)
    assert d['verdict'] == 'lower' and d['resolved'] is True


def test_pairing_removes_the_seed_effect():
    # every seed 1 point better: the paired interval is [1, 1] although the two methods'
    # own intervals overlap widely
    a, b = [10, 20, 30, 40, 50], [9, 19, 29, 39, 49]
    d = paired_difference(a, b)
    assert d['low'] == pytest.approx(1.0) and d['high'] == pytest.approx(1.0)
    assert d['verdict'] == 'higher'
    assert mean_interval(a)['low'] < mean_interval(b)['high']


def test_paired_difference_unresolved():
    # differences 1, -1, 2, -2, 0.5: mean 0.1, the interval contains 0
    d = paired_difference([1, -1, 2, -2, 0.5], [0, 0, 0, 0, 0])
    assert d['low'] < 0 < d['high']
    assert d['verdict'] == 'unresolved' and d['resolved'] is False
    assert d['borderline'] is False  # mean 0.1 is far inside the interval


def test_borderline_resolved():
    # differences 0.5, 1.5, 0.5, 1.5, 2.5: mean 1.3, half-width 1.0389 -> low 0.2611, which is
    # within 0.5 half-widths (0.5194) of 0
    d = paired_difference([0.5, 1.5, 0.5, 1.5, 2.5], [0, 0, 0, 0, 0])
    assert d['low'] == pytest.approx(0.2611, abs=1e-4)
    assert d['verdict'] == 'higher' and d['borderline'] is True


def test_verdict_borderline_band():
    # |mean| in [0.5, 1.5] half-widths is borderline, on both sides of resolution
    for mean, word, border in [(0.4, 'unresolved', False), (0.6, 'unresolved', True),
                               (1.4, 'higher', True), (1.6, 'higher', False),
                               (-1.6, 'lower', False), (-0.9, 'unresolved', True)]:
        v = verdict(dict(mean=mean, half_width=1.0, low=mean - 1.0, high=mean + 1.0))
        assert (v['verdict'], v['borderline']) == (word, border), mean


def test_paired_difference_rejects_unpaired():
    with pytest.raises(ValueError, match='same seeds'):
        paired_difference([1, 2, 3], [1, 2])

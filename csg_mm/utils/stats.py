# Copyright (c) csg_mm contributors. All rights reserved.
"""Small-sample statistics for comparing training recipes over seeds (used by the digits demo,
:mod:`csg_mm.apis.demo`).

Every interval here is the two-sided Student-t confidence interval of a mean,
``mean +- t_{(1 + confidence) / 2, n - 1} * s / sqrt(n)`` with the sample standard deviation ``s``
(``ddof = 1``); the quantile is ``scipy.stats.t.ppf`` (for example 2.776 for n = 5 and 2.262 for
n = 10 at 95 %, as in any table of Student's t distribution). A comparison of two methods uses the
PAIRED differences (same seed: same synthetic training set, same initial head, same data order),
whose interval is the t interval of the per-seed differences.

A difference is called *resolved* when its interval excludes 0, and its sign is then the
verdict (``'higher'`` / ``'lower'``); otherwise it is ``'unresolved'``. Whether an interval
excludes 0 is a statement about the seed-to-seed noise, which on a CPU includes the
floating-point noise of the machine: another machine draws other noise, so a verdict can flip
there when the interval ends close to 0. :func:`verdict` therefore also flags a verdict as
*borderline* when the end of the interval nearest to 0 lies within ``margin`` half-widths of 0
(default 0.5: the mean of a repeat on another machine typically moves by about half a half-width
for n = 5 -- the standard error of a difference of two independent means is ``sqrt(2) s /
sqrt(n)``, and ``sqrt(2) / 2.776 = 0.51``). Verdicts that are not borderline are the ones a
reader can expect on any machine.
"""
import math
from typing import Dict, Sequence

import numpy as np

#: Words of :func:`verdict`.
VERDICTS = ('higher', 'lower', 'unresolved')


def t_quantile(confidence: float, dof: int) -> float:
    """The two-sided Student-t critical value ``t_{(1 + confidence) / 2, dof}``.

    Args:
        confidence (float): coverage in (0, 1), e.g. 0.95.
        dof (int): degrees of freedom (n - 1), >= 1.

    Returns:
        float: e.g. 2.7764 for (0.95, 4), 2.2622 for (0.95, 9) (``scipy.stats.t.ppf``).

    Raises:
        ValueError: confidence outside (0, 1) or dof < 1.
    """
    if not 0.0 < confidence < 1.0:
        raise ValueError(f'confidence must be in (0, 1), got {confidence}')
    if dof < 1:
        raise ValueError(f'a t interval needs at least 2 values (dof >= 1), got dof = {dof}')
    from scipy.stats import t
    return float(t.ppf((1.0 + confidence) / 2.0, dof))


def mean_interval(values: Sequence[float], confidence: float = 0.95) -> Dict:
    """Mean and Student-t confidence interval of ``values``.

    Args:
        values (Sequence[float]): n >= 2 finite numbers (one per seed).
        confidence (float): coverage of the interval. Defaults to 0.95.

    Returns:
        dict: ``n``, ``mean``, ``std`` (sample, ddof = 1), ``sem`` (``std / sqrt(n)``), ``t``
        (:func:`t_quantile`), ``half_width`` (``t * sem``), ``low``, ``high``, ``confidence`` and
        ``values`` (the inputs, as floats), all plain Python numbers (JSON-ready).

    Raises:
        ValueError: fewer than 2 values, or a value that is not finite.
    """
    x = np.asarray([float(v) for v in values], dtype=np.float64)
    if x.ndim != 1 or x.size < 2:
        raise ValueError(f'a confidence interval needs at least 2 values, got {x.size}')
    if not np.isfinite(x).all():
        raise ValueError(f'values must be finite, got {x.tolist()}')
    n = int(x.size)
    mean = float(x.mean())
    std = float(x.std(ddof=1))
    sem = std / math.sqrt(n)
    t = t_quantile(confidence, n - 1)
    half = t * sem
    return dict(n=n, mean=mean, std=std, sem=sem, t=t, half_width=half, low=mean - half,
                high=mean + half, confidence=float(confidence), values=x.tolist())


def verdict(interval: Dict, margin: float = 0.5) -> Dict:
    """The verdict on a difference interval (from :func:`paired_difference`).

    Args:
        interval (dict): with ``low``, ``high``, ``mean`` and ``half_width``.
        margin (float): the borderline band, in half-widths (see the module docstring).
            Defaults to 0.5.

    Returns:
        dict: ``verdict`` (``'higher'`` when ``low > 0``, ``'lower'`` when ``high < 0``, else
        ``'unresolved'``), ``resolved`` (bool) and ``borderline`` (bool: the interval end nearest
        to 0 is within ``margin * half_width`` of 0, on either side; then the verdict may
        differ on another machine).
    """
    low, high = float(interval['low']), float(interval['high'])
    half = float(interval['half_width'])
    if low > 0:
        word = 'higher'
    elif high < 0:
        word = 'lower'
    else:
        word = 'unresolved'
    nearest_end = min(abs(low), abs(high))
    return dict(verdict=word, resolved=word != 'unresolved',
                borderline=bool(nearest_end < margin * half))


def paired_difference(values: Sequence[float], reference: Sequence[float],
                      confidence: float = 0.95, margin: float = 0.5) -> Dict:
    """Mean and t interval of the paired differences ``values[i] - reference[i]``, and its
    :func:`verdict`.

    Args:
        values (Sequence[float]): one number per seed for the method.
        reference (Sequence[float]): the reference method's numbers, same seeds in the same order.
        confidence (float): coverage. Defaults to 0.95.
        margin (float): the borderline band of :func:`verdict`. Defaults to 0.5.

    Returns:
        dict: :func:`mean_interval` of the differences plus ``verdict``, ``resolved`` and
        ``borderline``.

    Raises:
        ValueError: the two sequences differ in length, or fewer than 2 pairs.
    """
    a = [float(v) for v in values]
    b = [float(v) for v in reference]
    if len(a) != len(b):
        raise ValueError(f'paired values need the same seeds: {len(a)} values against '
                         f'{len(b)} reference values')
    out = mean_interval([x - y for x, y in zip(a, b)], confidence)
    out.update(verdict(out, margin))
    return out


__all__ = ['VERDICTS', 't_quantile', 'mean_interval', 'paired_difference', 'verdict']

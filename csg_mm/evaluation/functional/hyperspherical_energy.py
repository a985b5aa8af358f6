# Copyright (c) csg_mm contributors. All rights reserved.
r"""Hyperspherical energy, the feature-diversity measure of CSG (Chen et al., ICLR 2021, Eq. 1).

For features :math:`v_1, \dots, v_N` projected onto the unit sphere
(:math:`\hat v_i = v_i / \lVert v_i \rVert`) the energy is the MEAN over the :math:`N (N - 1)`
ordered pairs :math:`i \ne j` of

.. math::

    e_s(\hat v_i, \hat v_j) = \begin{cases}
        \lVert \hat v_i - \hat v_j \rVert^{-s} & s > 0 \\
        \log \left( \lVert \hat v_i - \hat v_j \rVert^{-1} \right) & s = 0
    \end{cases}

The paper writes the sum; the values it reports (Table 1, VisDA-17 val, ResNet-101, s = 0:
baseline 0.4245, feature l2 0.3337, ASG 0.3251, CSG 0.3188) are pair means, which is what is
computed here. Lower = more diverse (the points are spread more evenly over the sphere).

The computation is exact and needs O(chunk_size * N) memory, not O(N^2) (two float64
(chunk_size, N) buffers at the peak): rows are processed in chunks, squared distances come from
the Gram matrix in float64
(:math:`\lVert a - b \rVert^2 = \lVert a \rVert^2 + \lVert b \rVert^2 - 2 a^\top b`,
tiny negative round-off clamped to 0), the diagonal (:math:`i = j`) is excluded, and sums and
pair counts are accumulated over the chunks.

**Identical points.** Two identical (or numerically indistinguishable) features have distance 0,
whose energy is infinite. To keep the result finite, distances are clamped from below at ``eps``
(default ``1e-6``): such a pair contributes :math:`\log(1 / \text{eps}) \approx 13.8` at s = 0 and
:math:`\text{eps}^{-s}` (``1e6`` at s = 1, ``1e12`` at s = 2) otherwise, i.e. a heavy but finite
penalty. The float64 Gram round-off on a zero distance is about ``1e-8``, below
``eps``; distances under ``eps`` are not resolved.

**A note on "uniform points give E_0 = 0".** For :math:`N` equally spaced points on a unit circle
the product of the chords from one point to the others is exactly :math:`N`
(:math:`\prod_{k=1}^{N-1} |1 - \omega^k| = N`, :math:`\omega = e^{2\pi i/N}`), so the pair mean
is :math:`E_0 = -\ln N / (N - 1)`: slightly NEGATIVE, tending to 0 as :math:`N \to \infty`
(e.g. -0.693 for N = 2, -0.0078 for N = 1000). It is 0 only in the limit. Post-ReLU features are
non-negative, so all their pairwise distances are at most :math:`\sqrt 2` and their E_0 is
above :math:`-\ln \sqrt 2 \approx -0.35`; in practice it is positive (Table 1: 0.32-0.42).
"""
import math
from typing import Dict, Sequence, Union

import torch
import torch.nn.functional as F
from torch import Tensor

DEFAULT_EPS = 1e-6


def _check_s(s: float) -> float:
    s = float(s)
    if not math.isfinite(s) or s < 0:
        raise ValueError(
            f'The hyperspherical energy power s must be a finite number >= 0, got {s}.')
    return s


def _prepare(feats: Tensor, normalize: bool) -> Tensor:
    feats = torch.as_tensor(feats)
    if feats.dim() != 2:
        raise ValueError(f'feats must be a 2-D (N, D) tensor, got shape {tuple(feats.shape)}.')
    if feats.shape[0] < 2:
        raise ValueError(
            f'The hyperspherical energy needs at least 2 features, got {feats.shape[0]}.')
    feats = feats.detach().to(torch.float64)
    if normalize:
        # A zero vector stays zero (F.normalize divides by max(norm, 1e-12)).
        feats = F.normalize(feats, p=2, dim=1)
    return feats


def _energy_sums(feats: Tensor, s_values: Sequence[float], chunk_size: int,
                 eps: float) -> Dict[float, Tensor]:
    """Pair means of the energies of ``feats`` (already float64 / normalised) for every s."""
    if chunk_size < 1:
        raise ValueError(f'chunk_size must be a positive integer, got {chunk_size}.')
    if not eps > 0:
        raise ValueError(f'eps must be > 0, got {eps}.')
    n = feats.shape[0]
    sq_norms = (feats * feats).sum(dim=1)
    sums = {s: torch.zeros((), dtype=torch.float64, device=feats.device) for s in s_values}
    count = 0
    for start in range(0, n, chunk_size):
        end = min(start + chunk_size, n)
        rows = feats[start:end]
        # ||a - b||^2 = ||a||^2 + ||b||^2 - 2 a.b, built in place (one (chunk, N) buffer).
        dist = (rows @ feats.T).mul_(-2.0)
        dist.add_(sq_norms[None, :]).add_(sq_norms[start:end, None])
        dist.clamp_(min=0.0).sqrt_().clamp_(min=eps)
        # The diagonal i == j (row r of this chunk is point start + r) is set to distance 1,
        # whose energy is 0 for s = 0 and exactly 1 for s > 0; the latter is subtracted below.
        idx = torch.arange(end - start, device=feats.device)
        dist[idx, idx + start] = 1.0
        n_diag = end - start
        count += dist.numel() - n_diag
        log_dist = dist.log_()
        for s in s_values:
            if s == 0:
                sums[s] -= log_dist.sum()
            else:
                # d^(-s) = exp(-s log d): one log shared by all powers.
                sums[s] += (log_dist * -s).exp_().sum() - n_diag
    assert count == n * (n - 1)
    return {s: total / count for s, total in sums.items()}


def hyperspherical_energy(feats: Tensor,
                          s: float = 0,
                          chunk_size: int = 4096,
                          normalize: bool = True,
                          eps: float = DEFAULT_EPS) -> Tensor:
    r"""Hyperspherical energy :math:`E_s` of a set of features (CSG, Eq. 1), as a pair mean.

    Args:
        feats (Tensor): Features of shape (N, D), N >= 2; any float dtype and device (the
            computation runs on that device, in float64).
        s (float): The power, >= 0. ``s = 0`` gives the mean of
            :math:`\log(1 / \lVert \hat v_i - \hat v_j \rVert)`, ``s > 0`` the mean of
            :math:`\lVert \hat v_i - \hat v_j \rVert^{-s}` over the ordered pairs ``i != j``.
            Defaults to 0.
        chunk_size (int): Rows processed at once; peak memory is about
            ``16 * chunk_size * N`` bytes. The result does not depend on it (up to float64
            summation order). Defaults to 4096.
        normalize (bool): L2-normalise the features first (project them onto the unit sphere),
            as Eq. 1 requires. Pass False only for features already normalised. Defaults to True.
        eps (float): Lower clamp on the pairwise distances, so that identical points give a large
            finite energy instead of ``inf`` (see the module docstring). Defaults to 1e-6.

    Returns:
        Tensor: A 0-dim float64 tensor. Lower = more diverse.

    Examples:
        >>> import math, torch
        >>> theta = torch.arange(8) * 2 * math.pi / 8
        >>> pts = torch.stack([theta.cos(), theta.sin()], dim=1)
        >>> float(hyperspherical_energy(pts, s=0))  # -ln(8) / 7
        -0.2970...
    """
    s = _check_s(s)
    feats = _prepare(feats, normalize)
    return _energy_sums(feats, [s], chunk_size, eps)[s]


def energies(feats: Tensor,
             s_values: Sequence[Union[int, float]] = (0, 1, 2),
             chunk_size: int = 4096,
             normalize: bool = True,
             eps: float = DEFAULT_EPS) -> Dict[Union[int, float], Tensor]:
    """:func:`hyperspherical_energy` for several powers in one pass over the pairs.

    Args:
        feats (Tensor): Features of shape (N, D), N >= 2.
        s_values (Sequence[int | float]): The powers. Defaults to (0, 1, 2).
        chunk_size (int): Rows processed at once. Defaults to 4096.
        normalize (bool): L2-normalise the features first. Defaults to True.
        eps (float): Lower clamp on the pairwise distances. Defaults to 1e-6.

    Returns:
        dict: ``{s: 0-dim float64 tensor}``, keyed by the given ``s_values`` entries.
    """
    s_values = list(s_values)
    if not s_values:
        raise ValueError('s_values must not be empty.')
    checked = {s: _check_s(s) for s in s_values}
    feats = _prepare(feats, normalize)
    result = _energy_sums(feats, sorted(set(checked.values())), chunk_size, eps)
    return {s: result[checked[s]] for s in s_values}

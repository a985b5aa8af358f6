# Copyright (c) csg_mm contributors. All rights reserved.
"""Feature diversity as hyperspherical energy (CSG, Chen et al., ICLR 2021, Eq. 1 / Table 1)."""
from typing import Dict, List, Optional, Sequence, Union

import torch
from mmengine.evaluator import BaseMetric
from mmengine.registry import METRICS

from csg_mm.evaluation.functional.hyperspherical_energy import DEFAULT_EPS, energies

FEATURE_KEY = 'diversity_feat'


def _get_feat(data_sample) -> Optional[object]:
    """``data_sample['diversity_feat']`` for a dict (what mmengine's ``Evaluator`` passes, via
    ``to_dict()``) or a data element; None when absent."""
    if isinstance(data_sample, dict):
        return data_sample.get(FEATURE_KEY)
    getter = getattr(data_sample, 'get', None)
    if getter is not None:
        return getter(FEATURE_KEY, None)
    return getattr(data_sample, FEATURE_KEY, None)


@METRICS.register_module()
class HypersphericalEnergyMetric(BaseMetric):
    r"""Hyperspherical energy of the test-set features: the feature-diversity measure of CSG.

    CSG (Table 1) measures how diverse the learned representation is on the real target domain
    by the hyperspherical energy (Eq. 1) of the features of all evaluated images:

    .. math::

        E_s = \frac{1}{N (N - 1)} \sum_{i \ne j} \begin{cases}
            \lVert \hat v_i - \hat v_j \rVert^{-s} & s > 0 \\
            \log \lVert \hat v_i - \hat v_j \rVert^{-1} & s = 0
        \end{cases}, \qquad \hat v_i = v_i / \lVert v_i \rVert.

    **Which features.** The metric does not run the model; it reads the field ``diversity_feat``
    that csg_mm's :class:`CSGImageClassifier` / :class:`CSGEncoderDecoder` attach to every output
    data sample in ``predict()``: a tensor of shape (P, C) built from the LAST backbone stage
    (post-ReLU, so non-negative):

    - classification: P = 1, the global-average-pooled last-stage feature (2048-d for
      ResNet-101), the setting of the paper's Table 1;
    - segmentation: P = n * n, the last stage average-pooled over an n x n grid of patches
      (default n = 8, the Eq. 6 setting), every patch being one point.

    All rows of all samples are pooled into one set of N points (N = #images for
    classification, #images * n * n for segmentation).

    **Normalisation and averaging.** Every point is L2-normalised (projected onto the unit
    sphere), and the energy is the MEAN over the N (N - 1) ordered pairs ``i != j`` (the paper
    writes the sum, but its reported values are means). It is computed exactly, in float64, in
    row chunks of ``chunk_size`` (O(chunk_size * N) memory); distances are clamped from below at
    ``eps`` so that duplicate features give a large finite energy instead of ``inf``. See
    :func:`csg_mm.evaluation.functional.hyperspherical_energy`.

    **Reading the values.** Lower = more diverse (the features are spread more evenly over the
    sphere). For reference, N equally spaced points on a unit circle give
    :math:`E_0 = -\ln N / (N - 1)`, which is 0 only in the limit N -> infinity (slightly negative
    for finite N). Post-ReLU features lie in the non-negative orthant, so their distances are at
    most sqrt(2) and E_0 comes out positive. Paper, Table 1 (VisDA-17 validation, ResNet-101,
    s = 0): baseline 0.4245, feature l2 0.3337, ASG 0.3251, CSG 0.3188; over the compared
    methods E_0 spans 0.32-0.42, E_1 1.18-1.25, E_2 1.42-1.60.

    **Baselines.** To measure a model trained without CSG, build it as a ``CSGImageClassifier``
    / ``CSGEncoderDecoder`` with ``regularizer=None``: the model then still attaches
    ``diversity_feat``. Samples without the field raise a ``KeyError``.

    **Cost.** The pairwise work is O(N^2 * C), on the CPU (where mmengine gathers the results):
    all 55,388 VisDA-17 validation images at C = 2048 are ~1.3e13 float64 flops, tens of minutes
    on a few cores (and ~450 MB of stored features); ``max_features`` bounds it (10,000 points:
    ~30x less).

    Args:
        s_values (Sequence[int | float]): The powers s >= 0 to report. Defaults to (0, 1, 2).
        chunk_size (int): Rows of the pairwise computation processed at once. Defaults to 4096.
        max_features (int, optional): When more than this many points (rows, i.e. patches for
            segmentation) are collected, a random subset of this size is used, drawn with a
            ``torch.Generator`` seeded with ``seed`` (the same subset every evaluation for the
            same N). The result is then an unbiased estimate of the full-set pair mean.
            Defaults to None: all points.
        seed (int): Seed of the subsampling. Defaults to 0.
        eps (float): Lower clamp on the pairwise distances. Defaults to 1e-6.
        collect_device (str): Device used to collect results across ranks, ``'cpu'`` or
            ``'gpu'``. Defaults to ``'cpu'``.
        prefix (str, optional): Prefix of the result keys. Defaults to None, meaning
            :attr:`default_prefix` (``'diversity'``).

    Returns (from :meth:`evaluate`):
        dict: ``'diversity/energy_s0'``, ``'diversity/energy_s1'``, ``'diversity/energy_s2'``
        (one ``energy_s{s:g}`` per entry of ``s_values``), as Python floats.

    Examples:
        >>> import torch
        >>> metric = HypersphericalEnergyMetric()
        >>> samples = [dict(diversity_feat=torch.rand(1, 16)) for _ in range(10)]
        >>> metric.process(None, samples)
        >>> sorted(metric.evaluate(size=10))
        ['diversity/energy_s0', 'diversity/energy_s1', 'diversity/energy_s2']
    """

    default_prefix: Optional[str] = 'diversity'

    def __init__(self,
                 s_values: Sequence[Union[int, float]] = (0, 1, 2),
                 chunk_size: int = 4096,
                 max_features: Optional[int] = None,
                 seed: int = 0,
                 eps: float = DEFAULT_EPS,
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None,
                 **kwargs) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix, **kwargs)
        self.s_values = tuple(s_values)
        if not self.s_values:
            raise ValueError('s_values must not be empty.')
        for s in self.s_values:
            if not float(s) >= 0:
                raise ValueError(f'Every s in s_values must be >= 0, got {s}.')
        if chunk_size < 1:
            raise ValueError(f'chunk_size must be a positive integer, got {chunk_size}.')
        if max_features is not None and max_features < 2:
            raise ValueError(f'max_features must be None or >= 2, got {max_features}.')
        self.chunk_size = int(chunk_size)
        self.max_features = max_features
        self.seed = int(seed)
        self.eps = float(eps)

    def process(self, data_batch, data_samples: Sequence) -> None:
        """Keep the ``diversity_feat`` of every data sample, as a (P, C) float32 CPU tensor."""
        for data_sample in data_samples:
            feat = _get_feat(data_sample)
            if feat is None:
                raise KeyError(
                    f'{self.__class__.__name__} needs the field `{FEATURE_KEY}` on every data '
                    'sample, but a sample has none. It is attached by the predict() of csg_mm\'s '
                    'CSG models: the model must be a csg_mm CSGImageClassifier (mmpretrain) or '
                    'CSGEncoderDecoder (mmseg); for a baseline without CSG build the same model '
                    'with regularizer=None.')
            feat = torch.as_tensor(feat).detach()
            if feat.dim() == 1:
                feat = feat[None]
            if feat.dim() != 2:
                raise ValueError(f'`{FEATURE_KEY}` must have shape (P, C) (or (C,)), got '
                                 f'{tuple(feat.shape)}.')
            self.results.append(feat.to(device='cpu', dtype=torch.float32))

    def compute_metrics(self, results: List) -> Dict[str, float]:
        """Pool all rows of all samples and compute the energies."""
        if not results:
            raise ValueError(f'{self.__class__.__name__} got no features to evaluate.')
        dims = {r.shape[1] for r in results}
        if len(dims) != 1:
            raise ValueError(f'All `{FEATURE_KEY}` must have the same number of channels, got '
                             f'{sorted(dims)}.')
        feats = torch.cat(results, dim=0)
        if feats.shape[0] < 2:
            raise ValueError('The hyperspherical energy needs at least 2 features, got '
                             f'{feats.shape[0]}.')
        if self.max_features is not None and feats.shape[0] > self.max_features:
            generator = torch.Generator().manual_seed(self.seed)
            keep = torch.randperm(feats.shape[0], generator=generator)[:self.max_features]
            feats = feats[keep.sort().values]
        values = energies(feats, self.s_values, chunk_size=self.chunk_size, normalize=True,
                          eps=self.eps)
        return {f'energy_s{float(s):g}': float(v) for s, v in values.items()}

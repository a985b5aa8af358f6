# Copyright (c) csg_mm contributors. All rights reserved.
"""The paper's Figure-2-style plot of feature diversity: L2-normalised features projected onto
their top-2 principal components, each 2-D point normalised onto the unit circle, and the
wrapped kernel density of the angles (docs/feature_diversity.md)."""


def circle_angles(feats):
    """Angles (radians) of the features on the unit circle: L2-normalise, centre, project onto
    the top-2 principal components, normalise each 2-D point to unit length."""
    import numpy as np

    x = feats.double().numpy()
    x = x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)
    x = x - x.mean(axis=0, keepdims=True)
    cov = x.T @ x / max(len(x) - 1, 1)
    _, vecs = np.linalg.eigh(cov)  # ascending eigenvalues
    pts = x @ vecs[:, ::-1][:, :2]
    if pts.shape[1] < 2:  # 1-channel features
        pts = np.concatenate([pts, np.zeros_like(pts)], axis=1)
    pts = pts / np.maximum(np.linalg.norm(pts, axis=1, keepdims=True), 1e-12)
    return np.arctan2(pts[:, 1], pts[:, 0])


def circular_density(angles, grid):
    """Wrapped Gaussian KDE (Scott's rule) of ``angles`` evaluated at ``grid`` (radians)."""
    import numpy as np
    from scipy.stats import gaussian_kde

    try:
        kde = gaussian_kde(angles)  # bw_method='scott'
        return sum(kde(grid + shift) for shift in (-2 * np.pi, 0.0, 2 * np.pi))
    except (np.linalg.LinAlgError, ValueError):  # all angles (nearly) equal
        hist, edges = np.histogram(angles, bins=72, range=(-np.pi, np.pi), density=True)
        idx = np.clip(np.searchsorted(edges, grid, side='right') - 1, 0, len(hist) - 1)
        return hist[idx]


def plot_circle(feats, title: str, path: str) -> None:
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    import numpy as np

    angles = circle_angles(feats)
    theta = np.linspace(-np.pi, np.pi, 721)
    dens = circular_density(angles, theta)
    uniform = 1 / (2 * np.pi)

    fig, (ax_c, ax_d) = plt.subplots(1, 2, figsize=(10, 4.8),
                                     gridspec_kw=dict(width_ratios=[1, 1.3]))
    scale = 0.6 / max(float(dens.max()), uniform)
    outer = 1 + scale * dens
    ax_c.fill(np.concatenate([np.cos(theta) * outer, np.cos(theta[::-1])]),
              np.concatenate([np.sin(theta) * outer, np.sin(theta[::-1])]),
              color='tab:blue', alpha=0.45, lw=0, label='density')
    ax_c.plot(np.cos(theta) * outer, np.sin(theta) * outer, color='tab:blue', lw=1.2)
    ax_c.plot(np.cos(theta), np.sin(theta), color='black', lw=1.0)
    ax_c.plot(np.cos(theta) * (1 + scale * uniform), np.sin(theta) * (1 + scale * uniform),
              color='gray', lw=0.8, ls='--', label='uniform')
    ax_c.scatter(np.cos(angles) * 0.97, np.sin(angles) * 0.97, s=6, color='tab:red',
                 alpha=min(1.0, max(0.05, 50 / max(len(angles), 1))), lw=0, label='features')
    lim = 1 + scale * float(dens.max()) + 0.1
    ax_c.set_xlim(-lim, lim)
    ax_c.set_ylim(-lim, lim)
    ax_c.set_aspect('equal')
    ax_c.axis('off')
    ax_c.legend(loc='lower left', fontsize=7, frameon=False)

    ax_d.plot(theta, dens, color='tab:blue', label='Gaussian KDE (Scott)')
    ax_d.fill_between(theta, dens, color='tab:blue', alpha=0.3)
    ax_d.axhline(uniform, color='gray', ls='--', lw=0.8, label='uniform 1/(2\u03c0)')
    ax_d.set_xlim(-np.pi, np.pi)
    ax_d.set_ylim(bottom=0)
    ax_d.set_xticks([-np.pi, -np.pi / 2, 0, np.pi / 2, np.pi])
    ax_d.set_xticklabels(['-\u03c0', '-\u03c0/2', '0', '\u03c0/2', '\u03c0'])
    ax_d.set_xlabel('angle on the circle (top-2 principal components)')
    ax_d.set_ylabel('density')
    ax_d.legend(fontsize=8)
    fig.suptitle(title, fontsize=11)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


__all__ = ['circle_angles', 'circular_density', 'plot_circle']

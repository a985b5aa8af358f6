# Copyright (c) csg_mm contributors. All rights reserved.
"""The plot of the digits demo's multi-seed summary (:func:`csg_mm.apis.demo.summarize`)."""
from typing import Dict, Optional

#: bar colours: CSG red, the others blue (as the paper's Table 1 highlights CSG)
CSG_COLOR = '#d62728'
OTHER_COLOR = '#1f77b4'


def plot_summary(summary: Dict, path: str, labels: Optional[Dict[str, str]] = None,
                 title: str = '') -> None:
    """Four panels, written to ``path`` (PNG, 100 dpi):

    * top: per method, the mean over seeds of the mean class accuracy (%) and of the energy
      s = 0 as bars, their Student-t confidence intervals (``summary['confidence']``) as error
      bars and every seed's value as a dot;
    * bottom: the paired difference to the reference method (same seed) with its interval, a
      line at 0; a difference is resolved when its interval does not cross that line.

    Args:
        summary (dict): :func:`csg_mm.apis.demo.summarize` output (``methods``,
            ``differences``, ``seeds``, ``confidence``).
        path (str): output file.
        labels (dict, optional): method key -> short name for the axis.
        title (str): figure title.
    """
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    import numpy as np

    labels = labels or {}
    keys = list(summary['methods'])
    names = [labels.get(k, k) for k in keys]
    colors = [CSG_COLOR if k == 'csg' else OTHER_COLOR for k in keys]
    pct = round(summary['confidence'] * 100)
    metrics = (('mean_class_acc', 'mean class accuracy, real test (%)', '%.1f',
                'accuracy minus baseline (points)'),
               ('energy_s0', 'energy s=0, real test (lower = more diverse)', '%.3f',
                'energy s=0 minus baseline'))
    fig, axes = plt.subplots(2, 2, figsize=(11, 7.5))
    x = np.arange(len(keys))
    for col, (name, ylabel, fmt, dlabel) in enumerate(metrics):
        ax = axes[0, col]
        ivs = [summary['methods'][k][name] for k in keys]
        means = np.array([iv['mean'] for iv in ivs])
        half = np.array([iv['half_width'] for iv in ivs])
        bars = ax.bar(x, means, yerr=half, color=colors, alpha=0.8, capsize=5)
        ax.bar_label(bars, fmt=fmt, fontsize=8, label_type='center')
        for i, iv in enumerate(ivs):
            vals = np.asarray(iv['values'])
            ax.scatter(np.full(len(vals), x[i]) + np.linspace(-0.25, 0.25, len(vals)), vals,
                       s=9, color='black', zorder=3)
        ax.set_xticks(x, names, fontsize=9)
        ax.set_ylabel(ylabel, fontsize=9)
        ax.set_title(f'mean over seeds, {pct} % t interval, dots = seeds', fontsize=9)
        ax = axes[1, col]
        diffs = summary.get('differences') or {}
        dkeys = [k for k in keys if k in diffs]
        if not dkeys:
            ax.set_axis_off()
            continue
        dx = np.arange(len(dkeys))
        divs = [diffs[k][name] for k in dkeys]
        ax.errorbar(dx, [d['mean'] for d in divs], yerr=[d['half_width'] for d in divs],
                    fmt='o', capsize=6, color='black')
        for i, d in enumerate(divs):
            ax.annotate(d['verdict'] + (' (borderline)' if d['borderline'] else ''),
                        (dx[i], d['high']), textcoords='offset points', xytext=(0, 4),
                        ha='center', fontsize=8)
        ax.axhline(0.0, color='gray', lw=1, ls='--')
        ax.set_xticks(dx, [labels.get(k, k) for k in dkeys], fontsize=9)
        ax.set_xlim(-0.5, len(dkeys) - 0.5)
        ax.margins(y=0.2)
        ax.set_ylabel(dlabel + ', same seed', fontsize=9)
        ax.set_title(f'paired difference to the {summary.get("reference", "baseline")}, '
                     f'{pct} % t interval', fontsize=9)
    fig.suptitle(title)
    fig.tight_layout(rect=(0, 0, 1, 0.96))
    fig.savefig(path, dpi=100)
    plt.close(fig)


__all__ = ['plot_summary']

# Copyright (c) csg_mm contributors. All rights reserved.
"""Feature diversity of a model on its test set (``tools/analysis_tools/feature_diversity.py``;
docs/feature_diversity.md): the last backbone stage average-pooled (one point per image, or per
patch of an ``n x n`` grid), and the tables of the hyperspherical energies (paper Eq. 1,
:func:`csg_mm.evaluation.functional.energies`)."""
import csv
import math
import os.path as osp
from typing import Dict, List, Optional, Tuple

from csg_mm.apis.model_loading import ModelLoadingError
from csg_mm.utils.paths import announce_write, unique_path

#: the energies reported (paper Table 1 gives s = 0, 1, 2)
S_VALUES = (0, 1, 2)


def resolve_grid(cfg, task: str, grid: Optional[int]) -> int:
    """The grid n, written into ``model.test_cfg.diversity_grid`` for segmentation."""
    if task == 'seg':
        test_cfg = cfg.model.get('test_cfg') or dict(mode='whole')
        if grid is None:
            grid = test_cfg.get('diversity_grid') or 8
        test_cfg['diversity_grid'] = grid
        cfg.model.test_cfg = test_cfg
        return grid
    return 1 if grid is None else grid


class LastStageHook:
    """Forward hook on the backbone: the last output pooled over an n x n grid, per image."""

    def __init__(self, grid: int) -> None:
        self.grid = grid
        self.feats: List = []

    def __call__(self, module, inputs, outputs) -> None:
        from csg_mm.models.csg.pooling import gap_pool

        last = outputs[-1] if isinstance(outputs, (list, tuple)) else outputs
        last = last.detach()
        grid = min(self.grid, *last.shape[2:])
        self.feats.append(gap_pool(last, grid).reshape(last.shape[0], grid * grid, -1).cpu())

    def pop(self):
        import torch
        feats, self.feats = self.feats, []
        return torch.cat(feats, dim=1) if feats else None


def collect_features(model, dataloader, grid: int, task: str):
    """(N, C) float32 features of the whole test set -- every sample's ``diversity_feat`` rows
    (the backbone hook's pooling when the model attaches none, or for classification with
    grid > 1) -- and the number of images."""
    import torch

    hook = LastStageHook(grid)
    handle = model.backbone.register_forward_hook(hook)
    rows = []
    num_images = 0
    try:
        with torch.no_grad():
            for batch in dataloader:
                results = model.test_step(batch)
                num_images += len(results)
                hooked = hook.pop()
                attached = [r.get('diversity_feat', None) for r in results]
                use_attached = all(a is not None for a in attached) and not (
                    task == 'cls' and grid > 1)
                if use_attached:
                    for feat in attached:
                        feat = torch.as_tensor(feat).detach().float().cpu()
                        rows.append(feat[None] if feat.dim() == 1 else feat)
                else:
                    if hooked is None or hooked.shape[0] != len(results):
                        raise ModelLoadingError(
                            'the model attaches no `diversity_feat` to its results and its '
                            'backbone output could not be matched to the images; use csg_mm\'s '
                            'CSGEncoderDecoder / CSGImageClassifier (regularizer=None for a '
                            'baseline)')
                    rows.extend(hooked.float())
    finally:
        handle.remove()
    if not rows:
        raise ModelLoadingError('the test dataloader gave no images')
    return torch.cat(rows, dim=0), num_images


def subsample(feats, max_features: Optional[int], seed: int):
    """At most ``max_features`` rows of ``feats`` (N, C), a random subset in their original
    order (``torch.Generator`` seeded with ``seed``, as the energy metric's subsampling)."""
    import torch
    if max_features is None or feats.shape[0] <= max_features:
        return feats
    generator = torch.Generator().manual_seed(seed)
    keep = torch.randperm(feats.shape[0], generator=generator)[:max_features]
    return feats[keep.sort().values]


def format_energy(value: float) -> str:
    """An energy with 4 decimals (``inf`` / ``nan`` as they are)."""
    return f'{value:.4f}' if math.isfinite(value) else str(value)


def format_table(rows: List[Tuple[str, int, Dict[int, float]]]) -> str:
    """The printed table: checkpoint, N features, E_0, E_1, E_2 (aligned columns)."""
    header = ['checkpoint', 'N features'] + [f'E_{s}' for s in S_VALUES]
    body = [[name, str(n)] + [format_energy(e[s]) for s in S_VALUES] for name, n, e in rows]
    widths = [max(len(r[i]) for r in [header] + body) for i in range(len(header))]
    lines = ['  '.join(c.ljust(w) if i == 0 else c.rjust(w)
                       for i, (c, w) in enumerate(zip(r, widths))) for r in [header] + body]
    lines.insert(1, '  '.join('-' * w for w in widths))
    return '\n'.join(lines)


def write_tables(out_dir: str, rows, config: str, grid: int, task: str,
                 totals: List[int]) -> List[str]:
    """``feature_diversity.md`` and ``.csv`` in ``out_dir`` (an existing file is kept: the new
    one gets a ``_k`` suffix). ``rows``: ``(checkpoint, N features, {s: E_s})``; ``totals``: the
    number of features before subsampling. Returns the paths written."""
    written = []
    md_wanted = osp.join(out_dir, 'feature_diversity.md')
    md = unique_path(md_wanted)
    with open(md, 'x') as f:
        f.write('# Feature diversity (hyperspherical energy, lower = more diverse)\n\n')
        pooled = ('global-average-pooled last stage, one point per image' if grid == 1 else
                  f'last stage average-pooled over a {grid} x {grid} grid, one point per patch')
        f.write(f'Config: `{config}`; features: {pooled} ({task}); L2-normalised; energies are '
                'means over ordered pairs.\n\n')
        f.write('| checkpoint | N features | ' + ' | '.join(f'E_{s}' for s in S_VALUES) + ' |\n')
        f.write('|---|---:|' + '---:|' * len(S_VALUES) + '\n')
        for (name, n, e), total in zip(rows, totals):
            n_text = f'{n} of {total}' if total != n else str(n)
            energies = ' | '.join(format_energy(e[s]) for s in S_VALUES)
            f.write(f'| {name} | {n_text} | {energies} |\n')
    announce_write(md, md_wanted)
    written.append(md)
    csv_wanted = osp.join(out_dir, 'feature_diversity.csv')
    csv_path = unique_path(csv_wanted)
    with open(csv_path, 'x', newline='') as f:
        writer = csv.writer(f)
        writer.writerow(['checkpoint', 'n_features', 'n_total'] + [f'E_{s}' for s in S_VALUES])
        for (name, n, e), total in zip(rows, totals):
            writer.writerow([name, n, total] + [repr(e[s]) for s in S_VALUES])
    announce_write(csv_path, csv_wanted)
    written.append(csv_path)
    return written


__all__ = ['S_VALUES', 'resolve_grid', 'LastStageHook', 'collect_features', 'subsample',
           'format_energy', 'format_table', 'write_tables']

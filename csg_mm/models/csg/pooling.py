"""Pooling for CSG embeddings: GAP, attentional pooling (A-pool) and grid chunking.

Chen et al., "Contrastive Syn-to-Real Generalization", ICLR 2021, Sec. 3.3 (A-pool) and Eq. 6
(chunking dense feature maps into an ``n x n`` grid of patches, one embedding per patch).

For a feature map ``v`` (C x h x w) of one patch:

* GAP:    ``g(v) = mean_ij v[:, i, j]``
* A-pool: ``vbar = mean_ij u[:, i, j]``,
  ``a_ij = <u[:, i, j], vbar> / sum_i'j' <u[:, i', j'], vbar>``,
  ``g(v) = sum_ij a_ij * v[:, i, j]``

where ``u`` is the map the attention is taken from: ``u = v`` for the student (query) embedding;
for the teacher (key) embedding ``u`` is the student's map of the key view, because the student is
the network adapted to the source domain.

Grid chunking splits ``H x W`` into ``n x n`` non-overlapping patches whose borders are
``floor(k * H / n)`` (as in ``torch.tensor_split``), so maps that ``n`` does not divide are
covered completely. When ``n`` divides the map, pooling works on ``(B * n * n, C, h * w)`` patch
matrices (batched matmuls); otherwise on patch ids with ``index_add``. Both serve
``n = 1`` (classification) and ``n = 8`` (segmentation) and are tested against the equations.
"""
from typing import Optional, Tuple

import torch
from mmengine.registry import MODELS
from torch import Tensor, nn

POOL_TYPES = ('gap', 'apool')


def grid_patch_ids(height: int, width: int, grid: int, device=None) -> Tensor:
    """Patch index (row-major over the ``grid x grid`` patches) of every pixel of a map.

    Returns:
        Tensor: ``(height * width,)`` long tensor with values in ``[0, grid * grid)``.
    """
    if grid < 1:
        raise ValueError(f'CSG grid must be a positive integer, got {grid}')
    if height < grid or width < grid:
        raise ValueError(
            f'CSG grid {grid}x{grid} is larger than the feature map ({height}x{width}): every '
            f'patch needs at least one feature. Use a smaller `grid` in the CSG pooling config '
            f'or larger training crops.')
    rows = torch.arange(height, device=device) * grid // height
    cols = torch.arange(width, device=device) * grid // width
    return (rows[:, None] * grid + cols[None, :]).reshape(-1)


def _patch_sum(values: Tensor, ids: Tensor, num_patches: int) -> Tensor:
    """Sum ``(B, C, HW)`` values over pixels of each patch -> ``(B, C, P)``."""
    out = values.new_zeros(values.shape[:-1] + (num_patches, ))
    return out.index_add(-1, ids, values)


def _grid_view(x: Tensor, grid: int) -> Optional[Tensor]:
    """``(B, C, H, W)`` as ``(B, C, n, H/n, n, W/n)`` when ``n`` divides both sides (the fast
    path: reductions instead of ``index_add``), else None."""
    b, c, h, w = x.shape
    grid_patch_ids(h, w, grid)  # validates the grid against the map
    if h % grid or w % grid:
        return None
    return x.reshape(b, c, grid, h // grid, grid, w // grid)


def _patch_matrix(view: Tensor) -> Tensor:
    """``(B, C, n, h, n, w)`` -> ``(B * n * n, C, h * w)``, patches row-major per image."""
    b, c, n, h, _, w = view.shape
    return view.permute(0, 2, 4, 1, 3, 5).reshape(b * n * n, c, h * w)


def _flatten_patches(pooled: Tensor) -> Tensor:
    """``(B, C, n, n)`` -> ``(B * n * n, C)``, patches of one image contiguous, row-major."""
    b, c = pooled.shape[:2]
    return pooled.permute(0, 2, 3, 1).reshape(-1, c)


def gap_pool(feats: Tensor, grid: int = 1) -> Tensor:
    """Global average pooling per grid patch.

    Args:
        feats (Tensor): ``(B, C, H, W)``.
        grid (int): ``n`` of the ``n x n`` grid.

    Returns:
        Tensor: ``(B * n * n, C)``, patches of one image contiguous, row-major.
    """
    view = _grid_view(feats, grid)
    if view is not None:
        return _flatten_patches(view.mean(dim=(3, 5)))
    b, c, h, w = feats.shape
    ids = grid_patch_ids(h, w, grid, feats.device)
    num = grid * grid
    counts = torch.bincount(ids, minlength=num).to(feats.dtype)
    pooled = _patch_sum(feats.reshape(b, c, h * w), ids, num) / counts
    return pooled.permute(0, 2, 1).reshape(b * num, c)


def apool_attention(attn_feats: Tensor, grid: int = 1, eps: float = 1e-12) -> Tensor:
    """A-pool weights ``a_ij`` per pixel, normalised to sum to 1 within each patch.

    Args:
        attn_feats (Tensor): ``(B, C, H, W)`` map ``u`` the attention is taken from (post-ReLU,
            non-negative, so the weights are non-negative).
        grid (int): ``n`` of the ``n x n`` grid.
        eps (float): guards patches whose features are all zero; such a patch gets uniform
            weights.

    Returns:
        Tensor: ``(B, H * W)`` weights.
    """
    b, c, h, w = attn_feats.shape
    ids = grid_patch_ids(h, w, grid, attn_feats.device)
    num = grid * grid
    flat = attn_feats.reshape(b, c, h * w)
    counts = torch.bincount(ids, minlength=num).to(flat.dtype)
    mean = _patch_sum(flat, ids, num) / counts  # (B, C, P): vbar per patch
    scores = (flat * mean[:, :, ids]).sum(1)  # (B, HW): <u_ij, vbar>
    norm = scores.new_zeros(b, num).index_add(1, ids, scores)  # (B, P)
    uniform = (1.0 / counts)[ids].expand_as(scores)
    norm_pix = norm[:, ids]
    return torch.where(norm_pix > eps, scores / norm_pix.clamp_min(eps), uniform)


def apool(feats: Tensor, grid: int = 1, attn_feats: Optional[Tensor] = None) -> Tensor:
    """Attentional pooling (A-pool) per grid patch.

    Args:
        feats (Tensor): ``(B, C, H, W)`` map ``v`` to pool.
        grid (int): ``n`` of the ``n x n`` grid.
        attn_feats (Tensor, optional): ``(B, C', H, W)`` map ``u`` the attention comes from;
            ``feats`` itself when None.

    Returns:
        Tensor: ``(B * n * n, C)``.
    """
    if attn_feats is None:
        attn_feats = feats
    if attn_feats.shape[0] != feats.shape[0] or attn_feats.shape[2:] != feats.shape[2:]:
        raise ValueError(
            f'A-pool attention map {tuple(attn_feats.shape)} does not match the pooled map '
            f'{tuple(feats.shape)} in batch size and spatial size')
    view = _grid_view(feats, grid)
    if view is not None:  # (B*n*n, C, S) patch matrices; batched matmuls do the sums
        v = _patch_matrix(view)
        u = v if attn_feats is feats else _patch_matrix(_grid_view(attn_feats, grid))
        mean = u.mean(dim=2, keepdim=True)  # vbar per patch
        scores = torch.bmm(mean.transpose(1, 2), u).squeeze(1)  # <u_ij, vbar>: (B*n*n, S)
        norm = scores.sum(dim=1, keepdim=True)
        weights = torch.where(norm > 1e-12, scores / norm.clamp_min(1e-12),
                              scores.new_full((), 1.0 / scores.shape[1]))
        return torch.bmm(v, weights.unsqueeze(2)).squeeze(2)
    b, c, h, w = feats.shape
    weights = apool_attention(attn_feats, grid)
    ids = grid_patch_ids(h, w, grid, feats.device)
    num = grid * grid
    pooled = _patch_sum(feats.reshape(b, c, h * w) * weights[:, None], ids, num)
    return pooled.permute(0, 2, 1).reshape(b * num, c)


@MODELS.register_module()
class CSGPooling(nn.Module):
    """Pooling ``g`` of CSG: ``'apool'`` (A-pool, paper default) or ``'gap'`` over an ``n x n``
    grid of patches.

    Args:
        pool_type (str): ``'apool'`` or ``'gap'``. Defaults to ``'apool'``.
        grid (int): ``n``: 1 for classification, 8 for segmentation. Defaults to 1.
    """

    def __init__(self, pool_type: str = 'apool', grid: int = 1) -> None:
        super().__init__()
        if pool_type not in POOL_TYPES:
            raise ValueError(f'CSG pool_type must be one of {POOL_TYPES}, got {pool_type!r}')
        if not isinstance(grid, int) or grid < 1:
            raise ValueError(f'CSG grid must be a positive integer, got {grid!r}')
        self.pool_type = pool_type
        self.grid = grid

    @property
    def needs_attention(self) -> bool:
        return self.pool_type == 'apool'

    def forward(self, feats: Tensor, attn_feats: Optional[Tensor] = None) -> Tensor:
        """Pool ``(B, C, H, W)`` into ``(B * n * n, C)`` embeddings; ``attn_feats`` is the map
        the A-pool attention comes from (ignored by GAP)."""
        if self.pool_type == 'gap':
            return gap_pool(feats, self.grid)
        return apool(feats, self.grid, attn_feats)

    def attention_map(self, feats: Tensor) -> Tuple[Tensor, Tensor]:
        """A-pool weights as ``(B, H, W)`` maps and their ratio over the uniform weight of each
        patch (1 = average pixel), for visualisation (paper Fig. 4b)."""
        b, _, h, w = feats.shape
        weights = apool_attention(feats, self.grid)
        ids = grid_patch_ids(h, w, self.grid, feats.device)
        counts = torch.bincount(ids, minlength=self.grid**2).to(weights.dtype)
        ratio = weights * counts[ids]
        return weights.reshape(b, h, w), ratio.reshape(b, h, w)

    def extra_repr(self) -> str:
        return f'pool_type={self.pool_type!r}, grid={self.grid}'

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
covered completely. When ``n`` divides the map, A-pool works on ``(B, C, n, h, n, w)`` views
with a hand-written backward pass (no copies of the maps); otherwise on patch ids with
``index_add``. Both serve ``n = 1`` (classification) and ``n = 8`` (segmentation) and are tested
against the equations and against each other.
"""
from typing import Optional, Tuple

import torch
import torch.nn.functional as F
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


class _GridAPool(torch.autograd.Function):
    """A-pool over an ``n x n`` grid that divides the map, with a hand-written backward pass.

    Works on ``(B, C, n, h, n, w)`` views of the maps (no copies): the patch means are an
    ``avg_pool2d``, the attention and pooled sums are broadcasts and reductions. For one patch
    with ``m = mean_i u_i``, ``s_i = <u_i, m>``, ``Z = sum_i s_i``, ``a_i = s_i / Z`` and
    ``y = sum_i a_i v_i``, the gradients given ``dy`` are::

        dv_i = a_i dy
        da_i = <v_i, dy>,   ds_i = (da_i - sum_j a_j da_j) / Z
        du_i = ds_i m + mean_j (ds_j u_j)

    (``du`` added to ``dv`` when the attention comes from the pooled map itself). A patch whose
    ``Z`` is not positive gets uniform weights and no gradient through them.
    """

    @staticmethod
    def forward(ctx, feats: Tensor, attn_feats: Optional[Tensor], grid: int,
                eps: float) -> Tensor:
        b, c, height, width = feats.shape
        h, w = height // grid, width // grid
        u = feats if attn_feats is None else attn_feats
        mean = F.avg_pool2d(u, (h, w))  # (B, C', n, n): m per patch
        u6 = u.view(b, u.shape[1], grid, h, grid, w)
        # the attention in float32: under float16 autocast Z overflows (sum over C x h x w)
        acc = torch.promote_types(u.dtype, torch.float32)
        scores = (u6 * mean[:, :, :, None, :, None]).sum(1, dtype=acc)  # s_i
        norm = scores.sum(dim=(2, 4), keepdim=True)  # (B, n, 1, n, 1): Z
        valid = norm > eps
        weights = torch.where(valid, scores / norm.clamp_min(eps),
                              scores.new_full((), 1.0 / (h * w)))
        pooled = F.avg_pool2d(feats * weights.view(b, 1, height, width).to(feats.dtype),
                              (h, w)) * (h * w)
        ctx.save_for_backward(feats, attn_feats, mean, weights, norm, valid)
        ctx.grid = grid
        return pooled  # (B, C, n, n)

    @staticmethod
    def backward(ctx, grad_pooled: Tensor):
        feats, attn_feats, mean, weights, norm, valid = ctx.saved_tensors
        grid = ctx.grid
        b, c, height, width = feats.shape
        h, w = height // grid, width // grid
        self_attn = attn_feats is None
        need_v, need_u = ctx.needs_input_grad[0], ctx.needs_input_grad[1]
        gy6 = grad_pooled[:, :, :, None, :, None]  # (B, C, n, 1, n, 1)
        grad_v = gy6 * weights[:, None].to(gy6.dtype) if need_v else None  # dv_i = a_i dy
        grad_u = None
        if need_u or (self_attn and need_v):
            v6 = feats.view(b, c, grid, h, grid, w)
            grad_a = (v6 * gy6).sum(1, dtype=weights.dtype)  # (B, n, h, n, w)
            grad_s = (grad_a - (grad_a * weights).sum(dim=(2, 4), keepdim=True)) / norm
            grad_s = torch.where(valid, grad_s, grad_s.new_zeros(()))
            u = feats if self_attn else attn_feats
            grad_s = grad_s.to(u.dtype)
            gs_u = F.avg_pool2d(u * grad_s.view(b, 1, height, width), (h, w))  # mean(ds u)
            gs6 = grad_s[:, None]
            m6 = mean[:, :, :, None, :, None]
            if self_attn:
                grad_v = grad_v.addcmul_(gs6, m6).add_(gs_u[:, :, :, None, :, None])
            else:
                grad_u = torch.addcmul(gs_u[:, :, :, None, :, None], gs6, m6)
                grad_u = grad_u.reshape(u.shape)
        if grad_v is not None:
            grad_v = grad_v.reshape(feats.shape)
        return grad_v, grad_u, None, None


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
    if _grid_view(feats, grid) is not None:  # n divides the map: no copies, fused backward
        same = attn_feats is feats
        pooled = _GridAPool.apply(feats.contiguous(), None if same else attn_feats.contiguous(),
                                  grid, 1e-12)
        return _flatten_patches(pooled)
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

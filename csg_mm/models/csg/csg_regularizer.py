"""CSG: contrastive syn-to-real regulariser shared by the segmentation and classification
models."""
import contextlib
from typing import Dict, List, Optional, Sequence, Tuple

import torch
from mmengine.model import BaseModule
from mmengine.registry import MODELS
from torch import Tensor, nn

from .teacher import FrozenTeacher

ATTENTION_SOURCES = ('key', 'anchor')


@contextlib.contextmanager
def eval_mode(module: nn.Module):
    """Run ``module`` in eval mode (BN statistics untouched) and restore every submodule's mode
    afterwards."""
    modes = [(m, m.training) for m in module.modules()]
    module.eval()
    try:
        yield module
    finally:
        for m, mode in modes:
            m.training = mode


def stage_positions(backbone: nn.Module, num_outputs: int) -> Dict[int, int]:
    """Map 1-based stage numbers to positions in the backbone's output tuple.

    Backbones with ``out_indices`` (mmseg/mmpretrain ResNet, MiT, Swin, ...) output stage
    ``i + 1`` for every ``i`` in ``out_indices``; others are taken to output stages
    ``1 .. num_outputs``.
    """
    out_indices = getattr(backbone, 'out_indices', None)
    if isinstance(out_indices, int):
        out_indices = (out_indices, )
    if out_indices is None or len(out_indices) != num_outputs:
        return {i + 1: i for i in range(num_outputs)}
    return {int(idx) + 1: pos for pos, idx in enumerate(out_indices)}


class BaseSyn2RealRegularizer(BaseModule):
    """Base class of the regularisers that retain ImageNet knowledge while training on synthetic
    data: CSG and the paper's Table 1 comparisons. Subclasses implement :meth:`loss`.

    A regulariser owns the frozen ImageNet teacher and checks at build time that the backbone
    outputs every requested stage.

    Args:
        teacher (FrozenTeacher): built by the task model from its backbone config.
        stages (Sequence[int]): 1-based ResNet stages ``G`` (``layer1..layer4`` = 1..4).
        in_shape (tuple): input shape of the build-time probe forward that infers the channel
            widths. Defaults to ``(3, 64, 64)``.
        prefix (str): prefix of the logged losses.
    """

    def __init__(self,
                 teacher: FrozenTeacher,
                 stages: Sequence[int] = (3, 4),
                 in_shape: Tuple[int, int, int] = (3, 64, 64),
                 prefix: str = 'syn2real',
                 init_cfg=None) -> None:
        super().__init__(init_cfg=init_cfg)
        if not isinstance(teacher, FrozenTeacher):
            raise TypeError(f'teacher must be a FrozenTeacher, got {type(teacher).__name__}')
        if not stages:
            raise ValueError('`stages` is empty: give at least one stage, e.g. stages=(3, 4)')
        self.teacher = teacher
        self.stages = [int(s) for s in stages]
        self.prefix = prefix
        self.positions, self.in_channels = self._probe(in_shape)

    def _probe(self, in_shape) -> Tuple[List[int], List[int]]:
        backbone = self.teacher.backbone
        name = type(backbone).__name__
        with torch.no_grad(), eval_mode(backbone):
            outs = backbone(torch.zeros(1, *in_shape))
        outs = tuple(outs) if isinstance(outs, (list, tuple)) else (outs, )
        positions = stage_positions(backbone, len(outs))
        missing = [s for s in self.stages if s not in positions]
        if missing:
            raise ValueError(
                f'{type(self).__name__}: stage(s) {missing} are not outputs of the backbone '
                f'{name}: it outputs stages {sorted(positions)} (out_indices='
                f'{getattr(backbone, "out_indices", None)}). Add stage - 1 to the backbone\'s '
                f'out_indices, or choose `stages` among {sorted(positions)}.')
        channels = []
        for s in self.stages:
            out = outs[positions[s]]
            if out.dim() != 4:
                raise ValueError(f'{type(self).__name__}: stage {s} of {name} gives a '
                                 f'{out.dim()}-d output; CSG needs (B, C, H, W) feature maps')
            channels.append(out.shape[1])
        return [positions[s] for s in self.stages], channels

    def select(self, feats: Sequence[Tensor]) -> List[Tensor]:
        """The CSG stages' maps out of a backbone's output tuple."""
        return [feats[p] for p in self.positions]

    def prepare(self, inputs: Tensor, key_inputs: Tensor,
                student: nn.Module) -> Optional[dict]:
        """The regulariser's passes that need no gradient (the teacher's, the student's no-grad
        pass of the key view), which the task models run BEFORE the student's forward pass: their
        temporaries are freed before the student's activations are allocated and kept for
        backward, so they neither add to the step's peak memory nor fault in fresh pages.

        Returns:
            dict | None: handed to :meth:`loss` as ``prepared``; None when there is nothing to
            run ahead (the default).
        """
        return None

    def loss(self, student_feats: Sequence[Tensor], inputs: Tensor, key_inputs: Tensor,
             student: nn.Module, prepared: Optional[dict] = None) -> Dict[str, Tensor]:
        """Losses (and logged values) of the regulariser.

        Args:
            student_feats: the student backbone's outputs on the anchor view (with graph).
            inputs: the anchor view ``x_q``, ``(B, 3, H, W)``.
            key_inputs: the key view ``x_k``, ``(B, 3, H, W)`` (``inputs`` when there is none).
            student: the student backbone (for a no-grad pass; never stored).
            prepared: what :meth:`prepare` returned for these inputs; computed here when None.
        """
        raise NotImplementedError

    def prefixed_loss(self, *args, **kwargs) -> Dict[str, Tensor]:
        """:meth:`loss` with every key prefixed ``'{prefix}.'`` (e.g. ``csg.loss_stage3``)."""
        return {f'{self.prefix}.{k}': v for k, v in self.loss(*args, **kwargs).items()}


@MODELS.register_module()
class CSGRegularizer(BaseSyn2RealRegularizer):
    """Contrastive Syn-to-Real Generalization (Chen et al., ICLR 2021, Eq. 3-6).

    For every stage ``l`` in ``G`` (``stages``)::

        z_a  = normalize(h_l(g(f_e(x_q))))       query: student on the anchor view (with grad)
        z+   = normalize(h~_l(g(f_eo(x_k))))     positive: teacher on the key view (no grad)
        L    = lambda * sum_l InfoNCE(z_a, z+, queue_l)

    ``g`` is A-pool or GAP over an ``n x n`` grid (``pool``); the teacher's A-pool attention comes
    from the student's features of the key view (``attention='key'``, paper-exact: one extra
    no-grad student pass in eval mode) or is reused from the anchor view (``attention='anchor'``,
    saves that pass; valid when the two views are spatially aligned, as for GTA5). After the loss,
    the positives are enqueued (gathered from all ranks).

    Args:
        teacher (FrozenTeacher): the frozen ImageNet backbone.
        stages (Sequence[int]): ``G``. Defaults to ``(3, 4)``.
        pool (dict): :class:`CSGPooling` config. Defaults to A-pool, ``grid=1``.
        neck (dict): :class:`CSGProjectionNeck` config (``in_channels`` inferred).
        head (dict): :class:`CSGContrastiveHead` config (``stages`` and ``feat_dim`` filled in).
        attention (str): ``'key'`` or ``'anchor'``. Defaults to ``'key'``.
    """

    def __init__(self,
                 teacher: FrozenTeacher,
                 stages: Sequence[int] = (3, 4),
                 pool: dict = dict(type='CSGPooling', pool_type='apool', grid=1),
                 neck: dict = dict(type='CSGProjectionNeck', out_channels=128, momentum=0.001),
                 head: dict = dict(type='CSGContrastiveHead', queue_len=65536,
                                   temperature=0.07, loss_weight=1.0),
                 attention: str = 'key',
                 in_shape: Tuple[int, int, int] = (3, 64, 64),
                 init_cfg=None) -> None:
        super().__init__(teacher, stages, in_shape, prefix='csg', init_cfg=init_cfg)
        if attention not in ATTENTION_SOURCES:
            raise ValueError(f'CSG attention must be one of {ATTENTION_SOURCES}, '
                             f'got {attention!r}')
        self.attention = attention
        self.pool = MODELS.build(pool)
        neck = dict(neck)
        if 'in_channels' in neck:
            raise ValueError('CSG neck.in_channels is inferred from the backbone: remove it')
        self.neck = MODELS.build(dict(neck, in_channels=self.in_channels))
        head = dict(head, stages=self.stages, feat_dim=self.neck.out_channels)
        self.head = MODELS.build(head)

    @torch.no_grad()
    def prepare(self, inputs: Tensor, key_inputs: Tensor, student: nn.Module) -> dict:
        """The no-grad passes on the key view: the teacher's and, paper-exact, the student's in
        eval mode for the A-pool attention. Returns the positive keys ``{'keys': [...]}``, or
        with reused attention (which needs the student's anchor features) the teacher's maps
        ``{'teacher_feats': [...]}``."""
        feats_t = self.select(self.teacher(key_inputs))
        if self.pool.needs_attention and self.attention == 'anchor':
            return dict(teacher_feats=feats_t)
        attn = [None] * len(feats_t)
        if self.pool.needs_attention:
            with eval_mode(student):
                attn = self.select(student(key_inputs))
        return dict(keys=self.neck.forward_key([self.pool(t, a) for t, a in zip(feats_t, attn)]))

    def embed(self,
              student_feats: Sequence[Tensor],
              key_inputs: Tensor,
              student: nn.Module,
              prepared: Optional[dict] = None) -> Tuple[List[Tensor], List[Tensor]]:
        """Query embeddings (with graph) and positive keys (no graph), per stage, not yet
        normalised: ``(B * n * n, D)`` each."""
        feats_q = self.select(student_feats)
        if prepared is None:
            prepared = self.prepare(key_inputs, key_inputs, student)  # uses the key view only
        keys = prepared.get('keys')
        if keys is None:  # reused attention: the anchor view's student maps
            with torch.no_grad():
                keys = self.neck.forward_key([
                    self.pool(t, f.detach())
                    for t, f in zip(prepared['teacher_feats'], feats_q)
                ])
        queries = self.neck.forward_query([self.pool(f) for f in feats_q])
        return queries, keys

    def loss(self, student_feats: Sequence[Tensor], inputs: Tensor, key_inputs: Tensor,
             student: nn.Module, prepared: Optional[dict] = None) -> Dict[str, Tensor]:
        if prepared is None:
            prepared = self.prepare(inputs, key_inputs, student)
        queries, keys = self.embed(student_feats, key_inputs, student, prepared)
        losses = self.head.loss(queries, keys)
        self.head.enqueue(keys)
        return losses


def build_regularizer(cfg: dict, backbone_cfg: dict, registry) -> BaseSyn2RealRegularizer:
    """Build a regulariser and its frozen teacher from the student's backbone config.

    Args:
        cfg (dict): regulariser config; an optional ``teacher_init_cfg`` key gives the teacher its
            own ``init_cfg`` (default: the student backbone's ImageNet ``init_cfg``/``pretrained``).
        backbone_cfg (dict): the student's backbone config.
        registry (Registry): the task's model registry, which builds the teacher backbone.
    """
    cfg = dict(cfg)
    teacher = FrozenTeacher.from_student_cfg(backbone_cfg, registry,
                                             cfg.pop('teacher_init_cfg', None))
    return registry.build(cfg, default_args=dict(teacher=teacher))


def split_views(inputs) -> Tuple[Tensor, Tensor]:
    """``(anchor, key)`` from a model's training inputs: a list of two ``(B, 3, H, W)`` views
    (anchor first), or one tensor, which then serves as both views."""
    if isinstance(inputs, Tensor):
        return inputs, inputs
    if isinstance(inputs, (list, tuple)) and len(inputs) == 2:
        return inputs[0], inputs[1]
    raise ValueError(
        'CSG models expect a (B, 3, H, W) tensor or a list of two such views (anchor, key) as '
        f'training inputs, got {type(inputs).__name__} of length {len(inputs)}: check that the '
        'train pipeline makes two views and the data preprocessor is a CSG one')

"""The classic DeepLabV2 ASPP classifier head (Chen et al., TPAMI 2017).

Paper: L.-C. Chen, G. Papandreou, I. Kokkinos, K. Murphy, A. L. Yuille, "DeepLab: Semantic Image
Segmentation with Deep Convolutional Nets, Atrous Convolution, and Fully Connected CRFs",
TPAMI 2017 (arXiv 1606.00915). This is the segmentation model of the CSG paper's GTA5 -> Cityscapes
experiments (Chen et al., "Contrastive Syn-to-Real Generalization", ICLR 2021, Table 5) and of the
methods it compares with. MMSegmentation ships no DeepLabV2 head.
"""
from typing import Optional, Sequence, Tuple

import torch.nn as nn
from mmseg.models.decode_heads.decode_head import BaseDecodeHead
from mmseg.registry import MODELS
from mmseg.utils import OptMultiConfig
from torch import Tensor


@MODELS.register_module()
class DeepLabV2Head(BaseDecodeHead):
    """DeepLabV2 ASPP head: the SUM of parallel dilated 3x3 classifiers.

    ``logits = sum_r conv3x3_r(x)`` where each ``conv3x3_r`` maps ``in_channels`` straight to
    ``num_classes`` with dilation ``r`` (padding ``r``, with bias) and ``r`` runs over
    ``dilations`` (default ``(6, 12, 18, 24)``, DeepLab-v2 "ASPP-L"). It is applied to one
    backbone stage (default the last one: ``in_index=-1``, ``in_channels=2048`` for ResNet-50/101).
    There is no intermediate ``channels`` layer, no normalisation and no activation.

    The branch convolutions ARE the classifier, so they are kept under the name ``conv_seg`` (an
    :class:`nn.ModuleList` here instead of :class:`BaseDecodeHead`'s single 1x1 convolution).
    That keeps mmseg's conventions working: the default ``init_cfg`` (``Normal``, std 0.01,
    bias 0, ``override=dict(name='conv_seg')``) initialises all branches, and configs that
    re-initialise or freeze ``conv_seg`` address the whole classifier.

    Note on the CSG authors' code: their "DeepLabV2" uses a DeepLabV3-style ASPP instead (1x1
    conv + 3x3 convs at rates 12/24/36 + image pooling, each with BN + ReLU, then projection,
    dropout 0.5, a 3x3 conv and a 1x1 classifier). The closest stock component is
    mmseg's :class:`mmseg.models.decode_heads.ASPPHead` (DeepLabV3), e.g.::

        decode_head=dict(type='ASPPHead', in_channels=2048, in_index=3, channels=256,
                         dilations=(1, 12, 24, 36), dropout_ratio=0.5, num_classes=19,
                         norm_cfg=dict(type='BN', requires_grad=True), align_corners=False)

    (mmseg's ASPPHead fuses the concatenated branches with one 3x3 conv and applies dropout just
    before the 1x1 classifier, where the authors use a 1x1 projection, dropout, then a 3x3 conv.)

    Args:
        in_channels (int): Channels of the selected backbone stage. Defaults to 2048.
        num_classes (int): Number of classes. Defaults to 19 (Cityscapes train ids).
        dilations (Sequence[int]): Dilation (= padding) of each 3x3 branch.
            Defaults to (6, 12, 18, 24).
        channels (int, optional): Unused (the branches map straight to the classes); accepted
            so configs written for other heads can be reused. Defaults to None.
        in_index (int): Index of the backbone output to use. Defaults to -1 (last stage).
        dropout_ratio (float): Dropout before the classifier branches. Defaults to 0 (none, as
            in DeepLabV2).
        init_cfg (dict | list[dict], optional): Initialisation. Defaults to Normal(std=0.01,
            bias=0) on ``conv_seg`` (the branches).
        **kwargs: Other :class:`BaseDecodeHead` arguments (``loss_decode``, ``ignore_index``,
            ``align_corners``, ``sampler``, ``out_channels``, ``threshold``).
    """

    def __init__(self,
                 in_channels: int = 2048,
                 num_classes: int = 19,
                 dilations: Sequence[int] = (6, 12, 18, 24),
                 channels: Optional[int] = None,
                 in_index: int = -1,
                 dropout_ratio: float = 0.0,
                 init_cfg: OptMultiConfig = dict(  # noqa: B006 (mmseg style; never mutated)
                     type='Normal', std=0.01, bias=0, override=dict(name='conv_seg')),
                 **kwargs) -> None:
        if not isinstance(in_channels, int) or not isinstance(in_index, int):
            raise TypeError('DeepLabV2Head takes a single feature map: `in_channels` and '
                            f'`in_index` must be int, got {in_channels!r} and {in_index!r}')
        if kwargs.get('input_transform') is not None:
            raise ValueError('DeepLabV2Head takes a single feature map: `input_transform` must '
                             f'be None, got {kwargs["input_transform"]!r}')
        if not isinstance(dilations, (list, tuple)) or len(dilations) == 0:
            raise ValueError(f'`dilations` must be a non-empty sequence, got {dilations!r}')
        if any(int(d) < 1 for d in dilations):
            raise ValueError(f'`dilations` must be positive, got {dilations!r}')
        # BaseDecodeHead builds a 1x1 ``conv_seg`` from ``channels``; it is replaced below.
        super().__init__(
            in_channels,
            in_channels,
            num_classes=num_classes,
            in_index=in_index,
            dropout_ratio=dropout_ratio,
            init_cfg=init_cfg,
            **kwargs)
        self.dilations = tuple(int(d) for d in dilations)
        self.conv_seg = nn.ModuleList(
            nn.Conv2d(
                self.in_channels,
                self.out_channels,
                kernel_size=3,
                padding=d,
                dilation=d,
                bias=True) for d in self.dilations)

    def extra_repr(self) -> str:
        """Extra repr."""
        return f'dilations={self.dilations}, ' + super().extra_repr()

    def cls_seg(self, feat: Tensor) -> Tensor:
        """Classify each pixel: the sum of the dilated branch classifiers."""
        if self.dropout is not None:
            feat = self.dropout(feat)
        out = self.conv_seg[0](feat)
        for conv in self.conv_seg[1:]:
            out = out + conv(feat)
        return out

    def forward(self, inputs: Tuple[Tensor]) -> Tensor:
        """Forward function: logits at the resolution of the selected stage."""
        x = self._transform_inputs(inputs)
        return self.cls_seg(x)

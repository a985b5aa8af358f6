"""Toy model with a configurable norm layer, for the 2-process SyncBN test (issue 13, item 6).

Imported through ``custom_imports``; needs ``tests/data`` and ``tests/test_traps`` on
``PYTHONPATH``.
"""
from csg_mm_test_toys import CSGToyModel
from mmcv.cnn import build_norm_layer
from mmengine.registry import MODELS
from torch import nn


@MODELS.register_module(force=True)
class CSGToyNormModel(CSGToyModel):
    """:class:`CSGToyModel` whose norm layer is built from ``norm_cfg`` (a 2-d norm, as in mmseg,
    applied to the 4 features as a ``(N, 4, 1, 1)`` map)."""

    def __init__(self, norm_cfg=dict(type='BN'), data_preprocessor=None, init_cfg=None):
        super().__init__(data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        self.norm = nn.Sequential(
            nn.Unflatten(1, (4, 1, 1)), build_norm_layer(norm_cfg, 4)[1], nn.Flatten())

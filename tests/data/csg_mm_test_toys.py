"""Toy model, dataset and metric for runner / CLI / distributed tests (mmengine root registries).

Imported by ``tests/data/configs/toy_runner.py`` through ``custom_imports``; put ``tests/data`` on
``PYTHONPATH`` to use it. (The module name is unique on purpose: mmsegmentation's wheel installs a
top-level ``tests`` package into site-packages.)
"""
import numpy as np
import torch
import torch.nn as nn
from mmengine.evaluator import BaseMetric
from mmengine.model import BaseModel
from mmengine.registry import DATASETS, METRICS, MODELS
from torch.utils.data import Dataset


@MODELS.register_module(force=True)
class CSGToyModel(BaseModel):
    """Linear regression on 4 features, with a BatchNorm buffer to exercise DDP buffers."""

    def __init__(self, data_preprocessor=None, init_cfg=None):
        super().__init__(data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        self.norm = nn.BatchNorm1d(4)
        self.linear = nn.Linear(4, 1)

    def forward(self, inputs, labels=None, mode='tensor'):
        out = self.linear(self.norm(inputs)).squeeze(-1)
        if mode == 'loss':
            return dict(loss=((out - labels)**2).mean())
        if mode == 'predict':
            return [dict(pred=p, label=t) for p, t in zip(out, labels)]
        return out


@DATASETS.register_module(force=True)
class CSGToyDataset(Dataset):
    """``num`` random samples ``dict(inputs=(4,) float, labels=() float)``, fixed by ``seed``."""

    METAINFO = dict(classes=('toy', ))

    def __init__(self, num=16, seed=0):
        gen = torch.Generator().manual_seed(seed)
        self.inputs = torch.randn(num, 4, generator=gen)
        self.labels = self.inputs.sum(dim=1) + 0.1 * torch.randn(num, generator=gen)

    @property
    def metainfo(self):
        return dict(self.METAINFO)

    def __len__(self):
        return len(self.inputs)

    def __getitem__(self, idx):
        return dict(inputs=self.inputs[idx], labels=self.labels[idx])


@METRICS.register_module(force=True)
class CSGToyMetric(BaseMetric):
    """Mean squared error, returned as a numpy scalar (as many real metrics do) so that the
    checkpoint hook stores numpy objects in the message hub (``best_score``)."""

    def process(self, data_batch, data_samples):
        for sample in data_samples:
            self.results.append(float((sample['pred'] - sample['label'])**2))

    def compute_metrics(self, results):
        return dict(mse=np.float64(np.mean(results)))

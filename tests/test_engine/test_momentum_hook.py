"""CSGMomentumHook: h~ is the EMA of h at the configured momentum, updated once per iteration
before the keys are computed, also through a DDP wrapper."""
import socket
from types import SimpleNamespace

import pytest
import torch
import torch.distributed as dist
from mmengine.model import MMDistributedDataParallel
from torch import nn

from csg_mm.engine import CSGMomentumHook
from csg_mm.models.csg import CSGProjectionNeck


class _Model(nn.Module):

    def __init__(self):
        super().__init__()
        self.neck = CSGProjectionNeck(in_channels=(4, 6), out_channels=3)

    def forward(self, x):
        return self.neck.forward_query([x[:, :4], x])[0].sum()


def _train(runner, hook, neck, momentum, iters=5):
    hook.before_train(runner)
    expected = None
    for it in range(iters):
        hook.before_train_iter(runner, it)
        query = [p.detach().clone() for p in neck.query_projs.parameters()]
        if expected is None:
            expected = query
        else:
            expected = [(1 - momentum) * e + momentum * q for e, q in zip(expected, query)]
        got = [p for k in neck.key_projs for p in k.module.parameters()]
        for g, e in zip(got, expected):
            torch.testing.assert_close(g, e)
        with torch.no_grad():  # an "optimizer step"
            for p in neck.query_projs.parameters():
                p.add_(torch.randn_like(p))


@pytest.mark.parametrize('momentum', [None, 0.1])
def test_hook_is_ema_of_query_projections(momentum):
    torch.manual_seed(0)
    model = _Model()
    runner = SimpleNamespace(model=model, logger=None)
    _train(runner, CSGMomentumHook(momentum), model.neck, momentum or 0.001)


def test_hook_through_ddp_wrapper():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        port = s.getsockname()[1]
    dist.init_process_group('gloo', init_method=f'tcp://127.0.0.1:{port}', rank=0, world_size=1)
    try:
        model = _Model()
        wrapped = MMDistributedDataParallel(module=model, device_ids=None)
        _train(SimpleNamespace(model=wrapped, logger=None), CSGMomentumHook(0.2), model.neck, 0.2,
               iters=3)
    finally:
        dist.destroy_process_group()


def test_bad_momentum():
    with pytest.raises(ValueError, match='momentum'):
        CSGMomentumHook(1.5)

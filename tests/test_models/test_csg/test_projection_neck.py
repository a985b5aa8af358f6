"""Projection MLPs and their EMA key copies."""
import torch

from csg_mm.models.csg import CSGProjectionNeck


def test_architecture_and_key_copy_not_trained():
    neck = CSGProjectionNeck(in_channels=(6, 10), out_channels=4)
    assert [p[0].in_features for p in neck.query_projs] == [6, 10]
    assert [p[0].out_features for p in neck.query_projs] == [6, 10]
    assert [p[2].out_features for p in neck.query_projs] == [4, 4]
    assert all(not p.requires_grad for p in neck.key_projs.parameters())
    out = neck.forward_query([torch.rand(3, 6), torch.rand(3, 10)])
    assert [o.shape for o in out] == [(3, 4), (3, 4)]
    keys = neck.forward_key([torch.rand(3, 6), torch.rand(3, 10)])
    assert not keys[0].requires_grad


def test_momentum_update_is_ema_and_first_update_copies():
    torch.manual_seed(0)
    neck = CSGProjectionNeck(in_channels=(5, ), out_channels=3, momentum=0.25)
    neck.momentum_update()  # copy
    for pk, pq in zip(neck.key_projs[0].module.parameters(), neck.query_projs[0].parameters()):
        torch.testing.assert_close(pk, pq)
    old = [p.detach().clone() for p in neck.key_projs[0].module.parameters()]
    with torch.no_grad():
        for p in neck.query_projs[0].parameters():
            p.add_(torch.randn_like(p))
    neck.momentum_update()
    for pk, pq, po in zip(neck.key_projs[0].module.parameters(),
                          neck.query_projs[0].parameters(), old):
        torch.testing.assert_close(pk, 0.75 * po + 0.25 * pq)
    neck.momentum_update(momentum=0.5)
    assert neck.key_projs[0].momentum == 0.5


def test_init_weights_restarts_the_ema():
    neck = CSGProjectionNeck(in_channels=(5, ), out_channels=3)
    neck.momentum_update()
    assert neck.key_projs[0].steps.item() == 1
    neck.init_weights()
    assert neck.key_projs[0].steps.item() == 0

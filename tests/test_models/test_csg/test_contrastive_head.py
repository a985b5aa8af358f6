"""InfoNCE, ranking accuracy and the queue against DESIGN.md 1.1."""
import math

import pytest
import torch
import torch.nn.functional as F

from csg_mm.models.csg import CSGContrastiveHead


def test_loss_equals_cross_entropy_over_1_plus_k_logits():
    torch.manual_seed(0)
    head = CSGContrastiveHead(stages=(3, 4), feat_dim=8, queue_len=16, temperature=0.07,
                              loss_weight=2.0)
    q = [torch.randn(5, 8, requires_grad=True) for _ in range(2)]
    k = [torch.randn(5, 8) for _ in range(2)]
    losses = head.loss(q, k)
    for i, stage in enumerate((3, 4)):
        zq, zk = F.normalize(q[i], dim=1), F.normalize(k[i], dim=1)
        logits = torch.cat([(zq * zk).sum(1, keepdim=True), zq @ head.queue(stage).t()], 1) / 0.07
        ref = 2.0 * F.cross_entropy(logits, torch.zeros(5, dtype=torch.long))
        torch.testing.assert_close(losses[f'loss_stage{stage}'], ref)
        acc = (logits.argmax(1) == 0).float().mean() * 100
        torch.testing.assert_close(losses[f'acc_stage{stage}'], acc)
    sum(v for n, v in losses.items() if 'loss' in n).backward()
    assert q[0].grad is not None


def test_ranking_accuracy_counts_positive_wins():
    head = CSGContrastiveHead(stages=(4, ), feat_dim=2, queue_len=1)
    head.queue_stage4.copy_(torch.tensor([[1.0, 0.0]]))
    q = torch.tensor([[1.0, 0.0], [1.0, 0.0]])
    k = torch.tensor([[1.0, 0.0], [0.0, 1.0]])  # first: tie (positive wins), second: loses
    assert head.loss([q], [k])['acc_stage4'].item() == pytest.approx(50.0)


def test_queue_is_unit_norm_and_enqueue_wraps_around():
    head = CSGContrastiveHead(stages=(3, ), feat_dim=4, queue_len=5)
    torch.testing.assert_close(head.queue(3).norm(dim=1), torch.ones(5))
    head.queue_ptr(3).fill_(3)
    keys = F.normalize(torch.randn(4, 4), dim=1)
    head.enqueue([keys * 3])  # enqueued keys are normalised
    q = head.queue(3)
    torch.testing.assert_close(q[[3, 4, 0, 1]], keys)
    assert head.queue_ptr(3).item() == 2
    # more keys than K: only the newest K survive, in order after the pointer
    many = F.normalize(torch.randn(7, 4), dim=1)
    head.enqueue([many])
    q = head.queue(3)
    assert head.queue_ptr(3).item() == (2 + 7) % 5
    start = (2 + 7 - 5) % 5
    torch.testing.assert_close(q[[(start + i) % 5 for i in range(5)]], many[-5:])


def test_backward_after_enqueue():
    head = CSGContrastiveHead(stages=(3, ), feat_dim=4, queue_len=8)
    q = torch.randn(3, 4, requires_grad=True)
    loss = head.loss([q], [torch.randn(3, 4)])['loss_stage3']
    head.enqueue([torch.randn(3, 4)])
    loss.backward()  # the graph keeps the queue the logits saw
    assert q.grad is not None


def test_queues_and_pointers_are_checkpoint_state():
    head = CSGContrastiveHead(stages=(3, 4), feat_dim=4, queue_len=8)
    keys = set(head.state_dict())
    assert {'queue_stage3', 'queue_stage4', 'queue_ptr_stage3', 'queue_ptr_stage4'} <= keys
    head.enqueue([torch.randn(3, 4), torch.randn(3, 4)])
    other = CSGContrastiveHead(stages=(3, 4), feat_dim=4, queue_len=8)
    other.load_state_dict(head.state_dict())
    torch.testing.assert_close(other.queue(3), head.queue(3))
    assert other.queue_ptr(4).item() == 3


def test_iteration_zero_signature():
    """Identical views: z_a = z+, positive logit 1/t; loss ~ log(1 + K E[exp(z.n/t)] e^{-1/t})."""
    torch.manual_seed(0)
    K, D, t = 65536, 128, 0.07
    head = CSGContrastiveHead(stages=(4, ), feat_dim=D, queue_len=K, temperature=t)
    z = torch.randn(256, D)
    loss = head.loss([z], [z.clone()])['loss_stage4'].item()
    expected = math.log(1 + K * math.exp(1 / (2 * D * t**2)) * math.exp(-1 / t))
    assert expected == pytest.approx(0.087, abs=1e-3)
    assert loss == pytest.approx(expected, rel=0.1)
    assert loss < 0.2 < math.log(K + 1)


def test_similarities_and_loss_are_float32_under_bf16_autocast():
    head = CSGContrastiveHead(stages=(4, ), feat_dim=8, queue_len=32)
    q = torch.randn(4, 8, requires_grad=True)
    with torch.autocast('cpu', dtype=torch.bfloat16):
        qb = torch.nn.functional.linear(q, torch.eye(8))  # a bf16 activation, as under AMP
        assert qb.dtype == torch.bfloat16
        kb = torch.randn(4, 8).to(torch.bfloat16)
        losses = head.loss([qb], [kb])
    assert losses['loss_stage4'].dtype == torch.float32
    ref = head.loss([qb.detach().float()], [kb.float()])['loss_stage4']
    torch.testing.assert_close(losses['loss_stage4'], ref)
    losses['loss_stage4'].backward()
    assert q.grad is not None


def test_bad_arguments():
    with pytest.raises(ValueError, match='queue_len'):
        CSGContrastiveHead(stages=(4, ), queue_len=0)
    with pytest.raises(ValueError, match='temperature'):
        CSGContrastiveHead(stages=(4, ), temperature=0)

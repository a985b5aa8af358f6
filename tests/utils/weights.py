"""Fake "ImageNet" weights for tests (no downloads)."""
import torch


def save_fake_imagenet_backbone(registry, cfg, path, seed=123):
    """Build ``cfg`` with ``registry`` and save its state dict to ``path``: a stand-in for
    torchvision's ImageNet weights (random weights, non-trivial BN statistics)."""
    torch.manual_seed(seed)
    backbone = registry.build(cfg)
    with torch.no_grad():
        for name, buf in backbone.named_buffers():
            if name.endswith('running_mean'):
                buf.uniform_(-0.1, 0.1)
            elif name.endswith('running_var'):
                buf.uniform_(0.5, 1.5)
    torch.save(backbone.state_dict(), path)
    return path

"""GPU tests (``pytest -m gpu``): on CUDA when there is a GPU, else skipped.

``tools/gpu_check.sh --dry-run`` sets ``CSG_MM_GPU_TESTS_ON_CPU=1``: then the same checks run on
the CPU (float16 AMP, which needs CUDA, is skipped), so that the GPU tests cannot rot unnoticed
between the rare runs on a GPU.
"""
import os

import pytest
import torch

ON_CPU_ENV = 'CSG_MM_GPU_TESTS_ON_CPU'


@pytest.fixture(scope='session')
def device() -> torch.device:
    if torch.cuda.is_available():
        return torch.device('cuda')
    if os.environ.get(ON_CPU_ENV) == '1':
        return torch.device('cpu')
    pytest.skip(f'needs a CUDA GPU (or {ON_CPU_ENV}=1 to run the GPU checks on the CPU)')


def _rel_err(out: torch.Tensor, ref: torch.Tensor) -> float:
    out, ref = out.detach().double().cpu(), ref.detach().double().cpu()
    if not torch.isfinite(out).all():
        return float('inf')
    return ((out - ref).norm() / ref.norm()).item()


@pytest.fixture(scope='session')
def rel_err():
    """``rel_err(out, ref)``: ``||out - ref|| / ||ref||`` in float64 on the CPU (METHOD of
    comparing a kernel with a higher-precision reference); NaN or inf in ``out`` gives inf."""
    return _rel_err

"""Small things several test modules share (fixtures live in conftest.py)."""

import math

import torch


def g(seed=0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def mean_and_se(t: torch.Tensor) -> tuple[float, float]:
    """The mean of the draws and its standard error."""
    return t.mean().item(), t.std().item() / math.sqrt(t.numel())

"""Small things several test modules share (fixtures live in conftest.py)."""

import math

import torch

from vaelib import joint


def g(seed=0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def mean_and_se(t: torch.Tensor) -> tuple[float, float]:
    """The mean of the draws and its standard error."""
    return t.mean().item(), t.std().item() / math.sqrt(t.numel())


def linear(mu_z=0.5, s_z=1.5, w=-2.0, b=1.0, sigma=0.3):
    """A NonlinearLVM whose f is linear, and the closed-form LinearGaussianLVM it equals: the
    quadrature's independent reference."""
    nl = joint.NonlinearLVM(f=lambda z: w * z + b, sigma=sigma, mu_z=mu_z, s_z=s_z)
    exact = joint.LinearGaussianLVM(*(torch.tensor(v, dtype=torch.float64) for v in (mu_z, s_z, w, b, sigma)))
    return nl, exact

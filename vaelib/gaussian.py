"""Lesson 01: one Gaussian, θ = (μ, σ): the data the lesson fits (the lesson writes the likelihood and
its maximum itself; the dashboard's copies are vaelib.dashboards.l01_gaussian's). Here θ is the μ and σ
of one distribution, reading (1) of the seed answer: wrong for a VAE, where θ is a network's weights.
"""


import torch

from vaelib import validate


def sample_data(n: int = 200, mu: float = 1.5, sigma: float = 0.8, seed: int = 0) -> torch.Tensor:
    """n draws from N(μ, σ²), the same n numbers for the same seed."""
    n = validate.positive_int("n", n)
    g = torch.Generator().manual_seed(seed)
    mu, sigma = validate.number("mu", mu), validate.number("sigma", sigma, above=0)
    return mu + sigma * torch.randn(n, generator=g)

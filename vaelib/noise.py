"""Lesson 06 (further 06a, 06e): the decoder's noise σ in p_θ(x|z) = N(x; μ_θ(z), σ² I), and who owns it.

    fixed      FixedNoiseDecoder: σ a hyper-parameter, not part of θ; -ELBO = (‖x - μ_θ(z)‖² + γ KL)/(2σ²)
               + const, γ = 2σ² (not Higgins et al.'s β: a β-VAE at σ₀ is β times the VAE at σ₀√β, plus a
               constant, 06e)
    shared     SharedNoiseDecoder: one σ for every pixel and every z, learned: part of θ
    per pixel  vae.GaussianDecoder (AEVB C.2): σ(z) an OUTPUT; the likelihood is unbounded (Mattei &
               Frellsen 2018) without a floor, GaussianDecoder(min_scale=σ_min): then ≤ likelihood_ceiling
Build either with vaelib.vae.make_vae(FixedNoiseDecoder, ..., sigma=0.1).
"""

import math

import torch
from torch import nn
from torch.distributions import Independent, Normal

from vaelib import validate
from vaelib.vae import Decoder


class FixedNoiseDecoder(Decoder):
    """p_θ(x|z) = N(x; μ_θ(z), σ² I), μ_θ = MLP_θ(z) and σ a fixed number (not a parameter)."""

    outputs_per_pixel = 1

    def __init__(self, z_dim: int = 2, x_dim: int = 64, hidden=(400,), activation="tanh",
                 dropout: float = 0.0, sigma: float = 0.1):
        super().__init__(z_dim, x_dim, hidden, activation, dropout)
        self.sigma = validate.number("sigma", sigma, above=0)  # a float: training never moves it

    def forward(self, z: torch.Tensor) -> Independent:
        mu = self.net(z)
        return Independent(Normal(mu, torch.full_like(mu, self.sigma), validate_args=False), 1)


class SharedNoiseDecoder(Decoder):
    """p_θ(x|z) = N(x; μ_θ(z), σ² I) with log σ a parameter (part of θ), started at log `sigma`."""

    outputs_per_pixel = 1

    def __init__(self, z_dim: int = 2, x_dim: int = 64, hidden=(400,), activation="tanh",
                 dropout: float = 0.0, sigma: float = 1.0):
        super().__init__(z_dim, x_dim, hidden, activation, dropout)
        self.log_sigma = nn.Parameter(torch.tensor(math.log(validate.number("sigma", sigma, above=0))))

    def forward(self, z: torch.Tensor) -> Independent:
        mu = self.net(z)
        return Independent(Normal(mu, self.log_sigma.exp().expand_as(mu), validate_args=False), 1)


def likelihood_ceiling(min_scale: float, x_dim: int = 64) -> float:
    """The largest log p_θ(x|z) of a decoder with every σ_d >= σ_min: x_dim (-log σ_min - ½ log 2π)."""
    min_scale = validate.number("min_scale", min_scale, above=0)
    return validate.positive_int("x_dim", x_dim) * (-math.log(min_scale) - 0.5 * math.log(2 * math.pi))

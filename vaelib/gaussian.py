"""Lesson 01: one Gaussian, θ = (μ, σ).

Here θ is nothing but the μ and σ of one distribution: reading (1) of the seed answer. It is right for
this model and wrong for a VAE, where the decoder's mean (and, in AEVB's Gaussian decoder, its σ) are
outputs of a network and θ is the network's weights.
"""

import math

import torch
from torch.distributions import Normal

from vaelib import optim, validate


def gaussian(mu, sigma) -> Normal:
    """p_θ(x) = N(x; μ, σ²), θ = (μ, σ)."""
    return Normal(validate.tensor("mu", mu), validate.scale("sigma", sigma))


def sample_data(n: int = 200, mu: float = 1.5, sigma: float = 0.8, seed: int = 0) -> torch.Tensor:
    """n draws from N(μ, σ²), the same n numbers for the same seed."""
    n = validate.positive_int("n", n)
    g = torch.Generator().manual_seed(seed)
    return validate.finite_float("mu", mu) + validate.scale("sigma", sigma) * torch.randn(n, generator=g)


def log_likelihood(x, mu, sigma) -> torch.Tensor:
    """log p_θ(x_1..x_N) = Σ_i log N(x_i; μ, σ²) = -N/2 log 2π - N log σ - Σ_i (x_i - μ)² / 2σ².

    μ and σ may be tensors of the same shape (a grid of θ values): one log-likelihood per θ.
    """
    x = validate.tensor("x", x, ndim=1)
    mu, sigma = validate.tensor("mu", mu), validate.scale("sigma", sigma)
    if mu.shape != sigma.shape:
        raise ValueError("mu and sigma: expected the same shape, got "
                         f"{tuple(mu.shape)} and {tuple(sigma.shape)}")
    return Normal(mu.unsqueeze(-1), sigma.unsqueeze(-1)).log_prob(x).sum(-1)


def mle(x) -> tuple[torch.Tensor, torch.Tensor]:
    """Closed form: μ̂ = mean(x), σ̂ = sqrt(σ̂²) with σ̂² = mean((x - μ̂)²), the 1/N variance: the
    biased estimator of σ², E σ̂² = (N - 1)/N σ² (dividing by N - 1 instead removes the bias)."""
    x = validate.tensor("x", x, ndim=1, min_len=2)
    mu = x.mean()
    return mu, ((x - mu) ** 2).mean().sqrt()


def mle_by_gradient_ascent(x, steps: int = 200, lr: float = 0.1, mu0: float = 0.0,
                           sigma0: float = 1.0) -> dict:
    """Maximise log p_θ(x) over θ = (μ, log σ) with autograd and Adam; returns the path taken.

    σ is optimised through log σ so every step keeps σ > 0.
    """
    x = validate.tensor("x", x, ndim=1, min_len=2)
    mu = torch.tensor(validate.finite_float("mu0", mu0), requires_grad=True)
    log_sigma = torch.tensor(math.log(validate.positive("sigma0", sigma0)), requires_grad=True)
    run = optim.ascend([mu, log_sigma], lambda: log_likelihood(x, mu, log_sigma.exp()), steps, lr,
                       record=lambda: (mu.item(), log_sigma.exp().item()))
    mu_path, sigma_path = (torch.tensor(c[:-1]) for c in zip(*run["path"], strict=True))
    return {"mu": mu.detach(), "sigma": log_sigma.detach().exp(),
            "mu_path": mu_path, "sigma_path": sigma_path, "log_likelihood_path": run["values"]}

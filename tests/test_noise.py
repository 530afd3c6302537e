"""vaelib.noise: the shared σ against torch.distributions and the closed-form maximum-likelihood σ; the
ceiling a floor on σ puts on the likelihood. (The fixed σ's ELBO as squared error + 2σ² KL, draw for
draw, and σ outside θ: lesson 06's check.)"""

import math

import torch
from torch.distributions import Normal

from vaelib import noise, vae
from vaelib.data import digits


def test_shared_sigma_is_one_parameter_whose_best_value_is_the_root_mean_squared_residual():
    dec = noise.SharedNoiseDecoder(2, 64, (8,), sigma=0.5).double()
    assert dec.log_sigma.requires_grad and dec.log_sigma.numel() == 1
    z, x = torch.randn(40, 2, dtype=torch.float64), digits("train", "unit")[:40].double()
    mu = dec.net(z).detach()
    torch.testing.assert_close(dec(z).log_prob(x), Normal(mu, 0.5).log_prob(x).sum(-1))
    with torch.no_grad():  # the ML σ² for fixed means: the mean squared residual
        dec.log_sigma.fill_(0.5 * ((x - mu) ** 2).mean().log().item())
    (grad,) = torch.autograd.grad(dec(z).log_prob(x).sum(), [dec.log_sigma])
    assert abs(grad.item()) < 1e-8


def test_a_floor_on_sigma_caps_the_log_likelihood_and_the_cap_is_reached_in_the_limit():
    ceiling = noise.likelihood_ceiling(0.05, 64)
    zero = torch.tensor(0.0, dtype=torch.float64)
    peak = Normal(zero, 0.05).log_prob(zero)  # the density's maximum, at x = μ
    assert math.isclose(ceiling, 64 * peak.item(), rel_tol=1e-12)
    dec = vae.GaussianDecoder(2, 64, (8,), min_scale=0.05).double()
    z = torch.randn(10, 2, dtype=torch.float64)
    x = digits("train", "unit")[:10].double()
    assert (dec(z).log_prob(x) <= ceiling).all()
    with torch.no_grad():  # μ = x exactly and log σ² -> -∞: the density reaches the ceiling
        dec.net[-1].weight.zero_()
        dec.net[-1].bias[:64] = x[0]
        dec.net[-1].bias[64:] = -60.0
    assert math.isclose(dec(z[:1]).log_prob(x[:1]).item(), ceiling, rel_tol=1e-9)

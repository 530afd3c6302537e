"""vaelib.noise: the decoder's σ fixed or shared, against hand formulas, torch.distributions and
the closed-form maximum-likelihood σ; the ceiling a floor on σ puts on the likelihood."""

import math

import torch
from torch.distributions import Normal, kl_divergence

from vaelib import noise, vae
from vaelib.data import digits


def test_fixed_sigma_is_not_a_parameter_and_the_elbo_is_squared_error_plus_2_sigma2_kl():
    """-ELBO = (‖x - μ_θ(z)‖² + γ KL) / (2σ²) + (D/2) log(2πσ²), D = 64: γ = 2σ²."""
    model = vae.make_vae(noise.FixedNoiseDecoder, 3, hidden=(16,), seed=0, sigma=0.2).double()
    assert sum(p.numel() for p in model.decoder.parameters()) == sum(
        p.numel() for p in model.decoder.net.parameters())
    x, eps = digits("train", "unit")[:6].double(), torch.randn(6, 3, dtype=torch.float64)
    q = model.encoder(x)
    mu = model.decoder.net(q.mean + q.stddev * eps)
    sse, kl = ((x - mu) ** 2).sum(-1), kl_divergence(Normal(q.mean, q.stddev), Normal(0.0, 1.0)).sum(-1)
    hand = -(sse + 2 * 0.2**2 * kl) / (2 * 0.2**2) - 32 * math.log(2 * math.pi * 0.2**2)
    torch.testing.assert_close(model.elbo(x, eps=eps), hand)


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

"""vaelib.vae: every formula against torch.distributions, a hand formula, Monte Carlo or the exact
log p(x) of a linear-Gaussian model; the bounds' ordering. (Eq. 10 written out by hand: test_train.py's
one step of Algorithm 1; the encoder's mean and log-variance as its layers' outputs: lesson 05's check.)"""

import math

import pytest
import torch
from torch.distributions import MultivariateNormal, Normal, kl_divergence

from vaelib import vae
from vaelib.data import digits


def _small(decoder="bernoulli", z_dim=3, hidden=(16,), activation="tanh", x_dim=64):
    return vae.make_vae(decoder, z_dim, x_dim, hidden, activation).double()


# --- encoder and decoders return distributions with the right log-densities ---------------------

def test_bernoulli_decoder_log_prob_is_the_c1_formula():
    dec = vae.make_vae("bernoulli", 3, hidden=(16,)).decoder.double()
    z, x = torch.randn(5, 3, dtype=torch.float64), digits("train", "binary")[:5].double()
    y = torch.sigmoid(dec.net(z))
    hand = (x * y.log() + (1 - x) * (1 - y).log()).sum(-1)
    torch.testing.assert_close(dec(z).log_prob(x), hand)
    torch.testing.assert_close(dec(z).mean, y)


@pytest.mark.parametrize("floor", [0.0, 0.05])
def test_gaussian_decoder_log_prob_is_the_c2_formula_with_the_floor_added_to_the_variance(floor):
    dec = vae.GaussianDecoder(3, 64, (16,), min_scale=floor).double()
    z, x = torch.randn(5, 3, dtype=torch.float64), digits("train", "unit")[:5].double()
    mu, log_var = dec.net(z).chunk(2, dim=-1)
    var = log_var.exp() + floor**2
    hand = (-0.5 * (torch.log(2 * math.pi * var) + (x - mu) ** 2 / var)).sum(-1)
    torch.testing.assert_close(dec(z).log_prob(x), hand)
    assert (dec(z).base_dist.scale > floor).all()


def test_theta_and_phi_are_disjoint_and_the_prior_has_no_parameters():
    model = _small()
    theta = {id(p) for p in model.decoder.parameters()}
    phi = {id(p) for p in model.encoder.parameters()}
    assert theta.isdisjoint(phi) and theta | phi == {id(p) for p in model.parameters()}
    prior = model.prior()
    z = torch.randn(4, 3, dtype=torch.float64)
    torch.testing.assert_close(prior.log_prob(z), Normal(0.0, 1.0).log_prob(z).sum(-1))
    assert not any(t.requires_grad for t in (prior.base_dist.loc, prior.base_dist.scale))


# --- the SGVB estimator and the importance-weighted bound ---------------------------------------

def test_analytic_kl_estimator_has_the_same_mean_as_the_plain_monte_carlo_one():
    """Eq. 10 (analytic KL) and eq. 9 (log p(x,z) - log q(z|x)) estimate the same ELBO."""
    model = _small()
    x = digits("train", "binary")[:2].double()
    g = torch.Generator().manual_seed(1)
    a = model.elbo(x.repeat(4000, 1), generator=g).view(4000, 2)
    b = model.log_marginal(x.repeat(4000, 1), K=1, generator=g).view(4000, 2)
    diff = a.mean(0) - b.mean(0)
    se = (a.var(0) / 4000 + b.var(0) / 4000).sqrt()
    assert (diff.abs() < 4 * se).all()
    assert (a.var(0) < b.var(0)).all()  # the analytic KL removes part of the noise


def test_iwae_with_k1_is_the_eq_9_estimator_on_the_same_noise():
    model = _small()
    x = digits("train", "binary")[:4].double()
    got = model.log_marginal(x, K=1, generator=torch.Generator().manual_seed(3))
    eps = torch.randn((1, 4, 3), generator=torch.Generator().manual_seed(3), dtype=torch.float64)[0]
    q = model.encoder(x)
    z = q.mean + q.stddev * eps
    hand = model.decoder(z).log_prob(x) + model.prior().log_prob(z) - q.log_prob(z)
    torch.testing.assert_close(got, hand)


def _linear_gaussian_vae():
    """hidden=() makes both nets linear; zeroing the decoder's log-variance weights makes
    p_θ(x|z) = N(W z + b, diag σ²) with σ fixed, so p_θ(x) = N(b, W Wᵀ + diag σ²) exactly."""
    model = vae.make_vae("gaussian", 2, 5, (), seed=1).double()
    lin = model.decoder.net[0]
    with torch.no_grad():
        lin.weight[5:] = 0.0
        lin.bias[5:] = torch.linspace(-1.0, 0.0, 5)
    W, b, var = lin.weight[:5].detach(), lin.bias[:5].detach(), lin.bias[5:].detach().exp()
    marginal = MultivariateNormal(b, W @ W.T + torch.diag(var))
    # Encoder: the exact posterior mean P⁻¹ Wᵀ D⁻¹ (x - b), P = I + Wᵀ D⁻¹ W, and diagonal
    # variances twice the posterior's: a proposal a bit wider than p_θ(z|x), so L_K converges.
    P = torch.eye(2, dtype=W.dtype) + W.T @ torch.diag(1 / var) @ W
    A = torch.linalg.solve(P, W.T @ torch.diag(1 / var))
    enc = model.encoder.net[0]
    with torch.no_grad():
        enc.weight.zero_()
        enc.weight[:2] = A
        enc.bias[:2] = -A @ b
        enc.bias[2:] = (2 * torch.linalg.inv(P).diagonal()).log()
    x = marginal.sample((3,)) * 1.5
    return model, x, marginal.log_prob(x)


def test_bounds_are_ordered_and_reach_the_exact_log_marginal():
    model, x, log_px = _linear_gaussian_vae()
    g = torch.Generator().manual_seed(0)
    reps = 200
    means = {}
    for K in (1, 10, 100):
        means[K] = model.log_marginal(x.repeat(reps, 1), K=K, generator=g).view(reps, -1).mean(0)
    elbo = model.elbo(x.repeat(reps, 1), generator=g).view(reps, -1).mean(0)
    l1000 = model.log_marginal(x, K=1000, generator=g)
    assert (elbo < means[10]).all() and (means[1] < means[10]).all()
    assert (means[10] < means[100]).all() and (means[100] <= log_px + 0.01).all()  # 0.01: MC noise
    assert (elbo <= log_px).all() and (log_px - elbo > 0.05).all()  # a real gap to close ...
    torch.testing.assert_close(l1000, log_px, atol=0.03, rtol=0)  # ... closed by K = 1000


def test_log_marginal_in_chunks_of_max_rows_is_the_same_estimate():
    model = _small(hidden=(32,))
    x, g = digits("test", "binary")[:3].double(), torch.Generator().manual_seed(0)
    one_at_a_time = model.log_marginal(x, K=1000, generator=g, max_rows=1000)
    torch.testing.assert_close(one_at_a_time, model.log_marginal(x, K=1000, generator=g), atol=0.1, rtol=0)


# --- lesson 06's hooks: a floor on σ, a decoder given as a class, a KL without a closed form ---------

def test_make_vae_takes_a_decoder_class_and_its_options():
    model = vae.make_vae(vae.GaussianDecoder, 2, hidden=(8,), seed=0, min_scale=0.1)
    assert isinstance(model.decoder, vae.GaussianDecoder) and model.decoder.min_scale == 0.1
    by_name = vae.make_vae("gaussian", 2, hidden=(8,), seed=0)
    for a, b in zip(model.parameters(), by_name.parameters(), strict=True):  # the same seeded weights
        assert torch.equal(a, b)


def test_the_kl_estimate_of_a_prior_without_closed_form_averages_to_the_closed_form():
    """With analytic_kl off, the KL term is (1/S) Σ_s [log q(z_s|x) - log p(z_s)]: its mean over many
    draws is the closed-form KL (AEVB Appendix B) within Monte Carlo error."""
    model = _small()
    x = digits("train", "binary")[:3].double()
    q = model.encoder(x)
    z = q.sample((20000,))
    model.analytic_kl = False
    _, estimate = model.elbo_terms(x, q, z)
    per_draw = q.log_prob(z) - model.prior().log_prob(z)
    se = per_draw.std(0) / math.sqrt(20000)
    exact = kl_divergence(q, model.prior())
    assert ((estimate - exact).abs() < 4 * se).all()

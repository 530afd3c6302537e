"""Property-based tests (hypothesis) of vaelib on random linear-Gaussian models, x and q, against the
closed forms written here in a form vaelib does not use (vaelib.joint writes the posterior by its
precision, 1/v = 1/s_z² + w²/σ²; here it is the Kalman gain k):

    p_θ(x)   = N(x; w μ_z + b, w² s_z² + σ²)
    p_θ(z|x) = N(z; μ_z + k (x - w μ_z - b), (1 - k w) s_z²),  k = w s_z² / (w² s_z² + σ²)
    ELBO(q)  = -½ log 2πσ² - ((x - w m - b)² + w² s²) / 2σ² - KL(q ‖ p_θ(z)),  q = N(m, s²)

z ~ N(μ_z, s_z²), x|z ~ N(w z + b, σ²). Every draw is deterministic (derandomize=True, no database).
"""

import math

import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch.distributions import Normal, kl_divergence

from vaelib import elbo, encoder, joint, per_datapoint

PROPERTY = settings(max_examples=40, derandomize=True, deadline=None, database=None)
FEW = settings(PROPERTY, max_examples=12)
F64 = torch.float64


def real(lo, hi):
    return st.floats(lo, hi, allow_nan=False, allow_infinity=False)


def marginal(mu_z, s_z, w, b, sigma) -> Normal:
    return Normal(w * mu_z + b, (w**2 * s_z**2 + sigma**2).sqrt())


def kalman_posterior(x, mu_z, s_z, w, b, sigma) -> Normal:
    k = w * s_z**2 / (w**2 * s_z**2 + sigma**2)
    return Normal(mu_z + k * (x - w * mu_z - b), ((1 - k * w) * s_z**2).sqrt())


def closed_form_elbo(x, q: Normal, mu_z, s_z, w, b, sigma):
    squared = (x - w * q.loc - b) ** 2 + (w * q.scale) ** 2  # E_q (x - w z - b)²
    kl = kl_divergence(q, Normal(mu_z, s_z))
    return -0.5 * torch.log(2 * math.pi * sigma**2) - squared / (2 * sigma**2) - kl


@st.composite
def theta_x_q(draw):
    """θ = (μ_z, s_z, w, b, σ) in float64, an x within 3 sd of p_θ(x), q = N(m, s²) with m within 3
    posterior sd of the posterior mean and s from 0.37 to 2.7 times the posterior sd."""
    theta = tuple(torch.tensor(draw(real(lo, hi)), dtype=F64)
                  for lo, hi in ((-3, 3), (0.2, 3), (-3, 3), (-3, 3), (0.2, 3)))
    p_x = marginal(*theta)
    x = p_x.mean + p_x.stddev * draw(real(-3, 3))
    post = kalman_posterior(x, *theta)
    q = Normal(post.mean + post.stddev * draw(real(-3, 3)), post.stddev * math.exp(draw(real(-1, 1))))
    return theta, x, q


def with_linear_f(mu_z, s_z, w, b, sigma, grid=None) -> joint.NonlinearLVM:
    """The quadrature model with f(z) = w z + b (default grid: μ_z ± 10 s_z, dz = s_z/100)."""
    return joint.NonlinearLVM(f=lambda z: w * z + b, sigma=sigma, mu_z=mu_z, s_z=s_z, grid=grid)


@PROPERTY
@given(theta_x_q())
def test_linear_gaussian_lvm_is_the_kalman_form(case):
    theta, x, _ = case
    model = joint.LinearGaussianLVM(*theta)
    pairs = ((marginal(*theta), model.marginal()), (kalman_posterior(x, *theta), model.posterior(x)))
    for ours, vaelibs in pairs:
        assert torch.isclose(vaelibs.mean, ours.mean, rtol=1e-10, atol=1e-10)
        assert torch.isclose(vaelibs.stddev, ours.stddev, rtol=1e-10, atol=1e-12)


@PROPERTY
@given(theta_x_q())
def test_the_quadrature_with_a_linear_f_is_the_closed_form(case):
    """NonlinearLVM's docstring: |log p_θ(x) - closed form| < 1e-10 while the posterior sd is at
    least 2 dz (here at least 2.2 dz: σ/√(w² s_z² + σ²) ≥ 0.022)."""
    theta, x, _ = case
    model, exact = with_linear_f(*theta), kalman_posterior(x, *theta)
    assert abs(model.log_marginal(x) - marginal(*theta).log_prob(x)) < 1e-10
    post = model.posterior(x)
    assert abs(post.log_normaliser - marginal(*theta).log_prob(x)) < 1e-10
    torch.testing.assert_close(post.density, exact.log_prob(model.grid).exp(), rtol=1e-8, atol=1e-10)
    assert torch.isclose(post.mean, exact.mean, rtol=1e-8, atol=1e-10)
    assert torch.isclose(post.std, exact.stddev, rtol=1e-6, atol=1e-10)


@PROPERTY
@given(theta_x_q())
def test_the_grid_elbo_and_kl_are_the_closed_forms(case):
    theta, x, q = case
    model = with_linear_f(*theta, grid=torch.linspace(-100, 100, 20001, dtype=F64))  # q's tails on it too
    exact = closed_form_elbo(x, q, *theta)
    assert torch.isclose(elbo.elbo_grid(model, x, q.loc, q.scale), exact, rtol=1e-7, atol=1e-7)
    kl = elbo.kl_to_posterior_grid(model, x.item(), q.loc, q.scale)
    assert torch.isclose(kl, kl_divergence(q, kalman_posterior(x, *theta)), rtol=1e-6, atol=1e-7)


@FEW
@given(theta_x_q(), st.integers(0, 2**31 - 1))
def test_the_sampled_elbo_is_unbiased_with_and_without_the_analytic_kl(case, seed):
    """elbo() over 4000 independent one-sample runs: the mean within 6 standard errors of the closed form."""
    theta, x, q = case
    model, exact = joint.LinearGaussianLVM(*theta), closed_form_elbo(x, q, *theta)
    replicas = Normal(q.loc.expand(4000), q.scale.expand(4000))
    for analytic_kl in (True, False):
        per_run = elbo.elbo(model, x, replicas, 1, analytic_kl, torch.Generator().manual_seed(seed))
        assert abs(per_run.mean() - exact) <= 6 * per_run.std() / math.sqrt(4000) + 1e-9, analytic_kl


@PROPERTY
@given(theta_x_q(), st.sampled_from([1, 3, 50]), st.integers(0, 2**31 - 1))
def test_l_k_with_the_exact_posterior_is_the_evidence(case, k, seed):
    """q = p_θ(z|x): every weight p(x, z)/q(z) is p(x), so L_K = log p(x) for every K, draw for draw."""
    theta, x, _ = case
    model = joint.LinearGaussianLVM(*theta)
    g = torch.Generator().manual_seed(seed)
    bound = elbo.iwae_bound(model, x, model.posterior(x), k, n_outer=3, generator=g)
    assert torch.isclose(bound, marginal(*theta).log_prob(x), rtol=1e-9, atol=1e-9)


@FEW
@given(real(-1, 1), real(0.5, 2), real(-2, 2), real(-1, 1), real(0.3, 1), real(-2, 2))
def test_the_best_gaussian_is_the_posterior_when_that_is_gaussian(mu_z, s_z, w, b, sigma, u):
    """f linear: q* = p_θ(z|x), so the approximation gap is 0 (and the encoder's amortization gap ≥ 0)."""
    theta = tuple(torch.tensor(v, dtype=F64) for v in (mu_z, s_z, w, b, sigma))
    model, p_x = with_linear_f(*theta), marginal(*theta)
    x = (p_x.mean + u * p_x.stddev).reshape(1)
    best, post = per_datapoint.optimal_gaussian(model, x), kalman_posterior(x, *theta)
    assert torch.allclose(best["m"], post.mean, rtol=1e-5, atol=1e-5), (best, post)
    assert torch.allclose(best["s"], post.stddev, rtol=1e-5, atol=1e-6), (best, post)
    assert (model.log_marginal(x) - best["elbo"]).abs().max() < 1e-6
    gaps = encoder.gaps(model, x, encoder.ScalarEncoder(seed=0))
    assert (gaps["approximation"].abs() < 1e-6).all() and (gaps["amortization"] >= -1e-9).all()

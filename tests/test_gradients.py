"""vaelib.gradients: both estimators unbiased, their variances the closed forms."""

import math

import numpy as np
import pytest
import torch
from helpers import g, mean_and_se

from vaelib import elbo, gradients

X_BIMODAL = 1.2


@pytest.mark.parametrize("estimator", [gradients.reparam_gradient, gradients.score_function_gradient])
def test_gradient_estimators_are_unbiased_for_z_squared(estimator):
    m, s = 0.7, 1.3  # E[z²] = m² + s²: ∇_m = 2m, ∇_s = 2s
    grads = estimator(lambda z: z**2, m, s, 200000, generator=g(1))
    for name, exact in (("m", 2 * m), ("s", 2 * s)):
        mean, se = mean_and_se(grads[name])
        assert abs(mean - exact) < 4 * se


@pytest.mark.parametrize("estimator", [gradients.reparam_gradient, gradients.score_function_gradient])
def test_gradient_estimators_are_unbiased_for_the_models_log_joint(model, estimator):
    m, s = 0.3, 0.8
    m_t = torch.tensor(m, dtype=torch.float64, requires_grad=True)
    s_t = torch.tensor(s, dtype=torch.float64, requires_grad=True)
    expected = elbo.elbo_grid(model, X_BIMODAL, m_t, s_t) - 0.5 * torch.log(
        2 * math.pi * math.e * s_t**2)  # E_q[log p(x, z)] by quadrature
    exact = torch.autograd.grad(expected, [m_t, s_t])
    grads = estimator(lambda z: model.log_joint(X_BIMODAL, z), m, s, 100000, generator=g(2))
    for name, ex in zip(("m", "s"), exact, strict=True):
        mean, se = mean_and_se(grads[name])
        assert abs(mean - ex.item()) < 4 * se


@pytest.mark.parametrize("mu,sigma", [(0.0, 1.0), (0.0, 0.5), (1.0, 1.0), (-0.5, 1.5)])
def test_measured_variances_match_the_closed_forms(mu, sigma):
    """q = N(μ, σ²), f(z) = z², ∇_μ: reparameterisation 4σ², score (μ⁴ + 14μ²σ² + 15σ⁴)/σ²."""
    closed = gradients.quadratic_gradient_variances(mu, sigma)
    n = 400000
    rep = gradients.reparam_gradient(lambda z: z**2, mu, sigma, n, generator=g(3))["m"].var().item()
    sco = gradients.score_function_gradient(lambda z: z**2, mu, sigma, n, generator=g(4))["m"].var().item()
    assert rep == pytest.approx(closed["reparam"], rel=0.02)
    assert sco == pytest.approx(closed["score"], rel=0.05)
    if mu == 0:
        assert closed["ratio"] == pytest.approx(3.75)
        assert sco / rep == pytest.approx(3.75, rel=0.05)


@pytest.mark.parametrize("mu,sigma", [(0.0, 1.0), (2.0, 0.5), (1.0, 1.0), (-3.0, 0.7)])
def test_the_variance_ratio_is_that_of_the_two_estimators_by_quadrature(mu, sigma):
    """score / reparam = 15/4 + 3.5 r² + ¼ r⁴, r = μ/σ, against the variances of the two per-sample
    estimators themselves, ĝ = 2z and ĝ = z² (z - μ)/σ² at z = μ + σ ε, by Gauss-Hermite quadrature
    over ε (exact for these polynomials): no closed form on the reference side. (2, 0.5): 123.75."""
    nodes, weights = (torch.tensor(a, dtype=torch.float64) for a in np.polynomial.hermite_e.hermegauss(12))
    weights = weights / weights.sum()
    z = mu + sigma * nodes
    variance = lambda g: ((weights * g**2).sum() - (weights * g).sum() ** 2).item()  # noqa: E731
    by_quadrature = variance(z**2 * (z - mu) / sigma**2) / variance(2 * z)
    closed = gradients.quadratic_gradient_variances(mu, sigma)
    assert closed["ratio"] == pytest.approx(by_quadrature, rel=1e-10)
    r = mu / sigma
    assert closed["ratio"] == pytest.approx(15 / 4 + 3.5 * r**2 + r**4 / 4, rel=1e-12)  # the docstring's form
    if (mu, sigma) == (2.0, 0.5):
        assert by_quadrature == pytest.approx(123.75)

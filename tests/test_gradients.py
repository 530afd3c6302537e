"""vaelib.gradients: both estimators unbiased, in m and in s. (Their variances against the closed forms:
lesson 03's check, by sampling; the closed forms against Gauss-Hermite quadrature: further/03c's.)"""

import math

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

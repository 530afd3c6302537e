"""Lesson 03's dashboard (vaelib.dashboards.l03_vi): at every slider position the bar's ELBO + KL is
log p_θ(x), each part checked by a route that shares neither the dashboard's grid nor its code."""

import math

import numpy as np
import pytest
import torch

from vaelib import joint
from vaelib.dashboards import l03_vi as D
from vaelib.dashboards.common import positions

F64 = torch.float64


@pytest.fixture(scope="module")
def table():
    """ELBO and KL as the dashboard computes them, at every one of its 121 × 96 slider positions."""
    view = D.dashboard().draw.__self__
    ms, ss = positions(*D.M_RANGE, 0.05), positions(*D.S_RANGE, 0.02)
    terms = np.array([[view.terms(float(m), float(s)) for s in ss] for m in ms])
    return view, torch.as_tensor(ms), torch.as_tensor(ss), torch.as_tensor(terms)


def test_the_bar_ends_at_log_p_at_every_slider_position(table):
    """ELBO + KL against log p_θ(x) on a wider, finer grid than the model's (±12, dz = 0.005)."""
    view, ms, ss, terms = table
    assert terms.shape == (121, 96, 2)
    finer = joint.NonlinearLVM(grid=torch.linspace(-12, 12, 4801, dtype=F64))
    with torch.no_grad():
        log_px = finer.log_marginal(torch.tensor(D.X_OBSERVED, dtype=F64)).item()
    assert abs(view.log_px - log_px) < 1e-10
    assert (terms.sum(-1) - log_px).abs().max() < 1e-6


def test_the_elbo_is_the_expectation_over_q_on_q_s_own_nodes(table):
    """ELBO(m, s) = ∫ N(ε; 0, 1) log p_θ(x, m + s ε) dε + ½ log(2πe s²), by the trapezoidal rule in ε
    (nodes m + s ε_k: a different grid for every λ, weights from N(ε; 0, 1), not renormalised)."""
    _, ms, ss, terms = table
    eps = torch.linspace(-10, 10, 401, dtype=F64)  # 2001 nodes agree to 1e-12
    weights = torch.distributions.Normal(0.0, 1.0).log_prob(eps).exp() * (eps[1] - eps[0])
    model = joint.NonlinearLVM()
    for i, m in enumerate(ms):  # one m at a time: (96, 401) points
        with torch.no_grad():
            expected = (model.log_joint(D.X_OBSERVED, m + ss[:, None] * eps) * weights).sum(-1)
        entropy = 0.5 * torch.log(2 * math.pi * math.e * ss**2)
        assert (terms[i, :, 0] - (expected + entropy)).abs().max() < 1e-6, m.item()


def test_the_trimmed_quadrature_grid_would_miss_log_p_for_a_wide_q():
    """Why the dashboard has its own grid: posterior.quadrature_grid follows the posterior and cuts
    q = N(3, 2²) off (the newcomer review measured 0.146 nats there); q_grid covers it."""
    from vaelib import elbo, posterior

    model, x = joint.NonlinearLVM(), D.X_OBSERVED
    log_px = model.log_marginal(torch.tensor(x)).item()
    post = posterior.posterior(model, x)
    for grid, off in ((posterior.quadrature_grid(model, torch.tensor([x]))[0], 0.1), (D._q_grid(model), 0)):
        with torch.no_grad():
            total = (elbo.elbo_from_log_joint(model.log_joint(x, grid), grid, 3.0, 2.0)
                     + elbo.kl_from_log_posterior(post.log_prob(grid), grid, 3.0, 2.0)).item()
        assert (abs(total - log_px) > off) if off else abs(total - log_px) < 1e-9

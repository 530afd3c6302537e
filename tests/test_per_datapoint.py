"""vaelib.per_datapoint: λ_i by stochastic gradients reaches q*, and q* is the best Gaussian."""

import torch
from helpers import g
from torch.distributions import Normal

from vaelib import elbo, per_datapoint

X_BIMODAL = 1.2


def test_optimal_gaussian_beats_a_brute_force_search(model, points):
    x = torch.cat([points[:6], torch.tensor([X_BIMODAL], dtype=torch.float64)])
    best = per_datapoint.optimal_gaussian(model, x)
    M, S = torch.meshgrid(torch.linspace(-3, 3, 49, dtype=torch.float64),
                          torch.linspace(0.1, 2, 20, dtype=torch.float64), indexing="ij")
    with torch.no_grad():
        for xi, e in zip(x, best["elbo"], strict=True):
            assert elbo.elbo_grid(model, xi, M, S).max() <= e + 1e-9
    assert_monte_carlo_elbo(model, x, Normal(best["m"], best["s"]), best["elbo"])


def assert_monte_carlo_elbo(model, x, q, value, n=40_000):
    """`value` (by quadrature) is E_q[log p_θ(x, z) - log q(z)] by Monte Carlo, within 4 s.e."""
    with torch.no_grad():
        z = elbo.reparameterised_sample(q, n, g(7))
        w = model.log_joint(x, z) - q.log_prob(z)
    se = w.std(0) / n**0.5
    assert ((w.mean(0) - value).abs() < 4 * se).all(), (w.mean(0), value, se)


def test_per_datapoint_vi_converges_to_the_optimum(model, points):
    x = points[:30]
    fit = per_datapoint.fit_per_datapoint(model, x, steps=300, lr=0.03, n_samples=16)
    best = per_datapoint.optimal_gaussian(model, x)
    with torch.no_grad():
        reached = elbo.elbo_grid(model, x, fit["m"], fit["s"])
    assert fit["m_path"].shape == (301, 30) and fit["s_path"].shape == (301, 30)
    assert (reached <= best["elbo"] + 1e-9).all()
    assert (best["elbo"] - reached).max() < 0.05


def test_a_plain_number_start_keeps_the_dtype_of_x(model):
    """m0 = 2.0 and s0 = 0.3 start the fit in x's float64, as lesson 03's written-out loop does (they were
    rounded to float32 once, and the fit ran in float32)."""
    x = torch.tensor([1.5], dtype=torch.float64)
    fit = per_datapoint.fit_per_datapoint(model, x, steps=5, m0=2.0, s0=0.3)
    assert fit["m"].dtype == fit["s"].dtype == fit["m_path"].dtype == torch.float64
    assert fit["m_path"][0].item() == 2.0 and fit["s_path"][0].item() == 0.3

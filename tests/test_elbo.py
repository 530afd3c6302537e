"""vaelib.elbo on the network model (a non-Gaussian posterior) and the linear one, against routes that
share no grid with it and estimators written out. (The grid ELBO and KL against the closed forms, the
sampled ELBO's bias and L_K at the exact posterior: test_properties.py; L_K rising with K from the ELBO
to log p_θ(x): further/03b's check and test_vae.py.)

Tolerances: quadrature identities to 1e-8 nats; Monte Carlo within 0.01 nats, with fixed seeds.
"""

import math

import pytest
import torch
from helpers import g
from torch.distributions import Normal, kl_divergence

from vaelib import elbo, joint

X_BIMODAL = 1.2  # an x whose posterior in the default NonlinearLVM is far from Gaussian


def test_elbo_is_below_the_log_evidence_for_every_q_on_a_surface(model):
    M, S = torch.meshgrid(torch.linspace(-3, 3, 41), torch.linspace(0.1, 3, 30), indexing="ij")
    for x in (-0.5, X_BIMODAL, 2.5):
        with torch.no_grad():
            surface = elbo.elbo_grid(model, x, M, S)
        assert surface.shape == M.shape and torch.isfinite(surface).all()
        assert (surface < model.log_marginal(torch.tensor(x))).all()


def test_elbo_with_the_exact_posterior_is_the_log_evidence_in_every_sample():
    """Linear-Gaussian model: with q = p_θ(z|x), log p(x, z) - log q(z) = log p(x) for every z."""
    lin = joint.LinearGaussianLVM(mu_z=0.3, s_z=1.2, w=-0.8, b=0.5, sigma=0.4)
    x = torch.tensor([-1.0, 0.2, 2.0])
    for n in (1, 5):
        e = elbo.elbo(lin, x, lin.posterior(x), n, analytic_kl=False, generator=g())
        torch.testing.assert_close(e, lin.marginal().log_prob(x))
    with_kl = elbo.elbo(lin, x, lin.posterior(x), 20000, analytic_kl=True, generator=g())
    assert (with_kl - lin.marginal().log_prob(x)).abs().max() < 0.01


def test_elbo_plus_kl_is_log_p_on_the_network_model_by_routes_that_share_no_grid(model):
    """The identity on a non-Gaussian posterior: the ELBO by the trapezoidal rule in ε (nodes
    m + s ε, weights N(ε; 0, 1) dε, no z grid), the KL from the grid posterior (kl_to_posterior_grid),
    log p_θ(x) on a wider, finer grid. On one shared grid the three agree by algebra up to an entropy
    term whatever log_joint is; here a wrong grid, a lost log dz or a wrong entropy would show."""
    eps = torch.linspace(-10, 10, 401, dtype=torch.float64)
    weights = Normal(0.0, 1.0).log_prob(eps).exp() * (eps[1] - eps[0])
    finer = joint.NonlinearLVM(grid=torch.linspace(-12, 12, 4801, dtype=torch.float64))
    for x in (-0.5, X_BIMODAL, 1.5, 2.5):
        with torch.no_grad():
            log_px = finer.log_marginal(torch.tensor(x, dtype=torch.float64)).item()  # float32 1.2 ≠ 1.2
            for m, s in [(0.0, 1.0), (0.98, 0.43), (-1.5, 0.2), (2.0, 1.1)]:  # q inside the grid (±10)
                bound = (model.log_joint(x, m + s * eps) * weights).sum().item() + 0.5 * math.log(
                    2 * math.pi * math.e * s**2)
                assert elbo.elbo_grid(model, x, m, s).item() == pytest.approx(bound, abs=1e-8)
                kl = elbo.kl_to_posterior_grid(model, x, m, s).item()
                assert bound + kl == pytest.approx(log_px, abs=1e-8)


def test_given_draws_give_the_estimator_by_hand():
    """elbo(..., z=draws): (1/S) Σ_s log p_θ(x|z_s) - KL(q ‖ p_θ(z)), with torch's Gaussian KL."""
    lin = joint.LinearGaussianLVM(mu_z=0.3, s_z=1.2, w=-0.8, b=0.5, sigma=0.4)
    q = elbo._variational(torch.tensor([0.1, -0.4]), torch.tensor([0.7, 0.3]))
    z = torch.tensor([[0.5, -1.0], [0.0, 0.2], [1.5, -0.3]])
    x = torch.tensor([0.9, -0.2])
    by_hand = Normal(-0.8 * z + 0.5, 0.4).log_prob(x).mean(0) - kl_divergence(q, Normal(0.3, 1.2))
    torch.testing.assert_close(elbo.elbo(lin, x, q, z=z), by_hand)
    plain = (lin.log_joint(x, z) - q.log_prob(z)).mean(0)
    torch.testing.assert_close(elbo.elbo(lin, x, q, z=z, analytic_kl=False), plain)

"""vaelib.elbo against quadrature, closed forms and torch.distributions.

Tolerances: quadrature identities hold to 1e-6 nats (the default grid, dz = 0.01; measured ~1e-7);
Monte Carlo claims are checked to within 4 standard errors, with fixed seeds (so deterministic).
"""

import math

import pytest
import torch
from helpers import g, linear, mean_and_se
from torch.distributions import Normal, kl_divergence

from vaelib import elbo, joint, per_datapoint

X_BIMODAL = 1.2  # an x whose posterior in the default NonlinearLVM is far from Gaussian

# ---------------------------------------------------------------- the ELBO and the evidence


def test_variational_family_is_a_torch_normal():
    q = elbo._variational(0.5, 2.0)
    assert isinstance(q, Normal) and q.loc.item() == 0.5 and q.scale.item() == 2.0


@pytest.mark.parametrize("m,s", [(0.0, 1.0), (0.8, 0.3), (-1.5, 0.6), (0.2, 1.5)])
def test_grid_elbo_and_kl_match_the_closed_form_of_a_linear_model(m, s):
    """ELBO(q) = log p_θ(x) - KL(q ‖ p_θ(z|x)) with both right-hand terms in closed form
    (LinearGaussianLVM, torch's Gaussian KL): quadrature to 1e-6 nats, or 1e-7 of a large KL."""
    nl, exact = linear()
    q = Normal(torch.tensor(m, dtype=torch.float64), torch.tensor(s, dtype=torch.float64))
    for x in (-0.5, 1.2, 2.5):
        kl = kl_divergence(q, exact.posterior(torch.tensor(x, dtype=torch.float64))).item()
        log_px = exact.marginal().log_prob(torch.tensor(x, dtype=torch.float64)).item()
        close = dict(rel=1e-7, abs=1e-6)  # KL up to 50 nats here: 1e-7 of it is quadrature error
        assert elbo.kl_to_posterior_grid(nl, x, m, s).item() == pytest.approx(kl, **close)
        assert elbo.elbo_grid(nl, x, m, s).item() == pytest.approx(log_px - kl, **close)


@pytest.mark.parametrize("m,s", [(0.0, 1.0), (0.8, 0.3), (-1.5, 0.6), (0.2, 1.5)])
def test_the_kl_to_a_non_gaussian_posterior_is_positive(model, m, s):
    for x in (-0.5, X_BIMODAL, 2.5):
        assert elbo.kl_to_posterior_grid(model, x, m, s).item() > 1e-3


def test_elbo_is_below_the_log_evidence_for_every_q_on_a_surface(model):
    M, S = torch.meshgrid(torch.linspace(-3, 3, 41), torch.linspace(0.1, 3, 30), indexing="ij")
    for x in (-0.5, X_BIMODAL, 2.5):
        with torch.no_grad():
            surface = elbo.elbo_grid(model, x, M, S)
        assert surface.shape == M.shape and torch.isfinite(surface).all()
        assert (surface < model.log_marginal(torch.tensor(x))).all()


@pytest.mark.parametrize("analytic_kl", [True, False])
def test_the_sampled_elbo_is_unbiased(model, analytic_kl):
    n, (m, s) = 40000, (0.4, 0.7)
    q = Normal(torch.full((n,), m, dtype=torch.float64), torch.full((n,), s, dtype=torch.float64))
    with torch.no_grad():
        draws = elbo.elbo(model, X_BIMODAL, q, 1, analytic_kl=analytic_kl, generator=g())
    mean, se = mean_and_se(draws)
    assert abs(mean - elbo.elbo_grid(model, X_BIMODAL, m, s).item()) < 4 * se


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


# ---------------------------------------------------------------- the importance-weighted bound


def test_iwae_bound_rises_with_k_towards_the_log_evidence(model):
    x, ks, reps = X_BIMODAL, [1, 2, 4, 16, 64, 256, 1024], 2000
    best = per_datapoint.optimal_gaussian(model, torch.tensor([x]))
    q = Normal(best["m"].expand(reps), best["s"].expand(reps))
    log_px = model.log_marginal(torch.tensor(x)).item()
    means, ses = [], []
    with torch.no_grad():
        for k in ks:
            mean, se = mean_and_se(elbo.iwae_bound(model, x, q, k, generator=g(k)))
            means.append(mean)
            ses.append(se)
    assert abs(means[0] - best["elbo"].item()) < 4 * ses[0]  # L_1 = ELBO
    for a, b, sa, sb in zip(means, means[1:], ses, ses[1:], strict=False):
        assert b - a > -4 * math.hypot(sa, sb)  # non-decreasing, up to sampling error
    assert means[-1] - means[0] > 0.5 * (log_px - means[0])  # and it really rises
    assert all(m < log_px + 4 * s for m, s in zip(means, ses, strict=True))  # a lower bound
    assert abs(log_px - means[-1]) < 0.01  # L_1024 within 0.01 nats of log p(x)


def test_l_k_for_the_best_gaussian_climbs_past_the_mass_it_covers(model):
    """Lesson 03, x = 1.5: q* leaves the left basin almost empty (1e-3 of its mass), and a heuristic
    puts L_K at log p_θ(x) + log P(right basins | x) "while the left basin is missed". It is not a
    limit: with 2000 sets of K = 1000 draws L_K lies well above it (and below log p_θ(x))."""
    x = 1.5
    best = per_datapoint.optimal_gaussian(model, torch.tensor([x]))
    with torch.no_grad():
        post = model.posterior(torch.tensor(x))
        d = post.density
        minima = post.grid[1:-1][(d[1:-1] < d[:-2]) & (d[1:-1] < d[2:])]
        right = (d[post.grid >= minima[0]].sum() * post.dz).item()  # posterior mass right of the left basin
        q = Normal(best["m"].expand(2000), best["s"].expand(2000))
        mean, se = mean_and_se(elbo.iwae_bound(model, x, q, 1000, generator=g(1000)))
    log_px = model.log_marginal(torch.tensor(x)).item()
    heuristic = log_px + math.log(right)
    assert len(minima) == 2 and 0.7 < right < 0.75
    assert heuristic + 4 * se < mean < log_px - 0.1, (heuristic, mean, se)


def test_the_importance_weights_of_the_best_gaussian_are_unbounded(model):
    """Burda et al.'s Theorem 1 asks for bounded p(x, z)/q(z) before it says L_K -> log p(x). For q*
    at x = 1.5 (s* = 0.43 < 1, the prior's scale) log w grows like z²(1/(2s*²) - ½): it is not
    bounded, so the limit (which holds: E_q w = p(x)) does not come from that theorem."""
    x = 1.5
    best = per_datapoint.optimal_gaussian(model, torch.tensor([x]))
    q = Normal(best["m"][0], best["s"][0])
    z = torch.tensor([-6.0, -8.0, -10.0, -12.0], dtype=torch.float64)
    with torch.no_grad():
        log_w = model.log_joint(x, z) - q.log_prob(z)
    assert best["s"].item() < 1 and (log_w.diff() > 50).all() and log_w[1] > 170


def test_iwae_bound_checks_k(model):
    q = elbo._variational(0.0, 1.0)
    for bad in (0, -3, 2.5, True):
        with pytest.raises(ValueError, match="k"):
            elbo.iwae_bound(model, 0.0, q, bad)


def test_one_estimate_of_l_k_can_exceed_the_log_evidence_while_its_mean_cannot():
    """L_K ≤ log p_θ(x) holds for the expectation only: single estimates scatter around E[L_K]."""
    lin = joint.LinearGaussianLVM(mu_z=0.3, s_z=1.2, w=-0.8, b=0.5, sigma=0.4)
    x = torch.tensor(1.0)
    log_px = lin.marginal().log_prob(x).item()
    post = lin.posterior(x)
    q = Normal(post.mean.expand(4000), 1.5 * post.stddev.expand(4000))  # 4000 independent estimates
    with torch.no_grad():
        estimates = elbo.iwae_bound(lin, x, q, 10, generator=g(3))
    mean, se = mean_and_se(estimates)
    assert (estimates > log_px).any() and mean < log_px + 4 * se and mean > log_px - 0.05


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

"""vaelib.em: Fisher's identity against autograd on other grids (against the linear model's closed form:
further/04a), and the final numbers of variational EM and the amortized run against independent routes."""

import pytest
import torch
from torch.distributions import Normal

from vaelib import elbo, em, joint, per_datapoint

F64 = torch.float64


def test_fisher_identity_on_another_grid_matches_autograd_through_the_evidence(model, points):
    """∇_θ log p_θ(x) by autograd through the model's quadrature (2001 points on ±10) against
    E_{p_θ(z|x)}[∇_θ log p_θ(x, z)] on other grids: on one grid the two agree by algebra (the
    gradient of a logsumexp is the softmax-weighted gradient), on different grids only if the
    identity holds and both quadratures are exact."""
    params = {k: v for k, v in model.parameters().items() if v.requires_grad}
    direct = dict(zip(params, torch.autograd.grad(model.log_marginal(points).mean(), list(params.values())),
                      strict=True))
    for grid in (torch.linspace(-12, 12, 3001, dtype=F64), torch.linspace(-9, 11, 1601, dtype=F64)):
        by_identity = em.fisher_gradient(model, points, grid)
        assert list(by_identity) == ["W1", "b1", "W2", "b2"]
        for k in params:
            torch.testing.assert_close(by_identity[k], direct[k], rtol=0, atol=1e-10)


@pytest.fixture(scope="module")
def runs(points):
    """Variational EM and the 1-D VAE, each from a fresh NonlinearLVM(seed=3), as further/04b runs them
    (whose checks hold exact EM's bound at every iteration and the three methods' order)."""
    return {name: {**run(model, points, iterations=20), "model": model}
            for name, run, model in (("variational_em", em.variational_em, joint.NonlinearLVM(seed=3)),
                                     ("amortized", em.amortized, joint.NonlinearLVM(seed=3)))}


@pytest.mark.parametrize("name", ["variational_em", "amortized"])
def test_the_final_numbers_are_log_p_and_log_p_minus_a_monte_carlo_elbo(runs, points, name):
    """log p_θ(x) climbed; final_log_px is log p_θ(x) at the trained θ; final_gap = mean log p_θ(x) - mean
    ELBO(q), q = q* (variational EM) or q_φ (amortized), against log p_θ(x) on a wider, finer grid and
    the ELBO by Monte Carlo."""
    run, m = runs[name], runs[name]["model"]
    assert run["log_px"][-1] > run["log_px"][0] + 0.3
    if name == "variational_em":
        best = per_datapoint.optimal_gaussian(m, points)
        q = Normal(best["m"], best["s"])
    else:
        q = run["encoder"](points)
    with torch.no_grad():
        assert run["final_log_px"] == pytest.approx(m.log_marginal(points).mean().item(), abs=1e-12)
        finer = joint.NonlinearLVM(f=m.f, sigma=m.sigma, grid=torch.linspace(-12, 12, 4801, dtype=F64))
        z = elbo.reparameterised_sample(q, 20_000, torch.Generator().manual_seed(9))
        gap = (finer.log_marginal(points) - (m.log_joint(points, z) - q.log_prob(z))).mean(-1)  # per draw
    mean, se = gap.mean().item(), gap.std().item() / 20_000**0.5
    assert abs(run["final_gap"] - mean) < 4 * se and mean > 4 * se, (mean, se)

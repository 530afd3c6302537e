"""vaelib.em: Fisher's identity against independent routes, and EM -> variational EM -> amortized."""

import pytest
import torch
from torch import nn
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


class _Line(nn.Module):
    """f_θ(z) = w z + b with θ = (w, b): the network model's linear special case."""

    def __init__(self, w, b):
        super().__init__()
        self.w, self.b = nn.Parameter(torch.tensor(w, dtype=F64)), nn.Parameter(torch.tensor(b, dtype=F64))

    def forward(self, z):
        return self.w * z + self.b


def test_fisher_identity_matches_the_closed_form_marginal_of_the_linear_model(points):
    w, b, sigma = 1.3, -0.4, 0.6
    line = joint.NonlinearLVM(f=_Line(w, b), sigma=sigma)
    by_identity = em.fisher_gradient(line, points, line.grid)
    w_, b_ = (torch.tensor(v, dtype=F64, requires_grad=True) for v in (w, b))
    sigma_ = torch.tensor(sigma, dtype=F64)  # a float would be float32: 0.6 rounded at 1e-8
    closed = joint.LinearGaussianLVM(0.0, 1.0, w_, b_, sigma_).marginal()  # N(b, w² + σ²)
    exact = torch.autograd.grad(closed.log_prob(points).mean(), [w_, b_])
    torch.testing.assert_close(torch.stack([by_identity["w"], by_identity["b"]]), torch.stack(exact),
                               rtol=0, atol=1e-10)


@pytest.fixture(scope="module")
def runs(points):
    """The three methods, each from the same fresh model NonlinearLVM(seed=3), as notebook 04b runs them."""
    out = {}
    for name, run in (("exact_em", em.exact_em), ("variational_em", em.variational_em),
                      ("amortized", em.amortized)):
        model = joint.NonlinearLVM(seed=3)
        out[name] = {**run(model, points, iterations=20), "model": model}
    return out


def test_exact_em_climbs_the_evidence_at_every_iteration(runs):
    path = runs["exact_em"]["log_px"]
    assert len(path) == 21 and runs["exact_em"]["iterations"] == 20
    assert (path.diff() > -1e-10).all()  # EM never lowers log p_θ(x)
    # ... because of the EM bound: log p_θ(x) - log p_θold(x) ≥ Q(θ) - Q(θ_old) > 0, each M-step
    # (Q on the stride-2 grid, log p on the full one: the quadratures agree to ~1e-9)
    gain = runs["exact_em"]["objective_gain"]
    assert (gain > 1e-9).all() and (path.diff() >= gain - 1e-8).all()  # Q rises by more than rounding
    assert path[-1] > path[0] + 0.3 and runs["exact_em"]["final_gap"] == 0.0


def test_variational_em_and_the_vae_end_below_exact_em_with_their_gaps(runs, points):
    exact = runs["exact_em"]["final_log_px"]
    for name in ("variational_em", "amortized"):
        r = runs[name]
        assert r["log_px"][-1] > r["log_px"][0] + 0.3  # both climb the evidence too
        assert r["final_log_px"] < exact  # ... but they maximise a bound below it
        with torch.no_grad():
            final = r["model"].log_marginal(points).mean().item()
        assert r["final_log_px"] == pytest.approx(final, abs=1e-12)
    am = runs["amortized"]
    assert am["final_gap"] == pytest.approx(am["approximation_gap"] + am["amortization_gap"], abs=1e-9)


def test_the_final_gaps_are_log_p_minus_a_monte_carlo_elbo(runs, points):
    """final_gap = mean log p_θ(x) - mean ELBO(q) at the final θ, q = q* (variational EM) or q_φ
    (amortized): against log p_θ(x) on a wider, finer grid and the ELBO by Monte Carlo."""
    fine = torch.linspace(-12, 12, 4801, dtype=F64)
    for name in ("variational_em", "amortized"):
        m = runs[name]["model"]
        if name == "variational_em":
            best = per_datapoint.optimal_gaussian(m, points)
            q = Normal(best["m"], best["s"])
        else:
            q = runs[name]["encoder"](points)
        with torch.no_grad():
            log_px = joint.NonlinearLVM(f=m.f, sigma=m.sigma, grid=fine).log_marginal(points)
            z = elbo.reparameterised_sample(q, 20_000, torch.Generator().manual_seed(9))
            gap = (log_px - (m.log_joint(points, z) - q.log_prob(z))).mean(-1)  # mean over points, per draw
        mean, se = gap.mean().item(), gap.std().item() / 20_000**0.5
        assert abs(runs[name]["final_gap"] - mean) < 4 * se and mean > 4 * se, (name, mean, se)


def test_the_three_runs_start_from_the_same_model(runs):
    starts = {name: r["log_px"][0].item() for name, r in runs.items() if isinstance(r, dict)}
    assert len(set(starts.values())) == 1

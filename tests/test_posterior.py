"""vaelib.posterior: the one grid quadrature, and GridDensity, against samples and closed forms."""

import math

import pytest
import torch
from helpers import g
from torch.distributions import Normal

from vaelib import elbo, joint, posterior
from vaelib.posterior import GridDensity


def test_grid_posterior_samples_match_its_moments_and_a_batch_matches_single_x():
    nl = joint.NonlinearLVM()
    for x in [-2.0, 0.0, 1.0, 2.5]:
        p = nl.posterior(torch.tensor(x))
        assert p.density.shape == nl.grid.shape
        s = p.sample(100_000, torch.Generator().manual_seed(4))
        assert abs(s.mean() - p.mean) < 5 * p.std / math.sqrt(len(s))
        assert abs(s.std() / p.std - 1) < 0.02
    batch = nl.posterior(torch.tensor([0.0, 1.0, 2.0]))
    torch.testing.assert_close(batch.mean[1], nl.posterior(torch.tensor(1.0)).mean)
    assert batch.sample(7).shape == (7, 3)


def test_marginal_by_quadrature_integrates_to_one_over_x():
    """Σ_g p(z_g) dz does not depend on f, so this checks the normalisation (log dz, the grid's
    prior mass), not the network; the next test checks f's quadrature by another route (against a
    finer, wider grid: further/02a's check)."""
    nl = joint.NonlinearLVM()
    x = torch.linspace(-15, 15, 3001, dtype=torch.float64)
    with torch.no_grad():
        total = torch.trapezoid(nl.log_marginal(x).exp(), x)
    assert abs(total.item() - 1) < 1e-8


def test_the_network_quadrature_agrees_with_monte_carlo_from_the_prior():
    """p_θ(x) = E_{p_θ(z)}[p_θ(x|z)] and E[z | x] = E_{p_θ(z)}[z p_θ(x|z)] / p_θ(x), estimated
    from 400 000 prior draws: the grid's numbers lie within 5 standard errors."""
    nl = joint.NonlinearLVM()
    x = torch.tensor([-1.0, 0.5, 1.2, 2.5], dtype=torch.float64)
    with torch.no_grad():
        z = torch.randn(400_000, generator=g(11), dtype=torch.float64)
        lik = nl.likelihood(z).log_prob(x.unsqueeze(-1)).exp()  # (4, draws)
        p_x, se_p = lik.mean(-1), lik.std(-1) / math.sqrt(len(z))
        assert ((nl.log_marginal(x).exp() - p_x).abs() < 5 * se_p).all()
        mean = (z * lik).mean(-1) / p_x  # E[z | x] by self-normalised weights
        se = ((z - mean.unsqueeze(-1)) * lik / p_x.unsqueeze(-1)).std(-1) / math.sqrt(len(z))  # delta method
        assert ((nl.posterior(x).mean - mean).abs() < 5 * se).all()


def test_grid_posterior_interpolation_agrees_on_the_grid():
    nl = joint.NonlinearLVM()
    x = torch.tensor(1.0, dtype=torch.float64)
    p = nl.posterior(x)
    z = torch.tensor([-1.234, 0.0, 0.777, 2.5], dtype=torch.float64)
    interpolated = GridDensity(p.grid, p.log_density)
    torch.testing.assert_close(interpolated.log_prob(p.grid[::97]), p.log_density[::97])
    torch.testing.assert_close(interpolated.log_prob(z), p.log_prob(z), rtol=1e-3, atol=1e-3)
    assert interpolated.log_prob(torch.tensor(50.0)) == -math.inf


def test_quantiles_of_a_gaussian_on_a_grid_are_its_inverse_cdf():
    grid = torch.linspace(-12, 12, 4801, dtype=torch.float64)  # dz = 0.005
    gauss = Normal(torch.tensor(0.7, dtype=torch.float64), torch.tensor(1.3, dtype=torch.float64))
    density = GridDensity(grid, gauss.log_prob(grid))
    levels = torch.tensor([0.05, 0.25, 0.5, 0.9], dtype=torch.float64)
    found = density.quantile(levels)
    assert ((found - gauss.icdf(levels)).abs() <= 0.005 + 1e-9).all()  # within one grid step
    torch.testing.assert_close(density.mean, gauss.mean, rtol=0, atol=1e-9)


def test_the_trimmed_coarse_grid_gives_the_fine_grid_elbo():
    """quadrature_grid keeps every 4th point where log p(x, z) is within 25 nats of its peak:
    the ELBO it gives differs from the full grid's by < 1e-8 nats."""
    nl = joint.NonlinearLVM()
    x = torch.tensor([-0.5, 1.2, 2.5], dtype=torch.float64)
    grid, log_joint = posterior.quadrature_grid(nl, x)
    assert len(grid) < len(nl.grid) / 4
    m = torch.tensor([0.3, 1.0, -0.2], dtype=torch.float64)
    s = torch.tensor([0.4, 0.6, 0.9], dtype=torch.float64)
    coarse = elbo.elbo_from_log_joint(log_joint, grid, m, s)
    assert (coarse - elbo.elbo_grid(nl, x, m, s)).abs().max() < 1e-8


def test_a_model_without_an_even_grid_is_refused():
    class Uneven:
        grid = torch.tensor([0.0, 0.1, 0.5, 0.6], dtype=torch.float64)

        def log_joint(self, x, z):
            return -(x - z) ** 2

    with pytest.raises(ValueError, match="^model.grid: expected equally spaced"):
        posterior.log_marginal(Uneven(), 0.0)
    with pytest.raises(ValueError, match="^model: expected a model with log_joint"):
        posterior.log_marginal(object(), 0.0)

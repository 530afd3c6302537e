"""vaelib.gaussian (lesson 01's data), and what lesson 01's dashboard computes from it, by hand."""

import math

import torch

from vaelib import gaussian
from vaelib.dashboards import l01_gaussian


def test_sample_data_is_reproducible_and_seed_dependent():
    assert torch.equal(gaussian.sample_data(10, seed=5), gaussian.sample_data(10, seed=5))
    assert not torch.equal(gaussian.sample_data(10, seed=5), gaussian.sample_data(10, seed=6))
    x = gaussian.sample_data(20_000, mu=-0.5, sigma=2.0, seed=1)
    assert abs(x.mean().item() + 0.5) < 4 * 2.0 / math.sqrt(len(x))


def test_the_dashboards_readout_surface_and_star_are_the_hand_formulas():
    x = gaussian.sample_data(50, seed=3).double()
    n = len(x)
    by_hand = -n / 2 * math.log(2 * math.pi) - n * math.log(0.7) - ((x - 1.2) ** 2).sum() / (2 * 0.49)
    dash = l01_gaussian.dashboard(x)
    dash.update(mu=1.2, sigma=0.7)
    assert dash.readout.value == f"log p_θ(x₁..x_N) = {by_hand.item():.2f}"
    mu, sigma = torch.tensor([[0.0, 1.0]]), torch.tensor([[1.0, 0.5]])
    grid = l01_gaussian._log_likelihood(x, mu, sigma)
    torch.testing.assert_close(grid[0, 1], -n / 2 * math.log(2 * math.pi) - n * math.log(0.5)
                               - ((x - 1.0) ** 2).sum() / (2 * 0.25), check_dtype=False)
    mu_hat, sigma_hat = l01_gaussian._mle(x)
    assert abs(mu_hat - x.sum() / n) < 1e-12
    assert abs(sigma_hat**2 - ((x - x.sum() / n) ** 2).sum() / n) < 1e-12

"""vaelib.gaussian against hand formulas, torch.distributions and autograd."""

import math

import torch
from torch.distributions import Normal

from vaelib import gaussian as G


def test_gaussian_is_a_torch_normal_with_the_hand_written_density():
    p = G.gaussian(1.0, 2.0)
    assert isinstance(p, Normal)
    x = torch.tensor([-1.0, 0.5, 3.0])
    by_hand = -0.5 * math.log(2 * math.pi) - math.log(2.0) - (x - 1.0) ** 2 / (2 * 4.0)
    torch.testing.assert_close(p.log_prob(x), by_hand)


def test_log_likelihood_is_the_sum_of_log_densities():
    x = G.sample_data(50, seed=3)
    n = len(x)
    by_hand = -n / 2 * math.log(2 * math.pi) - n * math.log(0.7) - ((x - 1.2) ** 2).sum() / (2 * 0.49)
    torch.testing.assert_close(G.log_likelihood(x, 1.2, 0.7), by_hand)


def test_log_likelihood_over_a_grid_of_theta_matches_pointwise_values():
    x = G.sample_data(30)
    mu, sigma = torch.tensor([[0.0, 1.0], [2.0, 3.0]]), torch.tensor([[1.0, 0.5], [2.0, 0.3]])
    grid = G.log_likelihood(x, mu, sigma)
    assert grid.shape == (2, 2)
    for i in range(2):
        for j in range(2):
            torch.testing.assert_close(grid[i, j], G.log_likelihood(x, mu[i, j], sigma[i, j]))


def test_mle_is_the_mean_and_the_root_of_the_1_over_n_variance():
    x = G.sample_data(200, mu=-0.5, sigma=2.0, seed=1)
    mu, sigma = G.mle(x)
    torch.testing.assert_close(mu, x.mean())
    torch.testing.assert_close(sigma, x.std(correction=0))


def test_the_mle_variance_is_biased_by_n_minus_1_over_n():
    # E σ̂² = (N - 1)/N σ², against the library's σ̂² on 5000 simulated data sets of N = 5 from N(0.3, 1.5²)
    g = torch.Generator().manual_seed(4)
    sigma2 = torch.stack([G.mle(0.3 + 1.5 * torch.randn(5, generator=g, dtype=torch.float64))[1] ** 2
                          for _ in range(5000)])
    mean, se = sigma2.mean().item(), sigma2.std().item() / math.sqrt(len(sigma2))
    assert abs(mean - 4 / 5 * 1.5**2) < 4 * se and abs(mean - 1.5**2) > 10 * se


def test_mle_is_a_stationary_point_and_a_maximum():
    x = G.sample_data(100, seed=2).double()
    mu, sigma = (t.clone().requires_grad_() for t in G.mle(x))
    G.log_likelihood(x, mu, sigma).backward()
    assert abs(mu.grad.item()) < 1e-9 and abs(sigma.grad.item()) < 1e-9
    best = G.log_likelihood(x, mu.detach(), sigma.detach())
    for dmu, dsigma in [(0.01, 0), (-0.01, 0), (0, 0.01), (0, -0.01)]:
        assert G.log_likelihood(x, mu.detach() + dmu, sigma.detach() + dsigma) < best


def test_gradient_ascent_agrees_with_the_closed_form():
    x = G.sample_data(200)
    fit = G.mle_by_gradient_ascent(x, steps=400, lr=0.05)
    mu, sigma = G.mle(x)
    assert abs(fit["mu"] - mu) < 1e-3 and abs(fit["sigma"] - sigma) < 1e-3
    path = fit["log_likelihood_path"]
    assert path[-1] > path[0] and len(path) == 400


def test_sample_data_is_reproducible_and_seed_dependent():
    assert torch.equal(G.sample_data(10, seed=5), G.sample_data(10, seed=5))
    assert not torch.equal(G.sample_data(10, seed=5), G.sample_data(10, seed=6))

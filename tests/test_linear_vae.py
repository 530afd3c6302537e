"""vaelib.linear_vae against pPCA's exact posterior and marginal (vaelib.ppca, itself checked against
Tipping & Bishop's solution in test_ppca.py) and torch's Gaussian KL. (Its training reaching pPCA's
likelihood, and its encoder's variances the posterior's, are further/04c's checks.)"""

import pytest
import torch
from helpers import g, mean_and_se
from torch.distributions import MultivariateNormal, kl_divergence

from vaelib import data, elbo, linear_vae
from vaelib.ppca import PPCA


@pytest.fixture(scope="module")
def digits():
    return linear_vae.standardise(data.digits("train", view="grey"))


def test_standardise_gives_zero_mean_and_unit_or_zero_variance(digits):
    torch.testing.assert_close(digits.mean(0), torch.zeros(64, dtype=torch.float64))
    var = digits.var(0, correction=0)
    constant = var < 1e-24  # the pixels that are 0 in every image: only centred
    assert ((var - 1).abs() < 1e-9).logical_or(constant).all() and constant.any()


def test_standardise_only_centres_a_column_constant_up_to_rounding():
    n = 1797
    rounded = torch.where(torch.arange(n) % 2 == 0, torch.tensor(0.1, dtype=torch.float64) * 3, 0.3)
    X = torch.stack([rounded, torch.arange(n, dtype=torch.float64)], 1)
    assert 0 < X[:, 0].std(correction=0) < 1e-15  # 0.1 · 3 and 0.3 differ in the last bit
    Z = linear_vae.standardise(X)
    assert Z[:, 0].abs().max() < 1e-12 and Z[:, 1].var(correction=0).item() == pytest.approx(1)


def test_linear_vae_elbo_is_exact_when_the_encoder_is_the_posterior(digits):
    """Set θ to pPCA's ML solution and φ to its exact posterior: ELBO = log p(x) row by row."""
    ppca = PPCA.fit(digits, 2)
    vae = linear_vae.LinearVAE(64, 2)
    M = ppca.W.T @ ppca.W + ppca.sigma2 * torch.eye(2, dtype=torch.float64)  # diagonal here
    with torch.no_grad():
        vae.W.copy_(ppca.W)
        vae.mu.copy_(ppca.mu)
        vae.log_sigma2.copy_(ppca.sigma2.log())
        vae.V.copy_(torch.linalg.solve(M, ppca.W.T))
        vae.c.zero_()
        vae.log_v.copy_((ppca.sigma2 / M.diagonal()).log())
        torch.testing.assert_close(vae.elbo_analytic(digits), ppca.log_marginal(digits))
        torch.testing.assert_close(vae.mean_elbo_analytic(digits), vae.elbo_analytic(digits).mean())
        post = vae.posterior(digits[:5])
        torch.testing.assert_close(post.mean, ppca.posterior(digits[:5]).mean)


def test_linear_vae_sampled_elbo_is_unbiased_for_the_analytic_one(digits):
    vae = linear_vae.LinearVAE(64, 2, seed=1)
    with torch.no_grad():
        rows = digits[:3].repeat(5000, 1)
        draws = elbo.elbo(vae, rows, vae.encoder(rows), 1, generator=g()).reshape(5000, 3)
        exact = vae.elbo_analytic(digits[:3])
    for j in range(3):
        mean, se = mean_and_se(draws[:, j])
        assert abs(mean - exact[j].item()) < 4 * se


# ---------------------------------------------------- φ*(θ), the KL to the posterior, assign

def random_vae(d, q, seed):
    vae = linear_vae.LinearVAE(d, q, seed=seed)
    with torch.no_grad():
        for p in vae.parameters():
            p.copy_(torch.randn(p.shape, generator=g(seed + 100), dtype=torch.float64))
    return vae


@pytest.mark.parametrize("d, q, seed", [(3, 2, 0), (3, 2, 1), (5, 1, 2)])
def test_the_gap_between_the_evidence_and_the_elbo_is_the_kl_to_the_posterior(d, q, seed):
    """Random θ and φ: log p_θ(x) - ELBO = KL(q ‖ p_θ(z|x)) > 0, the KL by torch's Gaussian KL."""
    vae = random_vae(d, q, seed)
    X = 2 * torch.randn(6, d, generator=g(seed), dtype=torch.float64)
    with torch.no_grad():
        gap = vae.marginal().log_prob(X) - vae.elbo_analytic(X)
        enc = vae.encoder(X)
        kl = kl_divergence(MultivariateNormal(enc.mean, torch.diag_embed(enc.variance)), vae.posterior(X))
    assert (kl > 0).all()
    torch.testing.assert_close(gap, kl, rtol=1e-7, atol=1e-8)
    torch.testing.assert_close(vae.kl_to_posterior(X), kl, rtol=1e-7, atol=1e-8)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_the_best_encoder_of_a_one_dimensional_latent_is_the_posterior(seed):
    vae = random_vae(2, 1, seed)
    vae.assign(**vae.best_encoder())
    X = torch.randn(5, 2, generator=g(seed), dtype=torch.float64)
    with torch.no_grad():
        post, q = vae.posterior(X), vae.encoder(X)
        assert vae.kl_to_posterior(X).abs().max() < 1e-12
        torch.testing.assert_close(q.mean, post.mean)
        torch.testing.assert_close(q.variance, post.covariance_matrix.diagonal(dim1=-2, dim2=-1))
        torch.testing.assert_close(vae.elbo_analytic(X), vae.marginal().log_prob(X))


def test_the_best_diagonal_encoder_beats_every_nearby_diagonal_one():
    """With q = 2 and a W whose columns are not orthogonal the posterior covariance is not
    diagonal: φ*(θ) leaves KL > 0, and moving any of its numbers makes the KL larger."""
    vae = random_vae(4, 2, 3)
    X = torch.randn(20, 4, generator=g(4), dtype=torch.float64)
    best = vae.best_encoder()
    vae.assign(**best)
    with torch.no_grad():
        cov = vae.posterior(X[:1]).covariance_matrix[0]
        assert cov[0, 1].abs() > 1e-3
        torch.testing.assert_close(best["log_v"].exp(), 1 / torch.linalg.inv(cov).diagonal())
        kl_best = vae.kl_to_posterior(X).mean()
    assert kl_best > 1e-4
    for name in ("V", "c", "log_v"):
        for k in range(best[name].numel()):
            for step in (-1e-3, 1e-3):
                moved = best[name].clone().flatten()
                moved[k] += step
                vae.assign(**{name: moved.reshape(best[name].shape)})
                with torch.no_grad():
                    assert vae.kl_to_posterior(X).mean() > kl_best
                vae.assign(**best)


def test_assign_copies_values_into_the_named_parameters():
    vae = linear_vae.LinearVAE(1, 1).assign(W=2.0, mu=-1.0, log_sigma2=0.5, V=0.25, c=0.1, log_v=-2.0)
    assert vae.W.item() == 2.0 and vae.mu.item() == -1.0 and vae.log_v.item() == -2.0
    assert vae.W.requires_grad and vae.W.grad is None

"""vaelib.ppca against torch's Gaussian log-density, scikit-learn, Tipping & Bishop's eigen-solution and
Gaussian conditioning. (W R for an orthogonal R keeps log p_θ(x): further/04c.)"""

import math

import pytest
import torch
from torch.distributions import MultivariateNormal

from vaelib import data
from vaelib.ppca import PPCA


@pytest.fixture(scope="module")
def digits():
    return data.digits(view="grey").double()


def test_ppca_log_marginal_matches_a_direct_gaussian_log_density(digits):
    m = PPCA.fit(digits, 5)
    assert m.W.shape == (64, 5) and m.mu.shape == (64,) and m.sigma2.dim() == 0
    C = m.W @ m.W.T + m.sigma2 * torch.eye(64, dtype=torch.float64)
    X = digits[:50]
    torch.testing.assert_close(m.log_marginal(X), MultivariateNormal(m.mu, covariance_matrix=C).log_prob(X))


@pytest.mark.parametrize("q", [1, 5, 20])
def test_ppca_agrees_with_scikit_learn_pca_score_samples(digits, q):
    from sklearn.decomposition import PCA

    X = digits.numpy()
    sk = PCA(n_components=q, svd_solver="full").fit(X)
    m = PPCA.fit(digits, q)
    n = len(X)
    # scikit-learn estimates variances with 1/(N-1), the ML fit with 1/N: C differs by N/(N-1).
    torch.testing.assert_close(m.covariance * n / (n - 1), torch.as_tensor(sk.get_covariance()))
    same = PPCA(m.W * math.sqrt(n / (n - 1)), m.mu, m.sigma2 * n / (n - 1))
    torch.testing.assert_close(same.log_marginal(digits), torch.as_tensor(sk.score_samples(X)))


def test_ppca_fit_is_the_eigen_solution_and_a_maximum(digits):
    q = 4
    m = PPCA.fit(digits, q)
    S = torch.cov(digits.T, correction=0)
    lam, U = torch.linalg.eigh(S)
    lam, U = lam.flip(0), U.flip(1)
    torch.testing.assert_close(m.sigma2, lam[q:].mean())
    torch.testing.assert_close(m.W @ m.W.T, U[:, :q] @ torch.diag(lam[:q] - m.sigma2) @ U[:, :q].T)
    best = m.log_marginal(digits).sum()
    g = torch.Generator().manual_seed(5)
    for _ in range(3):
        dW = 0.05 * torch.randn(m.W.shape, generator=g, dtype=torch.float64)
        assert PPCA(m.W + dW, m.mu, m.sigma2).log_marginal(digits).sum() < best
    for s in (0.95, 1.05):
        assert PPCA(m.W, m.mu, m.sigma2 * s).log_marginal(digits).sum() < best
    assert PPCA(m.W, m.mu + 0.1, m.sigma2).log_marginal(digits).sum() < best


def test_ppca_posterior_equals_gaussian_conditioning_of_the_joint():
    g = torch.Generator().manual_seed(6)
    X = torch.randn(200, 6, generator=g, dtype=torch.float64) @ torch.randn(
        6, 6, generator=g, dtype=torch.float64)
    m = PPCA.fit(X, 2)
    # (z, x) is jointly Gaussian: cov(z) = I, cov(x, z) = W, cov(x) = C. Condition on x.
    C = m.covariance
    mean = (X[:5] - m.mu) @ torch.linalg.solve(C, m.W)  # Wᵀ C⁻¹ (x - μ)
    cov = torch.eye(2, dtype=torch.float64) - m.W.T @ torch.linalg.solve(C, m.W)
    post = m.posterior(X[:5])
    assert isinstance(post, MultivariateNormal) and post.batch_shape == (5,)
    torch.testing.assert_close(post.mean, mean)
    torch.testing.assert_close(post.covariance_matrix, cov.expand(5, 2, 2))


def test_ppca_bayes_rule_holds_at_arbitrary_points():
    g = torch.Generator().manual_seed(7)
    X = torch.randn(100, 4, generator=g, dtype=torch.float64) * torch.tensor([3.0, 2, 1, 0.5])
    m = PPCA.fit(X, 2)
    x, z = X[:3], torch.randn(3, 2, generator=g, dtype=torch.float64)
    lhs = m.posterior(x).log_prob(z)
    rhs = m.prior().log_prob(z) + m.likelihood(z).log_prob(x) - m.log_marginal(x)
    torch.testing.assert_close(lhs, rhs)


# ------------------------------------------------- the rank check: a tolerance, not exact zero

def rank_q_plus_noise(noise_sd: float, n=1000, d=6, q=2, seed=11) -> torch.Tensor:
    """x = W z + μ + noise_sd · ε, turned by a random rotation so that no coordinate is exactly 0."""
    g = torch.Generator().manual_seed(seed)
    f64 = dict(generator=g, dtype=torch.float64)
    Z, W = torch.randn(n, q, **f64), 2 * torch.randn(d, q, **f64)
    rotation = torch.linalg.qr(torch.randn(d, d, **f64))[0]
    return (Z @ W.T) @ rotation + 5 * torch.randn(d, **f64) + noise_sd * torch.randn(n, d, **f64)


def test_data_of_rank_q_is_refused_although_its_rounding_makes_sigma2_positive():
    X = rank_q_plus_noise(0.0)
    rounding = torch.linalg.svdvals(X - X.mean(0))[2:]
    assert (rounding > 0).all() and (rounding < 1e-10).all()  # what an exact check `σ² > 0` accepts
    with pytest.raises(ValueError, match="X: .*rank"):
        PPCA.fit(X, 2)
    PPCA.fit(X, 1)  # rank 2 > q = 1: fits


@pytest.mark.parametrize("X", [
    torch.tensor([[1, 2], [3, 1], [0, 4], [2, 2], [5, 1]], dtype=torch.float32)
    @ torch.tensor([[1, 0, 2, 1], [0, 1, 1, 3]], dtype=torch.float32),   # small integers, rank 2
    torch.randn(50, 2, generator=torch.Generator().manual_seed(3)).repeat(1, 2),  # duplicated columns
], ids=["small integers", "duplicated columns"])
def test_float32_data_whose_rank_is_exact_as_stored_is_refused(X):
    assert X.dtype == torch.float32
    with pytest.raises(ValueError, match="X: .*rank"):
        PPCA.fit(X, 2)


# 1e-3: plain small noise. 1e-11: ~15x the noise the tolerance allows here (max(N, d) · eps · s_1 on
# the singular values, ~7e-13 for this data): a tolerance 100 times too loose refuses it.
@pytest.mark.parametrize("noise_sd", [1e-3, 1e-11])
def test_rank_q_data_with_genuine_noise_fits_and_sigma2_is_the_noise_variance(noise_sd):
    m = PPCA.fit(rank_q_plus_noise(noise_sd), 2)
    assert m.sigma2.item() == pytest.approx(noise_sd**2, rel=0.1)

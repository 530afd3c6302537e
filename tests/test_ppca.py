"""vaelib.ppca against a direct Gaussian log-density, scikit-learn, and Gaussian conditioning."""

import math

import pytest
import torch
from torch.distributions import MultivariateNormal

from vaelib import data
from vaelib.ppca import PPCA

# ---------------------------------------------------------------------------- PPCA

@pytest.fixture(scope="module")
def digits():
    return data.digits(view="grey").double()


def test_ppca_log_marginal_matches_a_direct_gaussian_log_density(digits):
    m = PPCA.fit(digits, 5)
    assert m.W.shape == (64, 5) and m.mu.shape == (64,) and m.sigma2.dim() == 0
    C = m.W @ m.W.T + m.sigma2 * torch.eye(64, dtype=torch.float64)
    X = digits[:50]
    direct = MultivariateNormal(m.mu, covariance_matrix=C).log_prob(X)
    torch.testing.assert_close(m.log_marginal(X), direct)
    diff = X - m.mu
    by_hand = -0.5 * (64 * math.log(2 * math.pi) + torch.logdet(C)
                      + (diff * torch.linalg.solve(C, diff.T).T).sum(-1))
    torch.testing.assert_close(m.log_marginal(X), by_hand)


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



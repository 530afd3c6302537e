"""Lesson 04 (further 04c): probabilistic PCA (Tipping & Bishop 1999), the linear-Gaussian model in d dims.

    x = W z + μ + ε,  z ~ N(0, I_q),  ε ~ N(0, σ² I_d),  θ = (W, μ, σ²), float64
    marginal   p_θ(x)   = N(x; μ, C),  C = W Wᵀ + σ² I_d
    posterior  p_θ(z|x) = N(z; M⁻¹ Wᵀ (x - μ), σ² M⁻¹),  M = Wᵀ W + σ² I_q
PPCA.fit(X, q) gives the maximum-likelihood θ in closed form; vaelib.linear_vae's decoder is this model.
"""

import torch
from torch.distributions import MultivariateNormal

from vaelib import validate

_F64 = torch.float64


class PPCA:
    """p_θ(x, z) of pPCA; W (d, q), μ (d,) and σ² may be tensors that require grad."""

    def __init__(self, W, mu, sigma2):
        self.W = validate.tensor("W", W, ndim=2, dtype=_F64)
        self.mu = validate.tensor("mu", mu, ndim=1, dtype=_F64)
        if self.W.shape[0] != self.mu.shape[0]:
            raise ValueError(f"W and mu: expected W of shape (d, q) with d = len(mu) = "
                             f"{self.mu.shape[0]}, got W of shape {tuple(self.W.shape)}")
        self.sigma2 = validate.tensor("sigma2", sigma2, ndim=0, positive=True, dtype=_F64).to(_F64)
        self.d, self.q = self.W.shape

    @classmethod
    def fit(cls, X, q: int) -> "PPCA":
        """Maximum likelihood: μ = mean(X); with S = (1/N) Σ (x_n-μ)(x_n-μ)ᵀ, eigenvalues
        λ_1 >= ... >= λ_d and eigenvectors U: σ² = mean(λ_{q+1..d}), W = U_q (Λ_q - σ² I)^{1/2}."""
        X = validate.tensor("X", X, ndim=2, min_len=2, dtype=_F64)
        n, d = X.shape
        if isinstance(q, bool) or not isinstance(q, int) or not 1 <= q < d:
            raise ValueError(f"q: expected a whole number of latent dimensions with "
                             f"1 <= q < d = {d}, got {q!r}")
        mu = X.mean(0)
        # S's eigen-pairs from the SVD of the centred data, X - μ = A diag(s) Vᵀ: λ = s²/N, U = V.
        _, s, Vh = torch.linalg.svd(X - mu, full_matrices=False)  # descending
        # Rank <= q when s_{q+1} <= max(N, d) · eps · s_1: torch.linalg.matrix_rank's default tolerance.
        if q >= len(s) or s[q] <= max(n, d) * torch.finfo(_F64).eps * s[0]:
            raise ValueError(f"X: expected data whose covariance has rank > q = {q}; its rank is "
                             f"<= q (to rounding), so σ² = 0: use a smaller q")
        lam = torch.cat([s**2 / n, s.new_zeros(d - len(s))])  # N < d: the missing λ are 0
        sigma2 = lam[q:].mean()
        return cls(Vh[:q].T * (lam[:q] - sigma2).clamp(min=0).sqrt(), mu, sigma2)

    @property
    def covariance(self) -> torch.Tensor:
        """C = W Wᵀ + σ² I_d."""
        return self.W @ self.W.T + self.sigma2 * torch.eye(self.d, dtype=_F64)

    def prior(self) -> MultivariateNormal:
        """p(z) = N(0, I_q)."""
        return MultivariateNormal(torch.zeros(self.q, dtype=_F64), torch.eye(self.q, dtype=_F64))

    def likelihood(self, z) -> MultivariateNormal:
        """p_θ(x|z) = N(x; W z + μ, σ² I_d), one per row of z (..., q)."""
        z = validate.tensor("z", z, dtype=_F64)
        if z.dim() == 0 or z.shape[-1] != self.q:
            raise ValueError(f"z: expected shape (..., {self.q}), got {tuple(z.shape)}")
        return MultivariateNormal(z @ self.W.T + self.mu, self.sigma2 * torch.eye(self.d, dtype=_F64))

    def marginal(self) -> MultivariateNormal:
        """p_θ(x) = N(x; μ, W Wᵀ + σ² I)."""
        return MultivariateNormal(self.mu, self.covariance)

    def log_marginal(self, X) -> torch.Tensor:
        """log p_θ(x_n), one value per row of X."""
        return self.marginal().log_prob(validate.rows("X", X, self.d, _F64))

    def posterior(self, X) -> MultivariateNormal:
        """p_θ(z|x_n) = N(M⁻¹ Wᵀ (x_n - μ), σ² M⁻¹), M = Wᵀ W + σ² I_q: a batch of one per row."""
        X = validate.rows("X", X, self.d, _F64)
        M = self.W.T @ self.W + self.sigma2 * torch.eye(self.q, dtype=_F64)
        mean = torch.linalg.solve(M, self.W.T @ (X - self.mu).T).T
        cov = self.sigma2 * torch.linalg.inv(M)
        return MultivariateNormal(mean, ((cov + cov.T) / 2).expand(X.shape[0], self.q, self.q))

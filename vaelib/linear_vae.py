"""Lesson 04 (further 04c): the linear VAE, whose decoder is probabilistic PCA (Tipping & Bishop 1999).

    prior      p_θ(z)   = N(0, I_q)
    decoder    p_θ(x|z) = N(x; W z + μ, σ² I_d),        θ = (W, μ, σ)
    encoder    q_φ(z|x) = N(z; V x + c, diag(v)),       φ = (V, c, v), no part of θ (not even μ)
p_θ(x) and p_θ(z|x) are pPCA's (vaelib.ppca), so ELBO ≤ log p_θ(x) ≤ pPCA's maximum, with gap 0 at the
optimum (Lucas et al. 2019); the diagonal q picks which rotation W R (04c). With d = q = 1 this is
lesson 04's θ-and-φ dashboard: θ = (w, b, σ), φ = (a, c, s).
"""

import math

import torch
from torch import nn
from torch.distributions import Independent, MultivariateNormal, Normal, kl_divergence

from vaelib import elbo, optim, validate
from vaelib.ppca import PPCA

_F64 = torch.float64


def standardise(X) -> torch.Tensor:
    """(X - mean) / std per column (float64); a constant column (std <= N · eps · max|x|, a mean's
    rounding) is only centred."""
    X = validate.tensor("X", X, ndim=2, min_len=2, dtype=_F64)
    std = X.std(0, correction=0)
    constant = std <= X.shape[0] * torch.finfo(_F64).eps * X.abs().amax(0)
    return (X - X.mean(0)) / torch.where(constant, torch.ones_like(std), std)


class LinearVAE(nn.Module):
    """θ = (W, μ, log σ²), φ = (V, c, log v), in float64, seeded."""

    def __init__(self, d: int, q: int, seed: int = 0):
        super().__init__()
        d, q = validate.positive_int("d", d), validate.positive_int("q", q)
        g = torch.Generator().manual_seed(validate.positive_int("seed", seed, minimum=0))
        small = lambda *shape: nn.Parameter(0.1 * torch.randn(*shape, generator=g, dtype=_F64))  # noqa: E731
        self.W, self.mu, self.log_sigma2 = small(d, q), small(d), nn.Parameter(torch.zeros((), dtype=_F64))
        self.V, self.c, self.log_v = small(q, d), small(q), nn.Parameter(torch.zeros(q, dtype=_F64))

    def ppca(self) -> PPCA:
        """The decoder's model as pPCA: θ = (W, μ, σ²), gradients flowing."""
        return PPCA(self.W, self.mu, self.log_sigma2.exp())

    def prior(self) -> Independent:
        return Independent(Normal(torch.zeros(self.W.shape[1], dtype=_F64), 1.0), 1)

    def likelihood(self, z) -> Independent:
        """p_θ(x|z) = N(W z + μ, σ² I) (z of shape (..., q))."""
        return Independent(Normal(z @ self.W.T + self.mu, (0.5 * self.log_sigma2).exp()), 1)

    def log_joint(self, x, z) -> torch.Tensor:
        return self.prior().log_prob(z) + self.likelihood(z).log_prob(x)

    def encoder(self, x) -> Independent:
        """q_φ(z|x) = N(V x + c, diag(v)), one per row of x: φ alone, no part of θ."""
        mean = validate.rows("x", x, self.W.shape[0], _F64) @ self.V.T + self.c
        return Independent(Normal(mean, (0.5 * self.log_v).exp().expand_as(mean)), 1)

    def best_encoder(self) -> dict:
        """φ*(θ) = argmin KL(q ‖ p_θ(z|x)) in this family, for every x: V* = M⁻¹Wᵀ, c* = -V* μ (the
        posterior mean is linear in x), v*_j = σ²/M_jj (KL = 0 when M is diagonal, always for q = 1).
        Returns {"V", "c", "log_v"}, detached; `assign(**vae.best_encoder())` sets φ to φ*(θ)."""
        with torch.no_grad():
            s2 = self.log_sigma2.exp()
            M = self.W.T @ self.W + s2 * torch.eye(self.W.shape[1], dtype=_F64)
            V = torch.linalg.solve(M, self.W.T)
            return {"V": V, "c": -V @ self.mu, "log_v": (s2 / M.diagonal()).log()}

    def assign(self, **values) -> "LinearVAE":
        """Copy values into the named parameters (W, mu, log_sigma2, V, c, log_v), no gradient."""
        own = dict(self.named_parameters())
        with torch.no_grad():
            for name, value in values.items():
                if name not in own:
                    raise ValueError(f"{name}: expected one of the parameters {list(own)}")
                own[name].copy_(torch.as_tensor(value, dtype=_F64).reshape(own[name].shape))
        return self

    def kl_to_posterior(self, x) -> torch.Tensor:
        """KL(q_φ(z|x) ‖ p_θ(z|x)) per row in closed form: an independent route to log p_θ(x) - ELBO."""
        q = self.encoder(x)
        q_full = MultivariateNormal(q.mean, torch.diag_embed(q.variance))
        return kl_divergence(q_full, self.posterior(x))

    def marginal(self) -> MultivariateNormal:
        """p_θ(x) = N(μ, W Wᵀ + σ² I)."""
        return self.ppca().marginal()

    def posterior(self, x) -> MultivariateNormal:
        """p_θ(z|x) = N(M⁻¹ Wᵀ (x - μ), σ² M⁻¹), M = Wᵀ W + σ² I."""
        return self.ppca().posterior(validate.rows("x", x, self.W.shape[0], _F64))

    def elbo_analytic(self, x) -> torch.Tensor:
        """The exact ELBO per row, q = N(m, diag(v)):
        E_q[log p_θ(x|z)] = -d/2 log 2πσ² - (‖x - W m - μ‖² + Σ_j v_j ‖W_j‖²) / 2σ², minus the
        KL(q ‖ N(0, I)) = ½ Σ_j (v_j + m_j² - 1 - log v_j)."""
        x = validate.rows("x", x, self.W.shape[0], _F64)
        q = self.encoder(x)
        m, v, s2 = q.mean, q.variance, self.log_sigma2.exp()
        resid = ((x - m @ self.W.T - self.mu) ** 2).sum(-1) + (v * (self.W**2).sum(0)).sum(-1)
        expected = -0.5 * x.shape[1] * torch.log(2 * math.pi * s2) - resid / (2 * s2)
        return expected - kl_divergence(q, self.prior())

    def mean_elbo_analytic(self, x) -> torch.Tensor:
        """(1/N) Σ_i ELBO(x_i) = elbo_analytic(x).mean() from the data's first two moments: O(d² q)."""
        x = validate.rows("x", x, self.W.shape[0], _F64)
        y = x - self.mu
        return self._mean_elbo(y.mean(0), y.T @ y / x.shape[0])

    def _mean_elbo(self, y_bar, S) -> torch.Tensor:
        """With y = x - μ, ȳ its mean, S = (1/N) Σ y yᵀ, c' = V μ + c (so m = V y + c'), A = I - W V
        and b = W c':  mean ‖x - W m - μ‖² = tr(A S Aᵀ) - 2 bᵀ A ȳ + ‖b‖²,
        mean ‖m‖² = tr(V S Vᵀ) + 2 c'ᵀ V ȳ + ‖c'‖²."""
        d, s2, v = S.shape[0], self.log_sigma2.exp(), self.log_v.exp()
        c = self.V @ self.mu + self.c
        A, b = torch.eye(d, dtype=_F64) - self.W @ self.V, self.W @ c
        resid = (A @ S * A).sum() - 2 * b @ (A @ y_bar) + b @ b + (v * (self.W**2).sum(0)).sum()
        mean_m2 = (self.V @ S * self.V).sum() + 2 * c @ (self.V @ y_bar) + c @ c
        expected = -0.5 * d * torch.log(2 * math.pi * s2) - resid / (2 * s2)
        return expected - 0.5 * ((v - 1 - v.log()).sum() + mean_m2)


def ml_theta_1d(x: torch.Tensor, w: float, sigma: float) -> dict:
    """A maximum-likelihood θ = (w, b, σ) for d = q = 1: p_θ(x) = N(b, w² + σ²) is maximised by
    b = mean(x) and any w² + σ² = var(x) (1/N), σ > 0, a half-circle (lesson 04, further 04c); this
    one keeps the direction of the given (w, σ)."""
    x = validate.tensor("x", x, min_len=2, dtype=_F64)
    w, sigma = validate.number("w", w), validate.number("sigma", sigma, above=0)
    b, var = x.mean().item(), x.var(correction=0).item()
    scale = math.sqrt(var / (w**2 + sigma**2))
    return {"w": w * scale, "b": b, "sigma": sigma * scale}


def _start(X, q: int, seed: int) -> LinearVAE:
    """A seeded LinearVAE with μ = the data mean and c = -V μ + small (the first means V x + c near 0)."""
    vae = LinearVAE(X.shape[1], validate.positive_int("q", q), seed=seed)
    with torch.no_grad():
        vae.mu.copy_(X.mean(0))
        vae.c.sub_(vae.V @ vae.mu)
    return vae


def fit_linear_vae_analytic(X, q: int = 2, seed: int = 0) -> dict:
    """Maximise the analytic mean ELBO over θ and φ, full batch, with L-BFGS on the data's moments
    (O(d² q) a step). Returns {"vae", "elbo_per_image"}."""
    X = validate.tensor("X", X, ndim=2, min_len=2, dtype=_F64)
    vae = _start(X, q, seed)
    x_bar, X2 = X.mean(0), X.T @ X / X.shape[0]  # the ELBO depends on the data only through these

    def objective():
        S = X2 - torch.outer(x_bar, vae.mu) - torch.outer(vae.mu, x_bar) + torch.outer(vae.mu, vae.mu)
        return vae._mean_elbo(x_bar - vae.mu, S)

    optim.maximise(list(vae.parameters()), objective, history_size=50,
                   tolerance_grad=1e-10, tolerance_change=1e-13)
    with torch.no_grad():
        return {"vae": vae, "elbo_per_image": vae.elbo_analytic(X).mean().item()}


def fit_linear_vae_sampled(X, q: int = 2, steps: int = 1000, batch_size: int = 100, seed: int = 0) -> dict:
    """Maximise the sampled ELBO (vaelib.elbo: one z per image, analytic KL) over minibatches with Adam,
    lr 0.05 cosine-decayed. Returns {"vae", "elbo_path"} (the minibatch ELBO per image before each step)."""
    X = validate.tensor("X", X, ndim=2, min_len=2, dtype=_F64)
    batch_size = validate.positive_int("batch_size", batch_size)
    vae, g = _start(X, q, seed), torch.Generator().manual_seed(seed)

    def objective():
        batch = X[torch.randint(0, len(X), (min(batch_size, len(X)),), generator=g)]
        return elbo.elbo(vae, batch, vae.encoder(batch), 1, generator=g).mean()

    run = optim.ascend(list(vae.parameters()), objective, steps, 0.05, cosine=True)
    return {"vae": vae, "elbo_path": run["values"]}

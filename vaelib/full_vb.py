"""Lesson 06 (further 06d): θ as a random variable, AEVB Appendix F ("Full VB"), on lesson 02's linear model.

The weight w gets a hyperprior; μ_z = 0, s_z = 1, b and σ stay known:
    hyperprior  p_α(w) = N(w; 0, α²)
    model       z_i ~ N(0, 1),  x_i | z_i, w ~ N(w z_i + b, σ²)    (vaelib.joint.LinearGaussianLVM)
    q_λ(w)      = N(w; m_w, s_w²)                    λ = (m_w, log s_w), `lam`; with encoder=True also
    q_φ(z|x)    = N(z; a x + c, e^{2d})              φ = (a, c, d), `phi`, amortized
    bound (eqs. 13-14)  L(λ; X) = E_{q_λ(w)}[log p_w(X) + log p_α(w) - log q_λ(w)] ≤ log p_α(X),
    log p_w(X) = Σ_i log N(x_i; b, w² + σ²); with the encoder Σ_i ELBO_i(w; φ) replaces it (eq. 21).
AEVB's one φ for q(θ) and q(z|x) is split: λ for q(w), fitted to this data set as lesson 03's λ was to
one x. The posterior p_α(w|X) is symmetric in ±w (06d: when it has two modes; the mean-field q(z|x)).
As a model for vaelib.posterior and elbo's grid functions: latent w on `grid`, log_joint(X, w).
"""

import copy

import torch
from torch.distributions import Normal, kl_divergence

from vaelib import elbo, optim, posterior, validate
from vaelib.joint import LinearGaussianLVM

_F64 = torch.float64


class FullVB:
    """Full VB for w in z ~ N(0, 1), x|z ~ N(w z + b, σ²), p_α(w) = N(0, α²) (module docstring)."""

    def __init__(self, x, alpha: float = 2.0, b: float = 0.0, sigma: float = 0.5, encoder: bool = False,
                 grid=None):
        self.x = validate.tensor("x", x, ndim=1, dtype=_F64)
        self.alpha = validate.number("alpha", alpha, above=0)
        self.b, self.sigma = validate.number("b", b), validate.number("sigma", sigma, above=0)
        self.grid = validate.grid("grid", torch.linspace(-4, 4, 1601, dtype=_F64) if grid is None else grid)
        start = {"m": 1.0, "log_s": -1.0}, ({"a": 0.0, "c": 0.0, "d": 0.0} if encoder else {})
        self.lam, self.phi = ({k: torch.tensor(v, dtype=_F64, requires_grad=True) for k, v in d.items()}
                              for d in start)

    def model(self, w) -> LinearGaussianLVM:
        """p_w(x, z), lesson 02's linear-Gaussian model at w; a batch of w (any shape) is set on the
        model after it is built, its formulas broadcasting w (..., 1) against x."""
        w = validate.tensor("w", w, dtype=_F64)
        if w.dim() == 0:
            return LinearGaussianLVM(0.0, 1.0, w, self.b, self.sigma)
        model = LinearGaussianLVM(0.0, 1.0, 0.0, self.b, self.sigma)
        model.w = w.unsqueeze(-1)  # (..., 1): one row of x-values per w
        return model

    def hyperprior(self) -> Normal:
        """p_α(w) = N(w; 0, α²)."""
        return Normal(torch.zeros((), dtype=_F64), torch.tensor(self.alpha, dtype=_F64))

    def q_w(self) -> Normal:
        """q_λ(w) = N(w; m_w, s_w²)."""
        return Normal(self.lam["m"], self.lam["log_s"].exp())

    def encoder(self, x) -> Normal:
        """q_φ(z|x) = N(z; a x + c, e^{2d}), one Normal per x."""
        return Normal(self.phi["a"] * x + self.phi["c"], self.phi["d"].exp().expand_as(x))

    def log_evidence(self, w) -> torch.Tensor:
        """log p_w(X) = Σ_i log p_w(x_i), p_w(x) = N(b, w² + σ²): one value per w."""
        return self.model(w).marginal().log_prob(self.x).sum(-1)

    def log_joint(self, x, w) -> torch.Tensor:
        """log p_α(w) + Σ_i log p_w(x_i) for every w (any shape); x is the data set (self.x)."""
        w = validate.tensor("w", w, dtype=_F64)
        return self.model(w).marginal().log_prob(x.flatten()).sum(-1) + self.hyperprior().log_prob(w)

    def bound(self, n_samples: int = 1, generator: torch.Generator | None = None) -> torch.Tensor:
        """The reparameterised estimate of L(λ, φ; X): w_s = m_w + s_w ζ_s, ζ_s ~ N(0, 1), then
        (1/S) Σ_s [log p_{w_s}(X) or Σ_i ELBO_i(w_s)] - KL(q_λ(w) ‖ p_α(w))."""
        q = self.q_w()
        ws = elbo.reparameterised_sample(q, validate.positive_int("n_samples", n_samples), generator)
        if self.phi:  # Σ_i ELBO_i(w_s), one z_i per x_i, averaged over the w_s inside
            data = elbo.elbo(self.model(ws), self.x, self.encoder(self.x), generator=generator).sum()
        else:
            data = self.log_evidence(ws).mean()
        return data - kl_divergence(q, self.hyperprior())

    def fit(self, steps: int = 1500, lr: float = 0.05, n_samples: int = 2, seed: int = 0) -> torch.Tensor:
        """Maximise the bound over λ and φ (Adam, its learning rate decayed to 0); the estimates."""
        g = torch.Generator().manual_seed(validate.positive_int("seed", seed, minimum=0))
        variational = [*self.lam.values(), *self.phi.values()]
        path = optim.ascend(variational, lambda: self.bound(n_samples, g), steps, lr, cosine=True)
        return path["values"]

    def on_grid(self, grid) -> "FullVB":
        """The same model, λ and φ on another grid (e.g. the half line w > 0)."""
        other = copy.copy(self)
        other.grid = validate.grid("grid", grid)
        return other

    def exact_bound(self) -> torch.Tensor:
        """L(λ; X) (eq. 14, z integrated exactly) by quadrature of q_λ(w) on the grid; differentiable in λ
        (maximised deterministically: the best Gaussian q*)."""
        with torch.no_grad():
            log_joint = posterior.log_joint_on_grid(self, self.x, self.grid)
        return elbo.elbo_from_log_joint(log_joint, self.grid, self.lam["m"], self.lam["log_s"].exp())

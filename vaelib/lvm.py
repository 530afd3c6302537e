"""Lesson 02: latent-variable models p_θ(x, z) = p_θ(z) p_θ(x|z), and why every distribution
derived from that joint carries the same θ.

θ indexes ONE generative model, a family of joints. The prior p_θ(z) and the likelihood
p_θ(x|z) are its factors; the marginal p_θ(x) = ∫ p_θ(x, z) dz and the posterior
p_θ(z|x) = p_θ(x, z) / p_θ(x) are derived from it, so they carry its index even when a factor
reads only a slice of θ. `dependency_matrix` finds, with autograd, which slice each one reads.

    LinearGaussianLVM   z ~ N(μ_z, s_z²), x|z ~ N(w z + b, σ²): everything in closed form
    NonlinearLVM        z ~ N(μ_z, s_z²), x|z ~ N(f_θ(z), σ²), f_θ a tiny MLP: marginal and
                        posterior by quadrature on a grid (GridPosterior)
    PPCA                x = W z + μ + ε (Tipping & Bishop 1999), fitted by maximum likelihood
    dependency_matrix   which θ components each distribution's log-density depends on
"""

import math
from collections.abc import Callable

import torch
from torch import nn
from torch.distributions import MultivariateNormal, Normal

from vaelib import validate

# ----------------------------------------------------------------------------------------------
# Helpers


def _scalar(name: str, value, scale: bool = False, dtype=None) -> torch.Tensor:
    """A 0-d float tensor (kept as given, so a tensor that requires grad stays in the graph).

    A plain number becomes a tensor of `dtype` directly (0.3 -> float64 without float32 rounding).
    """
    if dtype is not None and isinstance(value, int | float) and not isinstance(value, bool):
        value = torch.tensor(float(value), dtype=dtype)
    t = validate.scale(name, value) if scale else validate.tensor(name, value)
    if t.dim() != 0:
        raise ValueError(f"{name}: expected a single number (a float or 0-d tensor), "
                         f"got shape {tuple(t.shape)}")
    return t


def _common_dtype(*ts: torch.Tensor) -> torch.dtype:
    dtype = ts[0].dtype
    for t in ts[1:]:
        dtype = torch.promote_types(dtype, t.dtype)
    return dtype


# ----------------------------------------------------------------------------------------------
# The linear-Gaussian model


class LinearGaussianLVM:
    """z ~ N(μ_z, s_z²), x|z ~ N(w z + b, σ²), θ = (μ_z, s_z, w, b, σ); 1-D z and x.

    Every distribution is a torch Normal in closed form:
        prior       p_θ(z)   = N(z; μ_z, s_z²)                       reads μ_z, s_z
        likelihood  p_θ(x|z) = N(x; w z + b, σ²)                     reads w, b, σ
        marginal    p_θ(x)   = N(x; w μ_z + b, w² s_z² + σ²)         reads all of θ
        posterior   p_θ(z|x) = N(z; m, v),  1/v = 1/s_z² + w²/σ²,
                                            m = v (μ_z / s_z² + w (x - b) / σ²)   reads all of θ
    Components may be floats or 0-d tensors; a tensor that requires grad is used as given, so
    gradients flow back to it (that is how `dependency_matrix` reads the table above).
    """

    def __init__(self, mu_z=0.0, s_z=1.0, w=1.0, b=0.0, sigma=0.5):
        raw = {"mu_z": _scalar("mu_z", mu_z), "s_z": _scalar("s_z", s_z, scale=True),
               "w": _scalar("w", w), "b": _scalar("b", b),
               "sigma": _scalar("sigma", sigma, scale=True)}
        dtype = _common_dtype(*raw.values())
        self._theta = {k: v if v.dtype == dtype else v.to(dtype) for k, v in raw.items()}
        self.mu_z, self.s_z, self.w, self.b, self.sigma = self._theta.values()

    def parameters(self) -> dict[str, torch.Tensor]:
        """θ's components by name: {"mu_z", "s_z", "w", "b", "sigma"}."""
        return dict(self._theta)

    def prior(self) -> Normal:
        """p_θ(z) = N(z; μ_z, s_z²)."""
        return Normal(self.mu_z, self.s_z)

    def likelihood(self, z) -> Normal:
        """p_θ(x|z) = N(x; w z + b, σ²), one Normal per value of z (batch shape = z's shape)."""
        z = validate.tensor("z", z)
        loc = self.w * z + self.b
        return Normal(loc, self.sigma.expand_as(loc))

    def marginal(self) -> Normal:
        """p_θ(x) = ∫ p_θ(z) p_θ(x|z) dz = N(x; w μ_z + b, w² s_z² + σ²)."""
        return Normal(self.w * self.mu_z + self.b, (self.w ** 2 * self.s_z ** 2
                                                    + self.sigma ** 2).sqrt())

    def posterior(self, x) -> Normal:
        """p_θ(z|x) = N(z; m, v), 1/v = 1/s_z² + w²/σ², m = v (μ_z/s_z² + w (x - b)/σ²).

        One Normal per value of x (batch shape = x's shape).
        """
        x = validate.tensor("x", x)
        precision = 1 / self.s_z ** 2 + self.w ** 2 / self.sigma ** 2
        v = 1 / precision
        m = v * (self.mu_z / self.s_z ** 2 + self.w * (x - self.b) / self.sigma ** 2)
        return Normal(m, v.sqrt().expand_as(m))

    def log_joint(self, x, z) -> torch.Tensor:
        """log p_θ(x, z) = log p_θ(z) + log p_θ(x|z), broadcast over x and z."""
        x, z = validate.tensor("x", x), validate.tensor("z", z)
        return self.prior().log_prob(z) + self.likelihood(z).log_prob(x)

    def sample(self, n: int, generator: torch.Generator | None = None):
        """n draws (z_i, x_i) from the joint: z_i ~ p_θ(z), then x_i ~ p_θ(x|z_i)."""
        n = validate.positive_int("n", n)
        with torch.no_grad():
            eps = torch.randn(2, n, generator=generator, dtype=self.mu_z.dtype)
            z = self.mu_z + self.s_z * eps[0]
            x = self.w * z + self.b + self.sigma * eps[1]
        return z, x

    def __repr__(self):
        vals = ", ".join(f"{k}={v.item():.3g}" for k, v in self._theta.items())
        return f"LinearGaussianLVM({vals})"


# ----------------------------------------------------------------------------------------------
# The nonlinear model, by quadrature


class MLP(nn.Module):
    """f_θ(z) = Σ_h W2_h tanh(W1_h z + b1_h) + b2: a 1 -> H -> 1 network, z of any shape (...,).

    Seeded init: W1_h, b1_h ~ N(0, 1), W2_h ~ N(0, 1.5²), b2 = 0, drawn in float64 from
    torch.Generator().manual_seed(seed). With H = 16 and seed 0 (the defaults) f_θ rises and falls
    over the bulk of the prior, so some x are explained by two or three separated z values
    and the posterior p_θ(z|x) has several modes.
    """

    def __init__(self, hidden: int = 16, seed: int = 0):
        super().__init__()
        hidden = validate.positive_int("hidden", hidden)
        g = torch.Generator().manual_seed(seed)
        kw = {"generator": g, "dtype": torch.float64}
        self.W1 = nn.Parameter(torch.randn(hidden, **kw))
        self.b1 = nn.Parameter(torch.randn(hidden, **kw))
        self.W2 = nn.Parameter(1.5 * torch.randn(hidden, **kw))
        self.b2 = nn.Parameter(torch.zeros((), dtype=torch.float64))

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        z = torch.as_tensor(z).to(self.W1.dtype)
        return torch.tanh(z.unsqueeze(-1) * self.W1 + self.b1) @ self.W2 + self.b2


class GridPosterior:
    """p_θ(z|x) on a uniform grid z_1..z_G (spacing dz), for one x or a batch of x.

    log_density: (..., G) tensor of log p_θ(z_g|x), normalised so that density.sum(-1) * dz == 1.
    log_prob_fn: optional exact log-density z -> log p_θ(z|x) (the model passes
        log p_θ(x, z) - log p_θ(x)); without it `log_prob` interpolates linearly on the grid.
    log_marginal: optional log p_θ(x) (...,), the normaliser found on the way (kept as an attribute).
    Mean, std and samples are those of the grid density (a sum over the grid times dz); samples
    pick a cell g with probability density_g dz, then a uniform point in that cell.
    """

    def __init__(self, grid: torch.Tensor, log_density: torch.Tensor,
                 log_prob_fn: Callable | None = None, log_marginal: torch.Tensor | None = None):
        grid = validate.tensor("grid", grid, ndim=1, min_len=3)
        log_density = torch.as_tensor(log_density)
        if log_density.dim() == 0 or log_density.shape[-1] != grid.shape[0]:
            raise ValueError(f"log_density: expected shape (..., {grid.shape[0]}) to match the grid, "
                             f"got {tuple(log_density.shape)}")
        self.grid, self.log_marginal = grid, log_marginal
        self.dz = (grid[1] - grid[0]).item()
        self.log_density = log_density
        self._log_prob_fn = log_prob_fn

    @property
    def density(self) -> torch.Tensor:
        """p_θ(z_g|x) on the grid, (..., G); density.sum(-1) * dz == 1."""
        return self.log_density.exp()

    @property
    def mean(self) -> torch.Tensor:
        """E[z|x] ≈ Σ_g z_g p(z_g|x) dz."""
        return (self.density * self.grid).sum(-1) * self.dz

    @property
    def std(self) -> torch.Tensor:
        """sqrt(Var[z|x]) ≈ sqrt(Σ_g (z_g - mean)² p(z_g|x) dz)."""
        centred = self.grid - self.mean.unsqueeze(-1)
        return ((self.density * centred ** 2).sum(-1) * self.dz).sqrt()

    def log_prob(self, z) -> torch.Tensor:
        """log p_θ(z|x), broadcast like a torch distribution (z against the batch shape of x)."""
        z = validate.tensor("z", z)
        if self._log_prob_fn is not None:
            return self._log_prob_fn(z)
        lo, dz, G = self.grid[0], self.dz, self.grid.shape[0]
        pos = ((z.to(self.grid.dtype) - lo) / dz).clamp(0, G - 1)
        i = pos.floor().long().clamp(max=G - 2)
        t = pos - i
        ld = self.log_density
        ld = ld.expand(*torch.broadcast_shapes(ld.shape[:-1], z.shape), G)
        left = torch.gather(ld, -1, i.expand(ld.shape[:-1]).unsqueeze(-1)).squeeze(-1)
        right = torch.gather(ld, -1, (i + 1).expand(ld.shape[:-1]).unsqueeze(-1)).squeeze(-1)
        out = (1 - t) * left + t * right
        inside = (z >= self.grid[0]) & (z <= self.grid[-1])
        return torch.where(inside, out, torch.full_like(out, -math.inf))

    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """n draws, shape (n, *batch): a grid cell with probability density·dz, then uniform."""
        n = validate.positive_int("n", n)
        with torch.no_grad():
            p = (self.density * self.dz).reshape(-1, self.grid.shape[0])
            idx = torch.multinomial(p, n, replacement=True, generator=generator)  # (B, n)
            u = torch.rand(idx.shape, generator=generator, dtype=self.grid.dtype)
            z = self.grid[idx] + (u - 0.5) * self.dz
            return z.T.reshape(n, *self.log_density.shape[:-1])


class _LogDensity:
    """A distribution known only through its log-density (e.g. a marginal by quadrature)."""

    def __init__(self, log_prob: Callable):
        self.log_prob = log_prob


class NonlinearLVM:
    """z ~ N(μ_z, s_z²), x|z ~ N(f_θ(z), σ²); θ = (the weights and biases of f_θ, σ, μ_z, s_z).

    f: any callable or nn.Module mapping a z tensor (...,) to (...,); default `MLP(16, seed)`.
    The marginal and the posterior have no closed form; they are computed by quadrature on a
    uniform grid z_1..z_G of spacing dz (float64 inside):
        log p_θ(x)   = log Σ_g p_θ(z_g) p_θ(x|z_g) dz          (logsumexp, then + log dz)
        p_θ(z_g|x)   = p_θ(z_g) p_θ(x|z_g) / p_θ(x)
    Default grid: G = 2001 points on [μ_z - 10 s_z, μ_z + 10 s_z], so dz = s_z / 100 (0.01 for
    s_z = 1). Error: the prior mass outside the grid is 2Φ(-10) ≈ 1.5e-23, and the equally
    spaced sum of a smooth integrand that vanishes at both ends is exact to ~exp(-2π² τ²/dz²)
    for an integrand of width τ; with linear f (where a closed form exists) the tests find
    |log p_θ(x) by quadrature - closed form| < 1e-10 for posterior widths τ >= 2 dz. Narrower
    posteriors (τ < dz, i.e. σ/|f'| tiny) need a finer `grid`. For x far in the tail of p_θ(x)
    the posterior can sit at the grid's edge and truncation dominates (default MLP, σ = 0.1,
    x = 5.5: 2e-3 in log p_θ(x), where p_θ(x) is astronomically small): look at
    `posterior(x).density` near the ends of the grid before trusting such x.
    """

    def __init__(self, f: Callable | None = None, sigma=0.5, mu_z=0.0, s_z=1.0, grid=None,
                 seed: int = 0):
        if f is not None and not callable(f):
            raise ValueError(f"f: expected a callable mapping z (...,) to (...,), "
                             f"got {type(f).__name__}")
        if isinstance(seed, bool) or not isinstance(seed, int):
            raise ValueError(f"seed: expected a whole number, got {seed!r}")
        self.f = MLP(16, seed) if f is None else f
        f64 = torch.float64
        self.sigma = _scalar("sigma", sigma, scale=True, dtype=f64).to(f64)
        self.mu_z = _scalar("mu_z", mu_z, dtype=f64).to(f64)
        self.s_z = _scalar("s_z", s_z, scale=True, dtype=f64).to(f64)
        if grid is None:
            with torch.no_grad():
                grid = torch.linspace(-10, 10, 2001, dtype=f64) * self.s_z + self.mu_z
        self.grid = _uniform_grid(grid)
        self.dz = (self.grid[1] - self.grid[0]).item()

    def parameters(self) -> dict[str, torch.Tensor]:
        """θ's components: f's weights and biases (by their names in f), then σ, μ_z, s_z."""
        out = dict(self.f.named_parameters()) if isinstance(self.f, nn.Module) else {}
        return {**out, "sigma": self.sigma, "mu_z": self.mu_z, "s_z": self.s_z}

    def decoder_mean(self, z) -> torch.Tensor:
        """f_θ(z): the mean of p_θ(x|z), an OUTPUT of the network (different for every z)."""
        return torch.as_tensor(self.f(validate.tensor("z", z))).to(torch.float64)

    def prior(self) -> Normal:
        """p_θ(z) = N(z; μ_z, s_z²)."""
        return Normal(self.mu_z, self.s_z)

    def likelihood(self, z) -> Normal:
        """p_θ(x|z) = N(x; f_θ(z), σ²), one Normal per value of z."""
        loc = self.decoder_mean(z)
        return Normal(loc, self.sigma.expand_as(loc))

    def log_joint(self, x, z) -> torch.Tensor:
        """log p_θ(x, z) = log p_θ(z) + log p_θ(x|z), broadcast (x (N,1) with z (G,) -> (N,G))."""
        x = validate.tensor("x", x, dtype=torch.float64)
        z = validate.tensor("z", z)
        return self.prior().log_prob(z.to(torch.float64)) + self.likelihood(z).log_prob(x)

    def _log_joint_on_grid(self, x: torch.Tensor) -> torch.Tensor:
        return self.log_joint(x.unsqueeze(-1), self.grid)  # (..., G)

    def log_marginal(self, x) -> torch.Tensor:
        """log p_θ(x) = logsumexp_g [log p_θ(z_g) + log p_θ(x|z_g)] + log dz, one per x."""
        x = validate.tensor("x", x, dtype=torch.float64)
        return torch.logsumexp(self._log_joint_on_grid(x), -1) + math.log(self.dz)

    def marginal(self) -> _LogDensity:
        """p_θ(x) by quadrature, as an object with .log_prob(x) (no torch class fits)."""
        return _LogDensity(self.log_marginal)

    def posterior(self, x) -> GridPosterior:
        """p_θ(z|x) = p_θ(x, z) / p_θ(x) on the grid, for one x (0-d) or a batch of x (...,)."""
        x = validate.tensor("x", x, dtype=torch.float64)
        lj = self._log_joint_on_grid(x)
        log_px = torch.logsumexp(lj, -1) + math.log(self.dz)
        return GridPosterior(self.grid, lj - log_px.unsqueeze(-1),
                             lambda z: self.log_joint(x, z) - log_px, log_marginal=log_px)

    def sample(self, n: int, generator: torch.Generator | None = None):
        """n draws (z_i, x_i): z_i ~ p_θ(z), x_i ~ N(f_θ(z_i), σ²)."""
        n = validate.positive_int("n", n)
        with torch.no_grad():
            eps = torch.randn(2, n, generator=generator, dtype=torch.float64)
            z = self.mu_z + self.s_z * eps[0]
            x = self.decoder_mean(z) + self.sigma * eps[1]
        return z, x


def _uniform_grid(grid) -> torch.Tensor:
    grid = validate.tensor("grid", grid, ndim=1, min_len=3, dtype=torch.float64)
    d = grid.diff()
    if not (d > 0).all() or (d - d[0]).abs().max() > 1e-6 * d[0]:
        raise ValueError("grid: expected equally spaced, increasing z values "
                         "(e.g. torch.linspace(-10, 10, 2001))")
    return grid.detach() if grid.requires_grad else grid  # the caller's own tensor, if it may


# ----------------------------------------------------------------------------------------------
# Probabilistic PCA


class PPCA:
    """x = W z + μ + ε, z ~ N(0, I_q), ε ~ N(0, σ² I_d) (Tipping & Bishop 1999), float64.

        marginal   p(x)   = N(x; μ, C),  C = W Wᵀ + σ² I
                   log p(x) = -½ [d log 2π + log|C| + (x-μ)ᵀ C⁻¹ (x-μ)]
        posterior  p(z|x) = N(z; M⁻¹ Wᵀ (x - μ), σ² M⁻¹),  M = Wᵀ W + σ² I_q
    `PPCA.fit(X, q)` gives the maximum-likelihood θ = (W, μ, σ²) in closed form.
    """

    def __init__(self, W, mu, sigma2):
        W = validate.tensor("W", W, ndim=2, dtype=torch.float64)
        mu = validate.tensor("mu", mu, ndim=1, dtype=torch.float64)
        if W.shape[0] != mu.shape[0]:
            raise ValueError(f"W and mu: expected W of shape (d, q) with d = len(mu) = "
                             f"{mu.shape[0]}, got W of shape {tuple(W.shape)}")
        sigma2 = validate.scale("sigma2", sigma2).to(torch.float64)
        if sigma2.dim() != 0:
            raise ValueError(f"sigma2: expected a single number, got shape {tuple(sigma2.shape)}")
        self.W, self.mu, self.sigma2 = W, mu, sigma2
        self.d, self.q = W.shape

    @classmethod
    def fit(cls, X, q: int) -> "PPCA":
        """Maximum likelihood: μ = mean(X); with S = (1/N) Σ (x_n-μ)(x_n-μ)ᵀ, eigenvalues
        λ_1 >= ... >= λ_d and eigenvectors U: σ² = mean(λ_{q+1..d}), W = U_q (Λ_q - σ² I)^{1/2}."""
        X = validate.tensor("X", X, ndim=2, min_len=2, dtype=torch.float64)
        d = X.shape[1]
        if isinstance(q, bool) or not isinstance(q, int) or not 1 <= q < d:
            raise ValueError(f"q: expected a whole number of latent dimensions with "
                             f"1 <= q < d = {d}, got {q!r}")
        mu = X.mean(0)
        S = (X - mu).T @ (X - mu) / X.shape[0]
        lam, U = torch.linalg.eigh(S)  # ascending
        lam, U = lam.flip(0), U.flip(1)
        sigma2 = lam[q:].mean()
        if not sigma2 > 0:
            raise ValueError(f"X: its covariance has rank <= q = {q}, so σ² = 0; use a smaller q")
        W = U[:, :q] * (lam[:q] - sigma2).clamp(min=0).sqrt()
        return cls(W, mu, sigma2)

    @property
    def covariance(self) -> torch.Tensor:
        """C = W Wᵀ + σ² I_d."""
        return self.W @ self.W.T + self.sigma2 * torch.eye(self.d, dtype=torch.float64)

    def prior(self) -> MultivariateNormal:
        """p(z) = N(0, I_q)."""
        return MultivariateNormal(torch.zeros(self.q, dtype=torch.float64),
                                  torch.eye(self.q, dtype=torch.float64))

    def likelihood(self, z) -> MultivariateNormal:
        """p(x|z) = N(x; W z + μ, σ² I_d), one per row of z (..., q)."""
        z = validate.tensor("z", z, dtype=torch.float64)
        if z.dim() == 0 or z.shape[-1] != self.q:
            raise ValueError(f"z: expected shape (..., {self.q}), got {tuple(z.shape)}")
        return MultivariateNormal(z @ self.W.T + self.mu,
                                  self.sigma2 * torch.eye(self.d, dtype=torch.float64))

    def marginal(self) -> MultivariateNormal:
        """p(x) = N(x; μ, W Wᵀ + σ² I)."""
        return MultivariateNormal(self.mu, self.covariance)

    def _rows(self, X) -> torch.Tensor:
        X = validate.tensor("X", X, ndim=2, dtype=torch.float64)
        if X.shape[1] != self.d:
            raise ValueError(f"X: expected shape (N, {self.d}), got {tuple(X.shape)}")
        return X

    def log_marginal(self, X) -> torch.Tensor:
        """log p(x_n) = -½ [d log 2π + log|C| + (x_n-μ)ᵀ C⁻¹ (x_n-μ)], one value per row."""
        return self.marginal().log_prob(self._rows(X))

    def posterior(self, X) -> MultivariateNormal:
        """p(z|x_n) = N(M⁻¹ Wᵀ (x_n - μ), σ² M⁻¹), M = Wᵀ W + σ² I_q; batch of one per row."""
        X = self._rows(X)
        M = self.W.T @ self.W + self.sigma2 * torch.eye(self.q, dtype=torch.float64)
        Minv = torch.linalg.inv(M)
        mean = (X - self.mu) @ self.W @ Minv.T
        cov = self.sigma2 * Minv
        cov = (cov + cov.T) / 2
        return MultivariateNormal(mean, cov.expand(X.shape[0], self.q, self.q))


# ----------------------------------------------------------------------------------------------
# Which θ components does each distribution read?


class DependencyMatrix(dict):
    """{distribution: {component: bool}}: True where the log-density's gradient is nonzero."""

    @property
    def components(self) -> list[str]:
        return list(next(iter(self.values()))) if self else []

    def reads(self, distribution: str) -> list[str]:
        """The θ components `distribution` depends on."""
        return [c for c, yes in self[distribution].items() if yes]

    def moves(self, component: str) -> list[str]:
        """The distributions that change when `component` changes."""
        return [d for d, row in self.items() if row[component]]

    def to_markdown(self, labels: dict | None = None) -> str:
        """A markdown table: one row per distribution, ✓ where it depends on the component."""
        labels = labels or {}
        cols = self.components
        head = "| | " + " | ".join(labels.get(c, c) for c in cols) + " |"
        rule = "|---|" + "---|" * len(cols)
        rows = [f"| {d} | " + " | ".join("✓" if row[c] else "·" for c in cols) + " |"
                for d, row in self.items()]
        return "\n".join([head, rule, *rows])

    def __str__(self):
        cols = self.components
        width = max([len(d) for d in self] + [10])
        lines = [" " * width + "  " + "  ".join(f"{c:>6}" for c in cols)]
        for d, row in self.items():
            lines.append(f"{d:<{width}}  " + "  ".join(f"{'x' if row[c] else '.':>6}"
                                                       for c in cols))
        return "\n".join(lines)

    def _repr_markdown_(self):
        return self.to_markdown()


def dependency_matrix(distributions: dict, params: dict, points, tol: float = 0.0
                      ) -> DependencyMatrix:
    """For each distribution and θ component: is ∂ log p(t) / ∂ component nonzero at some point t?

    distributions: {name: callable returning a distribution} (anything with .log_prob); each is
        rebuilt inside so the gradient sees the current graph.
    params: {name: tensor}, e.g. model.parameters(). Leaf tensors that do not require grad are
        switched on for the computation and back off afterwards.
    points: a tensor whose rows points[k] are the points t_k where every log-density is
        evaluated, or {distribution name: such a tensor}. Each point gets its own gradient (a sum
        over points could cancel, e.g. ∂/∂μ of Σ_k log N(t_k; μ, 1) at symmetric t_k).
    A component counts as read when |gradient| > tol at one point at least (an unused component
    has no gradient at all: autograd returns None). A gradient can vanish at one unlucky point
    (∂/∂s log N(t; 0, s²) = 0 at |t| = s), so pass a few points in general position.
    """
    if not isinstance(distributions, dict) or not distributions or not all(
            callable(v) for v in distributions.values()):
        raise ValueError("distributions: expected a non-empty dict {name: callable returning a "
                         "distribution}")
    if not isinstance(params, dict) or not params or not all(
            isinstance(v, torch.Tensor) and v.is_floating_point() for v in params.values()):
        raise ValueError("params: expected a non-empty dict {name: float tensor}")
    tol = validate.finite_float("tol", tol)
    if tol < 0:
        raise ValueError(f"tol: expected a number >= 0, got {tol}")
    pts = {name: _points(name, points) for name in distributions}
    switched = [p for p in params.values() if p.is_leaf and not p.requires_grad]
    for p in switched:
        p.requires_grad_(True)
    try:
        names, tensors = list(params), list(params.values())
        depends = {}
        for dname, make in distributions.items():
            best = dict.fromkeys(names, 0.0)
            for t in pts[dname]:
                lp = make().log_prob(t).sum()
                grads = torch.autograd.grad(lp, tensors, allow_unused=True) if lp.requires_grad \
                    else [None] * len(tensors)
                for n, g in zip(names, grads, strict=True):
                    if g is not None:
                        best[n] = max(best[n], g.abs().max().item())
            depends[dname] = {n: best[n] > tol for n in names}
    finally:
        for p in switched:
            p.requires_grad_(False)
    return DependencyMatrix(depends)


def _points(dname: str, points) -> torch.Tensor:
    if isinstance(points, dict):
        if dname not in points:
            raise ValueError(f"points: expected an entry for every distribution; {dname!r} "
                             f"is missing")
        points = points[dname]
    t = validate.tensor("points", points, min_len=1)
    if t.dim() == 0:
        raise ValueError("points: expected one or more points (a 1-D tensor, or (K, d) rows)")
    return t

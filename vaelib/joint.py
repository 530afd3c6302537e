"""Lesson 02: generative models p_θ(x, z) = p_θ(z) p_θ(x|z), one θ for the whole joint: the marginal
p_θ(x) and posterior p_θ(z|x) carry θ even where a factor reads only a slice of it (vaelib.dependency).

    LinearGaussianLVM   z ~ N(μ_z, s_z²), x|z ~ N(w z + b, σ²): every distribution in closed form
    NonlinearLVM        z ~ N(μ_z, s_z²), x|z ~ N(f_θ(z), σ²), f_θ = DecoderNet: p_θ(x), p_θ(z|x) by grid
"""

import functools

import torch
from torch import nn
from torch.distributions import Normal

from vaelib import posterior, validate

_F64 = torch.float64


class _GaussianLVM:
    """z ~ N(μ_z, s_z²), x|z ~ N(mean(z), σ²): what the two models share; _mean(z) is theirs."""

    _dtype = None  # log_joint's x and z: kept as given (a float is float32), or converted to this

    def prior(self) -> Normal:
        """p_θ(z) = N(z; μ_z, s_z²)."""
        return Normal(self.mu_z, self.s_z)

    def likelihood(self, z) -> Normal:
        """p_θ(x|z) = N(x; mean(z), σ²), one Normal per value of z."""
        loc = self._mean(z)
        return Normal(loc, self.sigma.expand_as(loc))

    def log_joint(self, x, z) -> torch.Tensor:
        """log p_θ(x, z) = log p_θ(z) + log p_θ(x|z), broadcast (x (N, 1) with z (G,) -> (N, G))."""
        x, z = validate.tensor("x", x, dtype=self._dtype), validate.tensor("z", z, dtype=self._dtype)
        return self.prior().log_prob(z) + self.likelihood(z).log_prob(x)

    def sample(self, n: int, generator: torch.Generator | None = None):
        """n draws (z_i, x_i) from the joint: z_i ~ p_θ(z), then x_i ~ p_θ(x|z_i)."""
        n = validate.positive_int("n", n)
        with torch.no_grad():
            eps = torch.randn(2, n, generator=generator, dtype=self.mu_z.dtype)
            z = self.mu_z + self.s_z * eps[0]
            return z, self._mean(z) + self.sigma * eps[1]


class LinearGaussianLVM(_GaussianLVM):
    """z ~ N(μ_z, s_z²), x|z ~ N(w z + b, σ²), θ = (μ_z, s_z, w, b, σ); 1-D z and x.

        prior       p_θ(z)   = N(z; μ_z, s_z²)
        likelihood  p_θ(x|z) = N(x; w z + b, σ²)
        marginal    p_θ(x)   = N(x; w μ_z + b, w² s_z² + σ²)
        posterior   p_θ(z|x) = N(z; m_z|x, v_z|x),  1/v_z|x = 1/s_z² + w²/σ²,
                    m_z|x = v_z|x (μ_z/s_z² + w (x - b)/σ²)
    Components may be floats or 0-d tensors; one that requires grad is used as given, so gradients
    flow back to it (vaelib.dependency reads which component moves what that way).
    """

    def __init__(self, mu_z=0.0, s_z=1.0, w=1.0, b=0.0, sigma=0.5):
        theta = {"mu_z": validate.tensor("mu_z", mu_z, ndim=0),
                 "s_z": validate.tensor("s_z", s_z, ndim=0, positive=True),
                 "w": validate.tensor("w", w, ndim=0), "b": validate.tensor("b", b, ndim=0),
                 "sigma": validate.tensor("sigma", sigma, ndim=0, positive=True)}
        dtype = functools.reduce(torch.promote_types, [t.dtype for t in theta.values()])
        self._theta = {k: v if v.dtype == dtype else v.to(dtype) for k, v in theta.items()}
        self.mu_z, self.s_z, self.w, self.b, self.sigma = self._theta.values()

    def parameters(self) -> dict[str, torch.Tensor]:
        """θ's components by name: {"mu_z", "s_z", "w", "b", "sigma"}."""
        return dict(self._theta)

    def _mean(self, z) -> torch.Tensor:
        return self.w * validate.tensor("z", z) + self.b

    def marginal(self) -> Normal:
        """p_θ(x) = ∫ p_θ(z) p_θ(x|z) dz = N(x; w μ_z + b, w² s_z² + σ²)."""
        return Normal(self.w * self.mu_z + self.b, (self.w**2 * self.s_z**2 + self.sigma**2).sqrt())

    def posterior(self, x) -> Normal:
        """p_θ(z|x) = N(z; m_z|x, v_z|x), one Normal per value of x."""
        x = validate.tensor("x", x)
        v_post = 1 / (1 / self.s_z**2 + self.w**2 / self.sigma**2)
        m_post = v_post * (self.mu_z / self.s_z**2 + self.w * (x - self.b) / self.sigma**2)
        return Normal(m_post, v_post.sqrt().expand_as(m_post))

    def __repr__(self):
        return "LinearGaussianLVM(" + ", ".join(f"{k}={v.item():.3g}" for k, v in self._theta.items()) + ")"


class DecoderNet(nn.Module):
    """f_θ(z) = Σ_h W2_h tanh(W1_h z + b1_h) + b2: the decoder's mean, a 1 -> H -> 1 network on z
    of any shape (...,), float64. Seeded: W1, b1 ~ N(0, 1), W2 ~ N(0, 1.5²), b2 = 0. With H = 16
    and seed 0 f_θ rises and falls over the prior's bulk, so some x have several posterior modes."""

    def __init__(self, hidden: int = 16, seed: int = 0):
        super().__init__()
        hidden = validate.positive_int("hidden", hidden)
        g = torch.Generator().manual_seed(validate.positive_int("seed", seed, minimum=0))
        self.W1 = nn.Parameter(torch.randn(hidden, generator=g, dtype=_F64))
        self.b1 = nn.Parameter(torch.randn(hidden, generator=g, dtype=_F64))
        self.W2 = nn.Parameter(1.5 * torch.randn(hidden, generator=g, dtype=_F64))
        self.b2 = nn.Parameter(torch.zeros((), dtype=_F64))

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        z = torch.as_tensor(z).to(_F64)
        return torch.tanh(z.unsqueeze(-1) * self.W1 + self.b1) @ self.W2 + self.b2


class NonlinearLVM(_GaussianLVM):
    """z ~ N(μ_z, s_z²), x|z ~ N(f_θ(z), σ²), float64; θ = the weights and biases of f_θ (lesson 02 §5).
    σ, μ_z and s_z are set by hand here, so they are hyper-parameters; any of them learned would join θ.

    f: any callable mapping z (...,) to (...,); default DecoderNet(16, seed). p_θ(x) and p_θ(z|x) by
    quadrature (vaelib.posterior) on `grid`, default 2001 points on μ_z ± 10 s_z (dz = s_z/100): to
    ~1e-10 while the posterior is at least 2 dz wide; a narrower one needs a finer grid, one at the
    grid's edge is cut off (look at posterior(x).density near the ends; further/02a).
    """

    _dtype = _F64

    def __init__(self, f=None, sigma=0.5, mu_z=0.0, s_z=1.0, grid=None, seed: int = 0):
        if f is not None and not callable(f):
            raise ValueError(f"f: expected a callable mapping z (...,) to (...,), got {type(f).__name__}")
        self.f = DecoderNet(16, seed) if f is None else f
        self.sigma = validate.tensor("sigma", sigma, ndim=0, positive=True, dtype=_F64).to(_F64)
        self.mu_z = validate.tensor("mu_z", mu_z, ndim=0, dtype=_F64).to(_F64)
        self.s_z = validate.tensor("s_z", s_z, ndim=0, positive=True, dtype=_F64).to(_F64)
        if grid is None:
            with torch.no_grad():
                grid = torch.linspace(-10, 10, 2001, dtype=_F64) * self.s_z + self.mu_z
        self.grid = validate.grid("grid", grid)
        self.dz = (self.grid[1] - self.grid[0]).item()

    def parameters(self) -> dict[str, torch.Tensor]:
        """θ's components: f's weights and biases (by their names in f), then σ, μ_z, s_z."""
        weights = dict(self.f.named_parameters()) if isinstance(self.f, nn.Module) else {}
        return {**weights, "sigma": self.sigma, "mu_z": self.mu_z, "s_z": self.s_z}

    def decoder_mean(self, z) -> torch.Tensor:
        """f_θ(z): the mean of p_θ(x|z), an OUTPUT of the network (different for every z)."""
        return torch.as_tensor(self.f(validate.tensor("z", z))).to(_F64)

    _mean = decoder_mean

    def log_marginal(self, x) -> torch.Tensor:
        """log p_θ(x) = log Σ_g p_θ(x, z_g) dz, one value per x (vaelib.posterior.log_marginal)."""
        return posterior.log_marginal(self, x)

    def marginal(self) -> "NonlinearLVM":
        """p_θ(x) by quadrature, as an object with .log_prob(x) (no torch class fits)."""
        return _Marginal(self)

    def posterior(self, x) -> posterior.GridDensity:
        """p_θ(z|x) = p_θ(x, z) / p_θ(x) on the grid, for one x (0-d) or a batch of x (...,)."""
        return posterior.posterior(self, x)


class _Marginal:
    """p_θ(x) of a NonlinearLVM, known through its log-density only."""

    def __init__(self, model: NonlinearLVM):
        self.log_prob = model.log_marginal

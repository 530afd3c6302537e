"""Lesson 02: the exact evidence p_θ(x) and posterior p_θ(z|x) of a 1-D model, by quadrature, the
course's one quadrature. On a uniform grid z_1..z_G of spacing dz:
    log p_θ(x) = log Σ_g p_θ(x, z_g) dz,   p_θ(z_g|x) = p_θ(x, z_g) / p_θ(x)
A model has log_joint(x, z), broadcasting x against z, and a .grid of equally spaced z (joint.NonlinearLVM).
"""

import math

import torch

from vaelib import validate


def model_grid(model) -> torch.Tensor:
    """The model's quadrature grid, checked once here for every function of the course."""
    if not hasattr(model, "grid") or not callable(getattr(model, "log_joint", None)):
        raise ValueError(f"model: expected a model with log_joint(x, z) and a .grid of equally "
                         f"spaced z values (e.g. joint.NonlinearLVM), got {type(model).__name__}")
    return validate.grid("model.grid", model.grid)


def log_joint_on_grid(model, x, grid: torch.Tensor | None = None) -> torch.Tensor:
    """log p_θ(x, z_g) for every x and every grid point: shape (*x.shape, G), float64."""
    x = validate.tensor("x", x, dtype=torch.float64)
    grid = model_grid(model) if grid is None else grid
    return model.log_joint(x.unsqueeze(-1), grid).to(torch.float64)


def log_marginal(model, x) -> torch.Tensor:
    """log p_θ(x) = logsumexp_g log p_θ(x, z_g) + log dz, one value per x."""
    grid = model_grid(model)
    return torch.logsumexp(log_joint_on_grid(model, x, grid), -1) + math.log(grid[1] - grid[0])


def posterior(model, x) -> "GridDensity":
    """p_θ(z|x) on the model's grid, for one x (0-d) or a batch; log_prob(z) = log p_θ(x, z) - log p_θ(x)
    exactly at any z, and .log_normaliser = log p_θ(x)."""
    x = validate.tensor("x", x, dtype=torch.float64)
    grid = model_grid(model)
    log_joint = log_joint_on_grid(model, x, grid)
    log_px = torch.logsumexp(log_joint, -1) + math.log(grid[1] - grid[0])
    return GridDensity(grid, log_joint - log_px.unsqueeze(-1), log_normaliser=log_px,
                       log_prob=lambda z: model.log_joint(x, z) - log_px)


def quadrature_grid(model, x, stride: int = 4):
    """(grid, log p_θ(x, z_g) of shape (len(x), G')) in float64 on every stride-th grid point, trimmed to
    where some x is within 25 nats of its maximum: the cheaper quadrature of lessons 03-04."""
    x = validate.tensor("x", x, ndim=1, dtype=torch.float64)
    stride = validate.positive_int("stride", stride)
    with torch.no_grad():
        grid = model_grid(model)[::stride]
        log_joint = log_joint_on_grid(model, x, grid)
        keep = (log_joint - log_joint.max(-1, keepdim=True).values > -25.0).any(0).nonzero()
        lo, hi = max(keep.min().item() - 1, 0), min(keep.max().item() + 1, len(grid) - 1)
    return grid[lo:hi + 1], log_joint[:, lo:hi + 1]


class GridDensity:
    """A density known on a uniform grid (…, G), normalised so that density.sum(-1) * dz == 1: a posterior
    p_θ(z|x), or p_θ(x) over an x grid. log_prob: the exact function when given, else linear
    interpolation; mean, std, quantiles and samples are the grid density's (sums times dz)."""

    def __init__(self, grid, log_density, *, log_prob=None, log_normaliser=None):
        self.grid = validate.grid("grid", grid)
        self.log_density = torch.as_tensor(log_density, dtype=torch.float64)
        if self.log_density.dim() == 0 or self.log_density.shape[-1] != len(self.grid):
            raise ValueError(f"log_density: expected shape (..., {len(self.grid)}) to match the "
                             f"grid, got {tuple(self.log_density.shape)}")
        self.dz = (self.grid[1] - self.grid[0]).item()
        self.log_normaliser, self._log_prob = log_normaliser, log_prob

    @property
    def density(self) -> torch.Tensor:
        """The density at the grid points, (..., G)."""
        return self.log_density.exp()

    @property
    def mean(self) -> torch.Tensor:
        """E[z] ≈ Σ_g z_g p(z_g) dz."""
        return (self.density * self.grid).sum(-1) * self.dz

    @property
    def std(self) -> torch.Tensor:
        """sqrt(Σ_g (z_g - mean)² p(z_g) dz)."""
        centred = self.grid - self.mean.unsqueeze(-1)
        return ((self.density * centred**2).sum(-1) * self.dz).sqrt()

    def quantile(self, levels) -> torch.Tensor:
        """The first grid point whose cumulative mass reaches each level: (..., len(levels))."""
        levels = validate.tensor("levels", levels, ndim=1, dtype=torch.float64)
        cdf = (self.density * self.dz).cumsum(-1)
        idx = torch.searchsorted(cdf, levels.expand(*cdf.shape[:-1], -1).contiguous())
        return self.grid[idx.clamp(max=len(self.grid) - 1)]

    def log_prob(self, z) -> torch.Tensor:
        """log p(z), broadcast like a torch distribution (z against the batch shape)."""
        z = validate.tensor("z", z, dtype=torch.float64)
        return self._log_prob(z) if self._log_prob is not None else self._interpolate(z)

    def _interpolate(self, z):
        G = len(self.grid)
        pos = ((z - self.grid[0]) / self.dz).clamp(0, G - 1)
        i = pos.floor().long().clamp(max=G - 2)
        ld = self.log_density.expand(*torch.broadcast_shapes(self.log_density.shape[:-1], z.shape), G)
        at = lambda j: torch.gather(ld, -1, j.expand(ld.shape[:-1]).unsqueeze(-1)).squeeze(-1)  # noqa: E731
        out = (1 - (pos - i)) * at(i) + (pos - i) * at(i + 1)
        inside = (z >= self.grid[0]) & (z <= self.grid[-1])
        return torch.where(inside, out, torch.full_like(out, -math.inf))

    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """n draws, shape (n, *batch): a grid cell with probability density·dz, then uniform in it."""
        n = validate.positive_int("n", n)
        with torch.no_grad():
            p = (self.density * self.dz).reshape(-1, len(self.grid))
            idx = torch.multinomial(p, n, replacement=True, generator=generator)  # (B, n)
            u = torch.rand(idx.shape, generator=generator, dtype=torch.float64)
            z = self.grid[idx] + (u - 0.5) * self.dz
            return z.T.reshape(n, *self.log_density.shape[:-1])

"""Lessons 03-04: per-datapoint variational inference, λ_i = (m_i, s_i) for every x_i.

    q_{λ_i}(z) = N(z; m_i, s_i²),   λ_i* = argmax ELBO(x_i; λ_i)
The points do not interact, so all λ_i are optimised at once. q* (optimal_gaussian), the best Gaussian
for each x on the quadrature ELBO, is what lesson 04's encoder is measured against.
"""

import math

import torch
from torch.distributions import Normal

from vaelib import elbo, optim, posterior, validate

_FRACTIONS = (1 / 8, 1 / 4, 1 / 2, 1)  # the starting widths, as fractions of the posterior's std


def fit_per_datapoint(model, x, steps: int = 300, lr: float = 0.05, n_samples: int = 8,
                      m0=None, s0=None, seed: int = 0) -> dict:
    """Maximise the reparameterised ELBO over λ_i = (m_i, log s_i) for every x_i (Adam, the learning
    rate decayed to 0 on a cosine schedule), from (m0, s0), by default _start's best start. Returns
    {"m", "s"} (shape of x) and their paths {"m_path", "s_path"} (steps + 1, *x.shape)."""
    x = validate.tensor("x", x)
    n_samples = validate.positive_int("n_samples", n_samples)
    if m0 is None or s0 is None:
        start_m, start_s = (t.reshape(x.shape) for t in _start(model, x)[2:])
    m0 = start_m if m0 is None else validate.tensor("m0", m0, dtype=x.dtype).expand_as(x)  # x's dtype:
    s0 = start_s if s0 is None else validate.tensor("s0", s0, dtype=x.dtype, positive=True).expand_as(x)
    m = m0.clone().detach().requires_grad_()
    log_s = s0.log().clone().detach().requires_grad_()
    g = torch.Generator().manual_seed(seed)
    objective = lambda: elbo.elbo(model, x, Normal(m, log_s.exp()), n_samples, generator=g).sum()  # noqa: E731
    run = optim.ascend([m, log_s], objective, steps, lr, cosine=True,
                       record=lambda: (m.detach().clone(), log_s.detach().exp()))
    m_path, s_path = (torch.stack(c) for c in zip(*run["path"], strict=True))
    return {"m": m.detach(), "s": log_s.detach().exp(), "m_path": m_path, "s_path": s_path}


def _start(model, x):
    """(grid, log p_θ(x, z_g) (N, G), m0, s0): the trimmed quadrature and, for every x, the best start
    by the exact ELBO among m at 19 posterior quantiles (5%..95%) times s at 1/8, 1/4, 1/2 and 1
    posterior std. A multimodal posterior gives the ELBO several hills: from here gradient ascent
    climbs the highest (from the posterior mean, between two modes, it may climb the wrong one)."""
    grid, log_joint = posterior.quadrature_grid(model, x.reshape(-1))
    dz = (grid[1] - grid[0]).item()
    log_px = torch.logsumexp(log_joint, -1, keepdim=True) + math.log(dz)
    post = posterior.GridDensity(grid, log_joint - log_px)
    levels = torch.linspace(0.05, 0.95, 19, dtype=torch.float64)
    m0 = post.quantile(levels).repeat(1, len(_FRACTIONS))  # (N, 19 · widths)
    widths = post.std[:, None] * torch.tensor(_FRACTIONS, dtype=torch.float64)
    s0 = widths.repeat_interleave(19, 1).clamp(min=3 * dz)
    with torch.no_grad():  # 16 x at a time: every start for every x at once would take ~1 GB
        best = torch.cat([elbo.elbo_from_log_joint(lj[:, None, :], grid, m, s).argmax(-1, keepdim=True)
                          for lj, m, s in zip(log_joint.split(16), m0.split(16), s0.split(16),
                                              strict=True)])
    return grid, log_joint, m0.gather(1, best).squeeze(1), s0.gather(1, best).squeeze(1)


def optimal_gaussian(model, x) -> dict:
    """q*_i = argmax over (m, s) of the exact (quadrature) ELBO, for every x_i: _start's best start
    polished with L-BFGS (float64). Returns {"m", "s", "elbo"}, each of the shape of x."""
    x = validate.tensor("x", x)
    grid, log_joint, m0, s0 = _start(model, x)
    m, log_s = m0.clone().requires_grad_(), s0.log().requires_grad_()
    objective = lambda: elbo.elbo_from_log_joint(log_joint, grid, m, log_s.exp()).sum()  # noqa: E731
    optim.maximise([m, log_s], objective, tolerance_grad=1e-11, tolerance_change=1e-14)
    with torch.no_grad():
        value = elbo.elbo_from_log_joint(log_joint, grid, m, log_s.exp())
    return {"m": m.detach().reshape(x.shape), "s": log_s.detach().exp().reshape(x.shape),
            "elbo": value.reshape(x.shape)}

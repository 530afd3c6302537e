"""Lessons 03-05: the ELBO and the importance-weighted bound L_K, from samples and on a grid.

    log p_θ(x) = ELBO(q) + KL(q(z) ‖ p_θ(z|x)),
    ELBO(q)    = E_q[log p_θ(x, z) - log q(z)] = E_q[log p_θ(x|z)] - KL(q(z) ‖ p_θ(z)).
A model has prior(), likelihood(z) and log_joint(x, z) (lesson 02's 1-D models, lesson 05's VAE); q is
a torch Normal (1-D z, batch shape that of x) or an Independent Normal (one per row of x).
"""

import math

import torch
from torch.distributions import Independent, Normal, kl_divergence

from vaelib import posterior, validate


def _variational(m, s) -> Normal:
    """q_λ(z) = N(z; m, s²), λ = (m, s): the variational family of lessons 03-04."""
    return Normal(validate.tensor("m", m), validate.tensor("s", s, positive=True))


def _q(q):
    return validate.instance("q", q, (Normal, Independent), "a torch.distributions Normal "
                             "(or an Independent Normal)")


def reparameterised_sample(q, n_samples: int = 1, generator=None) -> torch.Tensor:
    """z_l = μ + σ ⊙ ε_l, ε_l ~ N(0, I), l = 1..L (AEVB §2.4's L samples): shape (L, *batch, *event),
    differentiable in q's μ and σ."""
    n_samples = validate.positive_int("n_samples", n_samples)
    mu, sigma = _q(q).mean, q.stddev
    eps = torch.randn((n_samples, *mu.shape), generator=generator, dtype=mu.dtype, device=mu.device)
    return mu + sigma * eps


def elbo(model, x, q, n_samples: int = 1, analytic_kl: bool = True, generator=None,
         z: torch.Tensor | None = None) -> torch.Tensor:
    """The SGVB estimate of the ELBO from L reparameterised draws z_l (or the draws `z` given), one
    value per x, unbiased and differentiable in q's parameters and θ:
        analytic KL:  (1/L) Σ_l log p_θ(x|z_l) - KL(q ‖ p_θ(z))     (AEVB eq. 7; eq. 10 for Gaussians)
        otherwise:    (1/L) Σ_l [log p_θ(x, z_l) - log q(z_l)]      (AEVB eq. 6)"""
    x = validate.tensor("x", x)
    z = reparameterised_sample(q, n_samples, generator) if z is None else z
    if analytic_kl:
        kl = kl_divergence(_q(q), model.prior())
        return model.likelihood(z).log_prob(x).mean(0) - kl
    return (model.log_joint(x, z) - q.log_prob(z)).mean(0)


def iwae_bound(model, x, q, k: int, n_outer: int = 1, generator=None) -> torch.Tensor:
    """The importance-weighted bound (Burda et al. 2015), z_1..z_K ~ q, averaged over n_outer sets:
        L_K = E[log (1/K) Σ_k p_θ(x, z_k) / q(z_k)],   L_1 = ELBO ≤ L_K ≤ L_{K+1} ≤ log p_θ(x)
    in expectation (one estimate can land above log p_θ(x)); L_K -> log p_θ(x) as K -> ∞ when q > 0
    wherever the posterior is and the ELBO is finite, slowly for heavy-tailed weights (further/03b
    proves it, 05c shows it)."""
    k, n_outer = validate.positive_int("k", k), validate.positive_int("n_outer", n_outer)
    x = validate.tensor("x", x)
    z = reparameterised_sample(q, n_outer * k, generator)
    z = z.reshape(n_outer, k, *z.shape[1:])
    log_w = model.log_joint(x, z) - q.log_prob(z)
    return (torch.logsumexp(log_w, dim=1) - math.log(k)).mean(0)


# --- on the grid: the exact values the estimators are checked against (1-D models) ---------------

def elbo_from_log_joint(log_joint, grid, m, s) -> torch.Tensor:
    """ELBO(m, s) = Σ_g w_g log p_θ(x, z_g) + ½ log(2πe s²), w_g ∝ N(z_g; m, s²) normalised on the
    grid, from log p_θ(x, z_g) of shape (..., G); m and s broadcast with its leading dimensions."""
    m, s = validate.tensor("m", m, dtype=grid.dtype), validate.tensor("s", s, dtype=grid.dtype, positive=True)
    w = torch.softmax(-0.5 * ((grid - m.unsqueeze(-1)) / s.unsqueeze(-1)) ** 2, dim=-1)
    return (w * log_joint).sum(-1) + 0.5 * torch.log(2 * math.pi * math.e * s**2)


def elbo_grid(model, x, m, s) -> torch.Tensor:
    """The exact ELBO of q = N(m, s²), ∫ N(z; m, s²) log p_θ(x, z) dz + ½ log(2πe s²), by quadrature
    on model.grid (s >= 2 grid steps): to ~1e-11 while m ± 7s lies on the grid, a tail off it is cut
    off. x, m and s broadcast; differentiable in m, s."""
    grid = posterior.model_grid(model)
    m, s = validate.tensor("m", m, dtype=grid.dtype), validate.tensor("s", s, dtype=grid.dtype, positive=True)
    if (s < 2 * (grid[1] - grid[0])).any():
        raise ValueError(f"s: expected s >= 2 grid steps ({2 * (grid[1] - grid[0]).item():.3g}) "
                         "for the quadrature")
    return elbo_from_log_joint(posterior.log_joint_on_grid(model, x, grid), grid, m, s)


def elbo_surface(model, x: float, m_values, s_values) -> torch.Tensor:
    """The exact ELBO over a whole (m, s) plane for one x: shape (len(m_values), len(s_values))."""
    x = validate.number("x", x)
    m_values = validate.tensor("m_values", m_values, ndim=1, dtype=torch.float64)
    s_values = validate.tensor("s_values", s_values, dtype=torch.float64, positive=True)
    if s_values.dim() != 1:
        raise ValueError(f"s_values: expected a 1-D tensor, got shape {tuple(s_values.shape)}")
    grid, log_joint = posterior.quadrature_grid(model, torch.tensor([x]))
    with torch.no_grad():
        return elbo_from_log_joint(log_joint[0], grid, m_values[:, None], s_values[None, :])


def kl_from_log_posterior(log_posterior, grid, m, s) -> torch.Tensor:
    """KL(q ‖ p) = Σ_g w_g [log q(z_g) - log p(z_g)], w_g ∝ N(z_g; m, s²) normalised on the grid,
    from log p(z_g) of shape (..., G), in the grid's dtype."""
    grid = validate.grid("grid", grid)
    log_posterior = validate.tensor("log_posterior", log_posterior, dtype=grid.dtype)
    if log_posterior.dim() == 0 or log_posterior.shape[-1] != len(grid):
        raise ValueError(f"log_posterior: expected shape (..., {len(grid)}), one value per grid point, "
                         f"got {tuple(log_posterior.shape)}")
    m, s = validate.tensor("m", m, dtype=grid.dtype), validate.tensor("s", s, dtype=grid.dtype, positive=True)
    log_q = Normal(m.unsqueeze(-1), s.unsqueeze(-1)).log_prob(grid)
    return (torch.softmax(log_q, dim=-1) * (log_q - log_posterior)).sum(-1)


def kl_to_posterior_grid(model, x: float, m, s) -> torch.Tensor:
    """KL(q ‖ p_θ(z|x)) = ∫ q(z) [log q(z) - log p_θ(z|x)] dz by quadrature on model.grid (the posterior
    of lesson 02). elbo_grid + this is log p_θ(x) by algebra on one grid: not a check of the identity."""
    x = validate.number("x", x)
    grid = posterior.model_grid(model)
    return kl_from_log_posterior(posterior.posterior(model, x).log_prob(grid), grid, m, s)

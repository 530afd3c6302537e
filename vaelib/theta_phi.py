"""Lesson 04 (and further/04a, 04c): the linear VAE in 1-D that sets θ and φ side by side. θ = (w, b, σ) in
p_θ(z) = N(0, 1), p_θ(x|z) = N(w z + b, σ²); φ = (a, c, s) in q_φ(z|x) = N(a x + c, s²). Its 200 data points,
θ and φ written into a vaelib.linear_vae.LinearVAE(1, 1), φ*(θ) (q_φ = the exact posterior), the mean
log p_θ(x) at a θ, and which of θ and φ each distribution reads. vaelib.dashboards.l04_theta_phi draws it.
"""

import math

import torch

from vaelib import dependency
from vaelib.dependency import DependencyMatrix
from vaelib.joint import LinearGaussianLVM
from vaelib.linear_vae import LinearVAE

_TRUTH = {"w": 1.5, "b": 0.5, "sigma": 0.8}  # θ_true, the member the data are drawn from (prior N(0, 1))
_N_POINTS, _SEED = 200, 4
THETA, PHI = ("w", "b", "sigma"), ("a", "c", "s")
DEFAULTS = {"w": 0.5, "b": 0.0, "sigma": 1.0, "a": 0.2, "c": 0.0, "s": 0.6}  # lesson 04's starting θ and φ


def data_set() -> torch.Tensor:
    """The 200 points x_i drawn from θ_true (_TRUTH), shape (200, 1), float64, seeded."""
    truth = LinearGaussianLVM(0.0, 1.0, *(torch.tensor(_TRUTH[k], dtype=torch.float64) for k in THETA))
    return truth.sample(_N_POINTS, generator=torch.Generator().manual_seed(_SEED))[1][:, None]


def assign(vae: LinearVAE, theta: dict, phi: dict) -> LinearVAE:
    """θ = (w, b, σ) and φ = (a, c, s) into a LinearVAE(1, 1): W = w, μ = b, σ² and V = a, c, v = s²."""
    return vae.assign(W=theta["w"], mu=theta["b"], log_sigma2=2 * math.log(theta["sigma"]),
                      V=phi["a"], c=phi["c"], log_v=2 * math.log(phi["s"]))


def phi_star(vae: LinearVAE) -> dict:
    """φ*(θ) = (a, c, s), the encoder that makes q_φ(z|x) the exact posterior at the vae's θ."""
    best = vae.best_encoder()
    return {"a": best["V"].item(), "c": best["c"].item(), "s": (0.5 * best["log_v"]).exp().item()}


def at_theta(x: torch.Tensor, theta: dict, sign: float = 1.0) -> tuple[float, list[float]]:
    """(mean log p_θ(x) over x, φ*(θ) as [a, c, s]) at θ = (sign · w, b, σ): what the dashboard shows with
    φ = φ*(θ) ticked (lesson 04, further/04c)."""
    vae = LinearVAE(1, 1).assign(W=sign * theta["w"], mu=theta["b"], log_sigma2=2 * math.log(theta["sigma"]))
    with torch.no_grad():
        return vae.marginal().log_prob(x).mean().item(), list(phi_star(vae).values())


def dependencies() -> DependencyMatrix:
    """Lesson 04's dependency matrix, the dashboard's LinearVAE(1, 1) at its defaults (θ = (w, b, σ) as
    W, μ, log σ², φ = (a, c, s) as V, c, log v) at t = -1.3, 0.4, 2.1: does each function of t read each
    component? Rows: log p_θ(z), p_θ(x|z0), p_θ(x), p_θ(z|x0), q_φ(z|x0) (x0 = 0.8, z0 = 0.3); ELBO and
    KL at x = t."""
    vae = assign(LinearVAE(1, 1), DEFAULTS, DEFAULTS)
    x0, z0 = torch.tensor([[0.8]], dtype=torch.float64), torch.tensor([[0.3]], dtype=torch.float64)
    functions = {"p_θ(z)": lambda t: vae.prior().log_prob(t),
                 "p_θ(x|z)": lambda t: vae.likelihood(z0).log_prob(t),
                 "p_θ(x)": lambda t: vae.marginal().log_prob(t),
                 "p_θ(z|x)": lambda t: vae.posterior(x0).log_prob(t),
                 "q_φ(z|x)": lambda t: vae.encoder(x0).log_prob(t),
                 "ELBO(θ, φ)": lambda t: vae.elbo_analytic(t.reshape(1, 1)),
                 "KL(q_φ ‖ p_θ(z|x))": lambda t: vae.kl_to_posterior(t.reshape(1, 1))}
    params = {"w": vae.W, "b": vae.mu, "σ": vae.log_sigma2, "a": vae.V, "c": vae.c, "s": vae.log_v}
    points = torch.tensor([[-1.3], [0.4], [2.1]], dtype=torch.float64)
    return dependency._function_dependencies(functions, params, points)

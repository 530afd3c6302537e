"""Lesson 03: two unbiased estimators of ∇_λ E_q[f(z)], q = N(m, s²), and their variances.

    score function (REINFORCE):  ĝ = f(z) ∇_λ log q_λ(z),  z ~ q           (f need not be differentiable)
    reparameterisation:          ĝ = ∇_λ f(m + s ε),       ε ~ N(0, 1)     (f differentiable in z)
"""

import torch
from torch.distributions import Normal

from vaelib import validate


def _inputs(m, s, n_samples):
    m, s = validate.number("m", m), validate.number("s", s, above=0)
    n_samples = validate.positive_int("n_samples", n_samples)
    full = lambda v: torch.full((n_samples,), v, dtype=torch.float64, requires_grad=True)  # noqa: E731
    return full(m), full(s)


def reparam_gradient(f, m, s, n_samples: int = 1000, generator=None) -> dict:
    """Per-sample reparameterisation gradients: z = m + s ε, ĝ_m = f'(z), ĝ_s = f'(z) ε.
    Returns {"m": (n_samples,), "s": (n_samples,)}; their means are unbiased for ∇_m, ∇_s."""
    m_, s_ = _inputs(m, s, n_samples)
    eps = torch.randn(n_samples, generator=generator, dtype=torch.float64)
    f(m_ + s_ * eps).sum().backward()
    return {"m": m_.grad, "s": s_.grad}


def score_function_gradient(f, m, s, n_samples: int = 1000, generator=None) -> dict:
    """Per-sample score-function gradients, z ~ q:
    ĝ_m = f(z) (z - m)/s², ĝ_s = f(z) ((z - m)² - s²)/s³. Returns {"m", "s"}, each (n_samples,)."""
    m_, s_ = _inputs(m, s, n_samples)
    with torch.no_grad():
        z = m_ + s_ * torch.randn(n_samples, generator=generator, dtype=torch.float64)
        fz = f(z)
    (fz * Normal(m_, s_).log_prob(z)).sum().backward()
    return {"m": m_.grad, "s": s_.grad}


def quadratic_gradient_variances(mu, sigma) -> dict:
    """Closed forms for f(z) = z², q = N(μ, σ²), the gradient in μ (r = μ/σ; lesson 03 writes q's
    mean and standard deviation m, s, since σ is the decoder's noise there):
    reparameterisation Var[2z] = 4σ²; score function Var[z²(z - μ)/σ²] = (μ⁴ + 14μ²σ² + 15σ⁴)/σ²;
    their ratio 15/4 + 3.5 r² + ¼ r⁴, which grows with the fourth power of μ/σ."""
    mu, sigma = validate.number("mu", mu), validate.number("sigma", sigma, above=0)
    reparam = 4 * sigma**2
    score = (mu**4 + 14 * mu**2 * sigma**2 + 15 * sigma**4) / sigma**2
    return {"reparam": reparam, "score": score, "ratio": score / reparam}

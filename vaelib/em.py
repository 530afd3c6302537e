"""Lesson 04: from EM to the VAE on one 1-D model, and Fisher's identity, which links them.

Fisher's identity:   ∇_θ log p_θ(x) = E_{p_θ(z|x)}[∇_θ log p_θ(x, z)].
EM's M-step climbs Q(θ) = E_{p_θold(z|x)}[log p_θ(x, z)]; at θ = θ_old its gradient is, by the
identity, ∇_θ log p_θ(x). That EM never lowers log p_θ(x) is the EM bound, not the identity:
log p_θ(x) - log p_θold(x) ≥ Q(θ) - Q(θ_old), so any θ that raises Q raises the evidence (a few
L-BFGS iterations that raise Q, not its maximum: generalised EM). Three ways to learn θ = f_θ's
weights, each alternating a step on q with a step on θ:
    exact EM        E-step: q_i = p_θ(z|x_i), on the grid (exact)      M-step: raise Q(θ) (L-BFGS)
    variational EM  E-step: q_i = N(m_i, s_i²), the best Gaussian q*   M-step: max (1/N) Σ_i ELBO(θ; λ_i)
    amortized       no E-step: θ and φ in one Adam on the sampled ELBO of q_φ(z|x) (the VAE)
AEVB §2.1: where "the true posterior density p_θ(z|x) ... is intractable (so the EM algorithm
cannot be used)". Here z is one number and the posterior is a grid away, so all three run and
log p_θ(x) is exact (vaelib.posterior) for each.
"""

import time

import torch

from vaelib import elbo, encoder, optim, per_datapoint, posterior, validate
from vaelib.joint import NonlinearLVM

_F64 = torch.float64


def _theta(model) -> dict:
    """θ's components that are being learned (those that require grad: f_θ's weights)."""
    return {k: v for k, v in model.parameters().items() if v.requires_grad}


def fisher_gradient(model, x, grid) -> dict:
    """E_{p_θ(z|x)}[∇_θ log p_θ(x, z)], averaged over x, by quadrature on `grid` (uniform):
    the posterior weights w_g ∝ p_θ(x, z_g) held fixed, then ∇_θ Σ_g w_g log p_θ(x, z_g).
    On the model's own grid this equals ∇_θ log p_θ(x) by algebra; on another grid it is an
    independent route. Returns {component: gradient} for the components that require grad."""
    validate.instance("model", model, NonlinearLVM, "a vaelib.joint.NonlinearLVM")
    x, grid = validate.tensor("x", x, ndim=1, dtype=_F64), validate.grid("grid", grid)
    theta = _theta(model)
    log_joint = posterior.log_joint_on_grid(model, x, grid)
    weights = torch.softmax(log_joint.detach(), -1)
    grads = torch.autograd.grad((weights * log_joint).sum(-1).mean(), list(theta.values()))
    return dict(zip(theta, grads, strict=True))


def _check(model, x, iterations):
    validate.instance("model", model, NonlinearLVM, "a vaelib.joint.NonlinearLVM")
    return validate.tensor("x", x, ndim=1, dtype=_F64), validate.positive_int("iterations", iterations)


def _alternate(model, x, e_step, iterations: int, m_iter: int) -> dict:
    """iterations × (objective = e_step(); raise it over θ with m_iter L-BFGS iterations),
    recording the exact mean log p_θ(x) before each iteration and after the last, and how much each
    M-step raised its objective ("objective_gain": Q(θ_new) - Q(θ_old) for exact EM)."""
    theta, log_px, gain, t0 = list(_theta(model).values()), [], [], time.perf_counter()
    m_iter = validate.positive_int("m_iter", m_iter)
    for _ in range(iterations):
        with torch.no_grad():
            log_px.append(model.log_marginal(x).mean().item())
        objective = e_step()
        with torch.no_grad():
            before = objective().item()
        optim.maximise(theta, objective, m_iter)
        with torch.no_grad():
            gain.append(objective().item() - before)
    with torch.no_grad():
        log_px.append(model.log_marginal(x).mean().item())
    return {"log_px": torch.tensor(log_px, dtype=_F64), "final_log_px": log_px[-1], "iterations": iterations,
            "objective_gain": torch.tensor(gain, dtype=_F64), "seconds": time.perf_counter() - t0}


def exact_em(model, x, iterations: int = 20, m_iter: int = 5) -> dict:
    """Generalised EM: the E-step takes the exact grid posterior p_θold(z_g|x_i) (stride-2
    quadrature); the M-step raises Q(θ) = (1/N) Σ_i Σ_g p_θold(z_g|x_i) log p_θ(x_i, z_g) with m_iter
    L-BFGS iterations. Trains model in place; returns {"log_px": mean log p_θ(x) before each
    iteration and after the last, "final_log_px", "objective_gain": each M-step's Q(θ_new) - Q(θ_old),
    "final_gap": 0 (the next E-step is exact), "iterations", "seconds"}."""
    x, iterations = _check(model, x, iterations)

    def e_step():
        grid, log_joint = posterior.quadrature_grid(model, x, stride=2)
        weights = torch.softmax(log_joint, -1)  # computed without grad: θ_old, held fixed
        return lambda: (weights * posterior.log_joint_on_grid(model, x, grid)).sum(-1).mean()

    return {**_alternate(model, x, e_step, iterations, m_iter), "final_gap": 0.0}


def variational_em(model, x, iterations: int = 20, m_iter: int = 5) -> dict:
    """Variational EM: the E-step fits λ_i = (m_i, s_i), the best Gaussian q*_i for every x_i
    (vaelib.per_datapoint.optimal_gaussian); the M-step maximises the mean exact ELBO(θ; λ_i),
    the λ_i held. Returns exact_em's keys; "final_gap" = "approximation_gap", the mean
    log p_θ(x) - ELBO(q*) at the final θ."""
    x, iterations = _check(model, x, iterations)

    def e_step():
        best = per_datapoint.optimal_gaussian(model, x)
        grid, _ = posterior.quadrature_grid(model, x, stride=2)
        return lambda: elbo.elbo_from_log_joint(posterior.log_joint_on_grid(model, x, grid), grid,
                                                best["m"], best["s"]).mean()

    out = _alternate(model, x, e_step, iterations, m_iter)
    gap = out["final_log_px"] - per_datapoint.optimal_gaussian(model, x)["elbo"].mean().item()
    return {**out, "final_gap": gap, "approximation_gap": gap}


def amortized(model, x, q_phi=None, iterations: int = 20, steps_per_iteration: int = 20,
              lr: float = 0.02, n_samples: int = 8, seed: int = 0) -> dict:
    """The VAE in 1-D: θ and φ (q_phi, default ScalarEncoder(seed=1)) in one Adam on the sampled
    ELBO for iterations × steps_per_iteration steps (vaelib.encoder.train_encoder), log p_θ(x)
    recorded every steps_per_iteration steps. Returns exact_em's keys, "encoder", and the final
    mean gaps by quadrature: "final_gap" = log p_θ(x) - ELBO(q_φ) = "approximation_gap" +
    "amortization_gap"."""
    x, iterations = _check(model, x, iterations)
    q_phi = encoder.ScalarEncoder(seed=1) if q_phi is None else q_phi

    def log_px():
        with torch.no_grad():
            return model.log_marginal(x).mean().item()

    steps = iterations * validate.positive_int("steps_per_iteration", steps_per_iteration)
    t0 = time.perf_counter()
    run = encoder.train_encoder(model, x, q_phi, steps=steps, lr=lr, n_samples=n_samples, train_theta=True,
                                seed=seed, record=log_px, record_every=steps_per_iteration)
    seconds, gap = time.perf_counter() - t0, encoder.gaps(model, x, q_phi)
    mean = {k: v.mean().item() for k, v in gap.items()}
    return {"log_px": torch.tensor(run["path"], dtype=_F64), "final_log_px": mean["log_marginal"],
            "iterations": iterations, "seconds": seconds, "encoder": q_phi,
            "final_gap": mean["log_marginal"] - mean["elbo_encoder"],
            "approximation_gap": mean["approximation"], "amortization_gap": mean["amortization"]}

"""Lesson 04 (further 04a, 04b): EM to the VAE on one 1-D model, and Fisher's identity, which links them.

    Fisher's identity   ∇_θ log p_θ(x) = E_{p_θ(z|x)}[∇_θ log p_θ(x, z)]
    exact EM        E-step: q_i = p_θ(z|x_i), on the grid (exact)      M-step: raise Q(θ) (L-BFGS)
    variational EM  E-step: q_i = N(m_i, s_i²), the best Gaussian q*   M-step: max (1/N) Σ_i ELBO(θ; λ_i)
    amortized       no E-step: θ and φ in one Adam on the sampled ELBO of q_φ(z|x) (the VAE)
Q(θ) = E_{p_θold(z|x)}[log p_θ(x, z)]; a few L-BFGS iterations raise it (generalised EM), and by the EM
bound (04b) the evidence then cannot fall. Here z is one number, so log p_θ(x) is exact for all three.
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
    """E_{p_θ(z|x)}[∇_θ log p_θ(x, z)] averaged over x, by quadrature on `grid`: ∇_θ Σ_g w_g log p_θ(x, z_g)
    with w_g ∝ p_θ(x, z_g) held fixed ({component: gradient} for those that require grad). On the
    model's own grid it equals ∇_θ log p_θ(x) by algebra; another grid is an independent route."""
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


def _alternate(model, x, e_step, iterations: int) -> dict:
    """iterations × (objective = e_step(); 5 L-BFGS iterations on it over θ), recording the mean
    log p_θ(x) before each iteration and after the last, and each M-step's objective gain."""
    theta, log_px, gain, t0 = list(_theta(model).values()), [], [], time.perf_counter()
    for _ in range(iterations):
        with torch.no_grad():
            log_px.append(model.log_marginal(x).mean().item())
        objective = e_step()
        with torch.no_grad():
            before = objective().item()
        optim.maximise(theta, objective, max_iter=5)
        with torch.no_grad():
            gain.append(objective().item() - before)
    with torch.no_grad():
        log_px.append(model.log_marginal(x).mean().item())
    return {"log_px": torch.tensor(log_px, dtype=_F64), "final_log_px": log_px[-1], "iterations": iterations,
            "objective_gain": torch.tensor(gain, dtype=_F64), "seconds": time.perf_counter() - t0}


def exact_em(model, x, iterations: int = 20) -> dict:
    """Generalised EM, model trained in place: E-step, the grid posterior p_θold(z_g|x_i) (stride 2);
    M-step, 5 L-BFGS iterations on Q(θ) = (1/N) Σ_i Σ_g p_θold(z_g|x_i) log p_θ(x_i, z_g).
    Returns {"log_px": mean log p_θ(x) before each iteration and after the last, "final_log_px",
    "objective_gain": each Q(θ_new) - Q(θ_old), "final_gap": 0, "iterations", "seconds"}."""
    x, iterations = _check(model, x, iterations)

    def e_step():
        grid, log_joint = posterior.quadrature_grid(model, x, stride=2)
        weights = torch.softmax(log_joint, -1)  # computed without grad: θ_old, held fixed
        return lambda: (weights * posterior.log_joint_on_grid(model, x, grid)).sum(-1).mean()

    return {**_alternate(model, x, e_step, iterations), "final_gap": 0.0}


def variational_em(model, x, iterations: int = 20) -> dict:
    """Variational EM: E-step, λ_i = q*_i for every x_i (per_datapoint.optimal_gaussian); M-step, the
    mean exact ELBO(θ; λ_i), λ_i held. exact_em's keys; "final_gap" = "approximation_gap", the mean
    log p_θ(x) - ELBO(q*) at the final θ."""
    x, iterations = _check(model, x, iterations)

    def e_step():
        best = per_datapoint.optimal_gaussian(model, x)
        grid, _ = posterior.quadrature_grid(model, x, stride=2)
        return lambda: elbo.elbo_from_log_joint(posterior.log_joint_on_grid(model, x, grid), grid,
                                                best["m"], best["s"]).mean()

    out = _alternate(model, x, e_step, iterations)
    gap = out["final_log_px"] - per_datapoint.optimal_gaussian(model, x)["elbo"].mean().item()
    return {**out, "final_gap": gap, "approximation_gap": gap}


def amortized(model, x, iterations: int = 20, lr: float = 0.02, seed: int = 0) -> dict:
    """The VAE in 1-D: θ and φ (q_φ = ScalarEncoder(seed=1)) in one Adam on the sampled ELBO, 8 draws
    (encoder.train_encoder), iterations × 20 steps, log p_θ(x) recorded every 20. exact_em's keys,
    "encoder", and the final mean gaps: "final_gap" = "approximation_gap" + "amortization_gap"."""
    x, iterations = _check(model, x, iterations)
    q_phi = encoder.ScalarEncoder(seed=1)

    def log_px():
        with torch.no_grad():
            return model.log_marginal(x).mean().item()

    t0 = time.perf_counter()
    run = encoder.train_encoder(model, x, q_phi, steps=iterations * 20, lr=lr, n_samples=8, train_theta=True,
                                seed=seed, record=log_px, record_every=20)
    seconds, gap = time.perf_counter() - t0, encoder.gaps(model, x, q_phi)
    mean = {k: v.mean().item() for k, v in gap.items()}
    return {"log_px": torch.tensor(run["path"], dtype=_F64), "final_log_px": mean["log_marginal"],
            "iterations": iterations, "seconds": seconds, "encoder": q_phi,
            "final_gap": mean["log_marginal"] - mean["elbo_encoder"],
            "approximation_gap": mean["approximation"], "amortization_gap": mean["amortization"]}

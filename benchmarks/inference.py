"""Lessons 03-04 in numbers: the linear VAE's gap to exact pPCA, the approximation and amortization
gaps of the 1-D model, the gradient-variance ratio (score function over reparameterisation), and
exact EM, variational EM and the amortized VAE on one model and data set (lesson 04).

    .venv/bin/python benchmarks/inference.py           a table
    .venv/bin/python benchmarks/inference.py --json    one JSON object; "em_vs_vae" is
        {"exact_em" | "variational_em" | "amortized": {"final_log_px", "iterations", "seconds"}}:
        the final exact mean log p_θ(x) (quadrature), the iterations (EM: an E-step and an L-BFGS
        M-step; amortized: 20 joint Adam steps on θ and φ) and the wall seconds, each method from
        NonlinearLVM(seed=3) on lesson 04's 200 points
"""

import argparse
import json
import time

import torch

from vaelib import data, em, gradients, joint, linear_vae
from vaelib.encoder import gaps, train_encoder
from vaelib.ppca import PPCA


def timed(fn):
    t0 = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t0


def linear_vae_gaps() -> tuple[dict, dict]:
    X = linear_vae.standardise(data.digits("train", view="grey"))
    exact = PPCA.fit(X, 2).log_marginal(X).mean().item()
    analytic, t_a = timed(lambda: linear_vae.fit_linear_vae_analytic(X, q=2))
    sampled, t_s = timed(lambda: linear_vae.fit_linear_vae_sampled(X, q=2))
    with torch.no_grad():
        reached = sampled["vae"].elbo_analytic(X).mean().item()
    return ({"analytic": exact - analytic["elbo_per_image"], "sampled": exact - reached},
            {"linear_vae_analytic": t_a, "linear_vae_sampled": t_s})


def gaps_1d() -> tuple[dict, float]:
    def run():
        model = joint.NonlinearLVM()
        _, x = model.sample(200, generator=torch.Generator().manual_seed(1))
        encoder = train_encoder(model, x, steps=400, lr=0.02)["encoder"]
        return gaps(model, x, encoder)

    gp, seconds = timed(run)
    return {"approximation": gp["approximation"].mean().item(),
            "amortization": gp["amortization"].mean().item(),
            "amortization_max": gp["amortization"].max().item()}, seconds


def em_vs_vae() -> dict:
    """Notebook 04b's comparison: its data and seeds, each method from the same fresh model."""
    _, x = joint.NonlinearLVM().sample(200, generator=torch.Generator().manual_seed(1))
    runs = {name: run(joint.NonlinearLVM(seed=3), x)
            for name, run in (("exact_em", em.exact_em), ("variational_em", em.variational_em),
                              ("amortized", em.amortized))}
    return {name: {k: r[k] for k in ("final_log_px", "iterations", "seconds")} for name, r in runs.items()}


def grad_var_toy(n: int = 400_000) -> dict:
    """f(z) = z², q = N(0, 1), gradient in μ: measured Var_score / Var_reparam (closed form 3.75)."""
    f = lambda z: z**2  # noqa: E731
    rep = gradients.reparam_gradient(f, 0.0, 1.0, n, generator=torch.Generator().manual_seed(1))
    sco = gradients.score_function_gradient(f, 0.0, 1.0, n, generator=torch.Generator().manual_seed(2))
    return {"ratio": (sco["m"].var() / rep["m"].var()).item(),
            "closed_form": gradients.quadratic_gradient_variances(0.0, 1.0)["ratio"]}


def grad_var_trained(points: int = 20, n: int = 20_000) -> float:
    """A 1-D VAE (θ and φ trained together, 600 steps): Var_score / Var_reparam of the gradient of
    E_q[log p_θ(x, z)] in the mean of q = q_φ(z|x), summed over `points` data points."""
    truth = joint.NonlinearLVM()
    _, x = truth.sample(200, generator=torch.Generator().manual_seed(1))
    model = joint.NonlinearLVM(seed=3)
    encoder = train_encoder(model, x, steps=600, lr=0.02, train_theta=True)["encoder"]
    with torch.no_grad():
        q = encoder(x[:points])
    mean, scale = q.loc, q.scale
    var_rep = var_sco = 0.0
    for i in range(points):
        f = lambda z, xi=x[i]: model.log_joint(xi, z)  # noqa: E731
        g = torch.Generator().manual_seed(i)
        var_rep += gradients.reparam_gradient(f, mean[i], scale[i], n, generator=g)["m"].var().item()
        var_sco += gradients.score_function_gradient(f, mean[i], scale[i], n,
                                                     generator=g)["m"].var().item()
    return var_sco / var_rep


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--threads", type=int, default=1,
                        help="torch threads (default 1: these tensors are tiny, and two threads "
                             "that must synchronise are 5-40x slower on a loaded 2-core machine)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    linear, seconds = linear_vae_gaps()
    gaps, seconds["gaps"] = gaps_1d()
    toy, seconds["grad_var_toy"] = timed(grad_var_toy)
    trained, seconds["grad_var_trained_model"] = timed(grad_var_trained)
    methods = em_vs_vae()
    result = {"linear_vae_gap_nats": linear,
              "approximation_gap_nats": gaps["approximation"],
              "amortization_gap_nats": gaps["amortization"],
              "amortization_gap_max_nats": gaps["amortization_max"],
              "grad_var_ratio": {"toy": toy["ratio"], "toy_closed_form": toy["closed_form"],
                                 "trained_model": trained},
              "em_vs_vae": methods,
              "seconds": seconds}
    if args.json:
        print(json.dumps(result))
        return
    rows = [("linear VAE gap, analytic ELBO (nats/image)", linear["analytic"],
             seconds["linear_vae_analytic"]),
            ("linear VAE gap, sampled ELBO, minibatches", linear["sampled"],
             seconds["linear_vae_sampled"]),
            ("approximation gap, mean over 200 x (nats)", gaps["approximation"], seconds["gaps"]),
            ("amortization gap, mean over 200 x (nats)", gaps["amortization"], seconds["gaps"]),
            ("grad variance ratio score/reparam, z², μ=0", toy["ratio"], seconds["grad_var_toy"]),
            ("grad variance ratio, trained 1-D VAE", trained, seconds["grad_var_trained_model"])]
    print(f"{'quantity':<46} {'value':>12} {'seconds':>9}")
    rows += [(f"{name}: final log p_θ(x), {r['iterations']} it.", r["final_log_px"],
              r["seconds"]) for name, r in methods.items()]
    for name, value, sec in rows:
        print(f"{name:<46} {value:>12.6g} {sec:>9.2f}")


if __name__ == "__main__":
    main()

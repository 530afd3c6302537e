"""Lesson 03: log p_θ(x) = ELBO(λ) + KL(q_λ ‖ p_θ(z|x)), live, for one x and q_λ = N(m, s²)."""

import math

import numpy as np
import torch

from vaelib import inference
from vaelib.lvm import NonlinearLVM
from vaelib.widgets import Dashboard, slider

X_OBSERVED = 1.5  # f_θ(z) = 1.5 at three z: the posterior has three bumps, no Gaussian fits it
M_RANGE, S_RANGE = (-3.0, 3.0), (0.1, 2.0)
Z_VIEW = (-4.0, 4.0)


def dashboard(model=None, x: float = X_OBSERVED) -> Dashboard:
    """Sliders m, s. Left: q_λ(z) = N(m, s²) over the exact (grid) posterior p_θ(z|x). Middle: a
    bar ending at log p_θ(x), split at ELBO(λ): blue up to the ELBO, red KL(q ‖ p_θ(z|x)) from
    there to log p_θ(x). Right: the ELBO over the (m, s) plane, the current λ as a dot and the
    best Gaussian λ* (the surface's maximum) as a star."""
    model = NonlinearLVM() if model is None else model
    x = float(x)
    x_t = torch.tensor([x], dtype=torch.float64)
    grid, log_joint = inference.quadrature_grid(model, x_t)
    log_joint = log_joint[0]
    log_px = model.log_marginal(x_t)[0].item()
    log_post = log_joint - log_px  # log p_θ(z_g|x) on the quadrature grid
    zs = torch.linspace(*Z_VIEW, 321, dtype=torch.float64)
    with torch.no_grad():
        posterior = model.posterior(torch.tensor(x)).log_prob(zs).exp().numpy()
    ms = torch.linspace(*M_RANGE, 97, dtype=torch.float64)
    ss = torch.linspace(*S_RANGE, 64, dtype=torch.float64)
    surface = inference.elbo_surface(model, x, ms, ss).T.numpy()  # rows s, columns m
    i, j = divmod(int(surface.argmax()), surface.shape[1])  # λ* to the surface's resolution
    m_star, s_star = ms[j].item(), ss[i].item()
    elbo_low = math.floor(surface.min())
    zs_np, ms_np, ss_np = zs.numpy(), ms.numpy(), ss.numpy()

    grid_np, log_joint_np, log_post_np = grid.numpy(), log_joint.numpy(), log_post.numpy()

    def terms(m, s):
        """ELBO and KL by quadrature, in numpy (a few µs): the same sums as
        inference.elbo_from_log_joint and inference.kl_to_posterior_grid, which the tests check."""
        log_q = -0.5 * ((grid_np - m) / s) ** 2 - math.log(s) - 0.5 * math.log(2 * math.pi)
        w = np.exp(log_q - log_q.max())
        w /= w.sum()
        e = float(w @ log_joint_np) + 0.5 * math.log(2 * math.pi * math.e * s**2)
        kl = float(w @ (log_q - log_post_np))  # KL by its own quadrature, not log p(x) - ELBO
        return e, kl

    def build(fig, m, s):
        left, mid, right = fig.subplots(1, 3, width_ratios=[2.2, 0.8, 2.2])
        left.fill_between(zs_np, posterior, color="0.85", label="posterior p_θ(z|x)")
        left.set(xlim=Z_VIEW, ylim=(0, 1.6), xlabel="z", ylabel="density",
                 title=f"q_λ(z) against p_θ(z|x), x = {x:g}")
        (q_line,) = left.plot([], [], lw=2, color="C1", label="q_λ(z) = N(m, s²)")
        left.legend(loc="upper left", fontsize=8)
        mid.axhline(log_px, color="k", lw=1.5, label="log p_θ(x)")
        mid.set(xlim=(-0.6, 0.6), ylim=(elbo_low, log_px + 0.15 * (log_px - elbo_low)),
                xticks=[], ylabel="nats", title="ELBO (blue) + KL (red)")
        elbo_bar = mid.bar([0], [0], bottom=elbo_low, width=0.7, color="C0", label="ELBO")[0]
        kl_bar = mid.bar([0], [0], width=0.7, color="C3", label="KL")[0]
        mid.text(0, log_px, "log p_θ(x)", ha="center", va="bottom", fontsize=8)
        levels = surface.max() - torch.tensor([8.0, 4, 2, 1, 0.5, 0.25, 0.1, 0.02]).numpy()
        right.contourf(ms_np, ss_np, surface.clip(min=levels[0]), levels=[levels[0] - 1, *levels,
                       surface.max() + 1], cmap="Blues")
        right.plot([m_star], [s_star], "*", ms=12, color="C3", label="λ* (best Gaussian)")
        (marker,) = right.plot([], [], "o", ms=8, color="C1", label="λ = (m, s)")
        right.set(xlim=M_RANGE, ylim=S_RANGE, xlabel="m", ylabel="s", title="ELBO(m, s)")
        right.legend(loc="upper right", fontsize=8)

        def draw(m, s):
            q = np.exp(-0.5 * ((zs_np - m) / s) ** 2) / (s * math.sqrt(2 * math.pi))
            q_line.set_data(zs_np, q)
            e, kl = terms(m, s)
            elbo_bar.set_height(e - elbo_low)  # from the floor up to the ELBO
            kl_bar.set_y(e)
            kl_bar.set_height(kl)  # from the ELBO up to log p(x): the bar always ends there
            marker.set_data([m], [s])
            readout = (f"log p_θ(x) = {log_px:.4f} &nbsp; ELBO(λ) = {e:.4f} &nbsp; "
                       f"KL(q‖p(z|x)) = {kl:.4f} &nbsp; ELBO + KL = {e + kl:.4f}")
            return [q_line, elbo_bar, kl_bar, marker, readout]

        return draw

    controls = {"m": slider(0.0, *M_RANGE, 0.05, "m"), "s": slider(1.0, *S_RANGE, 0.02, "s")}
    return Dashboard(build, controls, figsize=(9.5, 3.0),
                     note="The bar always ends at log p_θ(x) (black line): moving λ only moves "
                          "the split between ELBO (blue) and KL (red).")


DASHBOARDS = {"03 ELBO + KL = log p(x)": dashboard}

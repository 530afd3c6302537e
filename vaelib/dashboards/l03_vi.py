"""Lesson 03: log p_θ(x) = ELBO(λ) + KL(q_λ ‖ p_θ(z|x)), live, for one x and q_λ = N(m, s²)."""

import math

import numpy as np
import torch

from vaelib import elbo, posterior, validate
from vaelib.dashboards.common import depth_levels, normal_pdf
from vaelib.joint import NonlinearLVM
from vaelib.widgets import Dashboard, slider

X_OBSERVED = 1.5  # f_θ(z) = 1.5 at three z: the posterior has three bumps, no Gaussian fits it
M_RANGE, S_RANGE = (-3.0, 3.0), (0.1, 2.0)
Z_VIEW = (-4.0, 4.0)
DEPTHS = (8.0, 4, 2, 1, 0.5, 0.25, 0.1, 0.02)  # ELBO contours, nats below its maximum


class _SplitView:
    """Left: q_λ(z) over the exact (grid) posterior. Middle: a bar ending at log p_θ(x), blue up to
    the ELBO, red KL(q ‖ p_θ(z|x)) from there. Right: the ELBO over the (m, s) plane, λ as a dot
    and the best Gaussian λ* (the surface's maximum) as a star. ELBO and KL each by quadrature,
    each by its own route (the joint; the posterior), so the bar's end checks the identity."""

    def __init__(self, model, x: float):
        self.x = x
        self.grid, log_joint = posterior.quadrature_grid(model, torch.tensor([x]))
        self.log_joint = log_joint[0]
        self.log_px = model.log_marginal(torch.tensor(x)).item()
        self.log_post = posterior.posterior(model, x).log_prob(self.grid)  # log p_θ(z_g|x)
        self.zs = np.linspace(*Z_VIEW, 321)
        with torch.no_grad():
            self.posterior = posterior.posterior(model, x).log_prob(torch.as_tensor(self.zs)).exp().numpy()
        self.ms, self.ss = torch.linspace(*M_RANGE, 97), torch.linspace(*S_RANGE, 64)
        self.surface = elbo.elbo_surface(model, x, self.ms, self.ss).T.numpy()  # rows s, columns m
        i, j = divmod(int(self.surface.argmax()), self.surface.shape[1])  # λ* to the surface's grid
        self.star = (self.ms[j].item(), self.ss[i].item())
        self.floor = math.floor(self.surface.min())

    def terms(self, m: float, s: float) -> tuple[float, float]:
        """(ELBO(λ), KL(q_λ ‖ p_θ(z|x))) by quadrature."""
        with torch.no_grad():
            m_, s_ = torch.tensor(m, dtype=torch.float64), torch.tensor(s, dtype=torch.float64)
            return (elbo.elbo_from_log_joint(self.log_joint, self.grid, m_, s_).item(),
                    elbo.kl_from_log_posterior(self.log_post, self.grid, m_, s_).item())

    def build(self, fig, m, s):
        left, mid, right = fig.subplots(1, 3, width_ratios=[2.2, 0.8, 2.2])
        left.fill_between(self.zs, self.posterior, color="0.85", label="posterior p_θ(z|x)")
        left.set(xlim=Z_VIEW, ylim=(0, 1.6), xlabel="z", ylabel="density",
                 title=f"q_λ(z) against p_θ(z|x), x = {self.x:g}")
        (self.q_line,) = left.plot([], [], lw=2, color="C1", label="q_λ(z) = N(m, s²)")
        left.legend(loc="upper left", fontsize=8)
        self._bar(mid)
        levels = depth_levels(self.surface.max(), DEPTHS)
        right.contourf(self.ms.numpy(), self.ss.numpy(), self.surface.clip(min=levels[0]), levels=levels,
                       cmap="Blues")
        right.plot(*[[v] for v in self.star], "*", ms=12, color="C3", label="λ* (best Gaussian)")
        (self.marker,) = right.plot([], [], "o", ms=8, color="C1", label="λ = (m, s)")
        right.set(xlim=M_RANGE, ylim=S_RANGE, xlabel="m", ylabel="s", title="ELBO(m, s)")
        right.legend(loc="upper right", fontsize=8)
        return self.draw

    def _bar(self, ax):
        ax.axhline(self.log_px, color="k", lw=1.5, label="log p_θ(x)")
        ax.set(xlim=(-0.6, 0.6), ylim=(self.floor, self.log_px + 0.15 * (self.log_px - self.floor)),
               xticks=[], ylabel="nats", title="ELBO (blue) + KL (red)")
        self.elbo_bar = ax.bar([0], [0], bottom=self.floor, width=0.7, color="C0", label="ELBO")[0]
        self.kl_bar = ax.bar([0], [0], width=0.7, color="C3", label="KL")[0]
        ax.text(0, self.log_px, "log p_θ(x)", ha="center", va="bottom", fontsize=8)

    def draw(self, m, s):
        self.q_line.set_data(self.zs, normal_pdf(self.zs, m, s))
        e, kl = self.terms(m, s)
        self.elbo_bar.set_height(e - self.floor)  # from the floor up to the ELBO
        self.kl_bar.set_y(e)
        self.kl_bar.set_height(kl)  # from the ELBO up to log p(x): the bar always ends there
        self.marker.set_data([m], [s])
        readout = (f"log p_θ(x) = {self.log_px:.4f} &nbsp; ELBO(λ) = {e:.4f} &nbsp; "
                   f"KL(q‖p(z|x)) = {kl:.4f} &nbsp; ELBO + KL = {e + kl:.4f}")
        return [self.q_line, self.elbo_bar, self.kl_bar, self.marker, readout]


def dashboard(model=None, x: float = X_OBSERVED) -> Dashboard:
    """Sliders m, s of q_λ over a _SplitView of `model` (default: lesson 02's network model) at x."""
    model = NonlinearLVM() if model is None else model
    view = _SplitView(model, validate.finite_float("x", x))
    controls = {"m": slider(0.0, *M_RANGE, 0.05, "m"), "s": slider(1.0, *S_RANGE, 0.02, "s")}
    return Dashboard(view.build, controls, figsize=(9.5, 3.0),
                     note="The bar always ends at log p_θ(x) (black line): moving λ only moves "
                          "the split between ELBO (blue) and KL (red).")


DASHBOARDS = {"03 ELBO + KL = log p(x)": dashboard}

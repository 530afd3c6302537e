"""Lesson 03: log p_θ(x) = ELBO(λ) + KL(q_λ ‖ p_θ(z|x)), live, for one x and q_λ = N(m, s²)."""

import math

import numpy as np
import torch

from vaelib import elbo, posterior, validate
from vaelib.dashboards import register
from vaelib.dashboards.common import SplitBar, depth_levels, normal_pdf
from vaelib.joint import NonlinearLVM
from vaelib.widgets import Dashboard, slider

X_OBSERVED = 1.5  # f_θ(z) = 1.5 at three z: the posterior has three bumps, no Gaussian fits it
M_RANGE, S_RANGE = (-3.0, 3.0), (0.1, 2.0)
_REACH = 9.0  # the quadrature grid covers m ± 9 s for every slider position (q's mass beyond: 2e-19)
_Z_VIEW = (-4.0, 4.0)
_DEPTHS = (8.0, 4, 2, 1, 0.5, 0.25, 0.1, 0.02)  # ELBO contours, nats below its maximum
ZOOM = 1.5  # the zoomed bar shows the top ZOOM nats below log p_θ(x)


def _q_grid(model) -> torch.Tensor:
    """The model's spacing dz from M_RANGE[0] - _REACH·s_max to M_RANGE[1] + _REACH·s_max: every slider's
    q lies on it (posterior.quadrature_grid, trimmed to the posterior, would miss by up to 0.15 nats)."""
    dz = posterior.model_grid(model).diff()[0].item()
    lo, hi = M_RANGE[0] - _REACH * S_RANGE[1], M_RANGE[1] + _REACH * S_RANGE[1]
    return torch.linspace(lo, hi, int(round((hi - lo) / dz)) + 1, dtype=torch.float64)


class _SplitView:
    """Left: q_λ(z) over the exact (grid) posterior. Middle: a bar ending at log p_θ(x), the ELBO blue,
    KL(q ‖ p_θ(z|x)) red and hatched, and the same bar's top ZOOM nats. Right: the ELBO over the (m, s)
    plane, λ a dot, λ* (its maximum) a star. ELBO (from the joint) and KL (from the posterior) are
    quadratures on one grid covering every slider's q: their sum is log p_θ(x) to its entropy error."""

    def __init__(self, model, x: float):
        self.x, self.grid = x, _q_grid(model)
        with torch.no_grad():
            self.log_px = model.log_marginal(torch.tensor(x)).item()
            self.log_joint = posterior.log_joint_on_grid(model, torch.tensor(x), self.grid)
            self.log_post = posterior.posterior(model, x).log_prob(self.grid)  # log p_θ(z_g|x)
            self.zs = np.linspace(*_Z_VIEW, 321)
            self.posterior = posterior.posterior(model, x).log_prob(torch.as_tensor(self.zs)).exp().numpy()
        self.ms, self.ss = torch.linspace(*M_RANGE, 97), torch.linspace(*S_RANGE, 64)
        self.surface = elbo.elbo_surface(model, x, self.ms, self.ss).T.numpy()  # rows s, columns m
        i, j = divmod(int(self.surface.argmax()), self.surface.shape[1])  # λ* to the surface's grid
        self.star = (self.ms[j].item(), self.ss[i].item())
        self.floor = math.floor(self.surface.min())

    def terms(self, m: float, s: float) -> tuple[float, float]:
        """(ELBO(λ), KL(q_λ ‖ p_θ(z|x))) by quadrature on q_grid."""
        with torch.no_grad():
            return (elbo.elbo_from_log_joint(self.log_joint, self.grid, m, s).item(),
                    elbo.kl_from_log_posterior(self.log_post, self.grid, m, s).item())

    def build(self, fig, m, s):
        left, mid, zoom, right = fig.subplots(1, 4, width_ratios=[2.2, 0.7, 0.7, 2.2])
        left.fill_between(self.zs, self.posterior, color="0.85", label=r"posterior $p_\theta(z \mid x)$")
        left.set(xlim=_Z_VIEW, ylim=(0, 1.6), xlabel="$z$", ylabel="density",
                 title=rf"$q_\lambda(z)$ against $p_\theta(z \mid x)$, $x = {self.x:g}$")
        (self.q_line,) = left.plot([], [], lw=2, color="C1", label=r"$q_\lambda(z) = \mathcal{N}(m, s^2)$")
        left.legend(loc="upper left", fontsize=10)
        self.bars = [self._bar(mid, self.floor, "ELBO (blue)\n+ KL (red, hatched)"),
                     self._bar(zoom, self.log_px - ZOOM, f"zoom:\ntop {ZOOM:g} nats")]
        mid.set_ylabel("nats")
        levels = depth_levels(self.surface.max(), _DEPTHS)
        filled = right.contourf(self.ms.numpy(), self.ss.numpy(), self.surface.clip(min=levels[0]),
                                levels=levels, cmap="Blues")
        top = levels[-1] - 1
        bar = fig.colorbar(filled, ax=right, ticks=[top - d for d in _DEPTHS[:5]],
                           label=r"ELBO − its maximum (nats)")
        bar.ax.set_yticklabels([f"{-d:g}" for d in _DEPTHS[:5]], fontsize=10)
        right.plot(*[[v] for v in self.star], "*", ms=13, color="#bd1f01", mec="w",
                   label=r"$\lambda^*$ (best Gaussian)")
        (self.marker,) = right.plot([], [], "o", ms=8, color="C1", mec="k", label=r"$\lambda = (m, s)$")
        right.set(xlim=M_RANGE, ylim=S_RANGE, xlabel="$m$", ylabel="$s$", title=r"$\mathrm{ELBO}(m, s)$")
        right.legend(loc="upper right", fontsize=10)
        return self.draw

    def _bar(self, ax, bottom: float, title: str) -> SplitBar:
        """A bar from `bottom` up to the ELBO (blue), then the KL (red, hatched) up to log p_θ(x) (black)."""
        ax.axhline(self.log_px, color="k", lw=1.5)
        ax.set(xlim=(-0.6, 0.6), ylim=(bottom, self.log_px + 0.15 * (self.log_px - bottom)), xticks=[])
        ax.set_title(title, fontsize=10)
        ax.text(0, self.log_px, r"$\log p_\theta(x)$", ha="center", va="bottom", fontsize=10)
        return SplitBar(ax, bottom, width=0.7)

    def draw(self, m, s):
        self.q_line.set_data(self.zs, normal_pdf(self.zs, m, s))
        e, kl = self.terms(m, s)
        bars = [a for bar in self.bars for a in bar.draw(e, kl)]  # each clipped at its own floor
        self.marker.set_data([m], [s])
        readout = (f"log p_θ(x) = {self.log_px:.4f} &nbsp; ELBO(λ) = {e:.4f} &nbsp; "
                   f"KL(q‖p(z|x)) = {kl:.4f} &nbsp; ELBO + KL = {e + kl:.4f}")
        return [self.q_line, *bars, self.marker, readout]


@register("03 ELBO + KL = log p(x)")
def dashboard(model=None, x: float = X_OBSERVED) -> Dashboard:
    """Sliders m, s of q_λ over a _SplitView of `model` (default: lesson 02's network model) at x."""
    model = NonlinearLVM() if model is None else model
    view = _SplitView(model, validate.number("x", x))
    controls = {"m": slider(0.0, *M_RANGE, 0.05, "m"), "s": slider(1.0, *S_RANGE, 0.02, "s")}
    return Dashboard(view.build, controls, figsize=(10.5, 3.0),
                     note="The bar always ends at log p_θ(x) (black line): moving λ only moves the split "
                          "between ELBO (blue) and KL (red, hatched). The second bar zooms on its top.")

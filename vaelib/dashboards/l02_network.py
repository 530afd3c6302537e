"""Lesson 02: the network decoder x|z ~ N(f_θ(z), σ²). Sliders for σ (a hyper-parameter of this model,
in θ once learned from data) and the observed x; the network's weights, θ, stay fixed. p_θ(x) and p_θ(z|x) by
quadrature, the posterior over the prior p_θ(z) (dashed)."""

import numpy as np
import torch

from vaelib.dashboards import register
from vaelib.dashboards.common import normal_pdf, positions
from vaelib.joint import NonlinearLVM
from vaelib.widgets import Dashboard, slider

_RANGES = {"sigma": (0.2, 1.0), "x": (-1.0, 3.0)}
_DEFAULTS = {"sigma": 0.5, "x": 1.5}  # the NonlinearLVM() and the x of lesson 02's section 5 (and lesson 03)
Z_LIM, X_LIM = (-5.0, 5.0), (-3.0, 5.5)
_Y_TOP = {"marginal": 0.8, "posterior": 2.4}
_SIGMA_STEP = 0.02
_FINE = torch.linspace(-8, 8, 1601, dtype=torch.float64)  # the posterior's grid, dz = 0.01
_COARSE = torch.linspace(-8, 8, 321, dtype=torch.float64)  # the marginal curve's grid, dz = 0.05


class _Tabulated:
    """f_θ of the default network, computed once on the two grids (the weights do not move here)
    and anywhere else on demand: the dashboard's models then cost no network evaluation."""

    def __init__(self, f):
        self.f = f
        with torch.no_grad():
            self.table = [(_FINE, f(_FINE)), (_COARSE, f(_COARSE))]

    def __call__(self, z):
        for grid, values in self.table:
            if z.shape == grid.shape and torch.equal(z, grid):
                return values
        return self.f(z)


class _NetworkView:
    """f_θ(z) with the band f_θ(z) ± 2σ and the level x; p_θ(x) by quadrature with x marked;
    p_θ(z|x) by quadrature over the prior p_θ(z) = N(0, 1), dashed."""

    def __init__(self):
        self.f = _Tabulated(NonlinearLVM().f)
        self.xs = torch.linspace(*X_LIM, 121, dtype=torch.float64)
        self.shown = torch.zeros_like(_FINE, dtype=torch.bool)  # every 2nd point in the panel
        self.shown[::2] = True
        self.shown &= (_FINE >= Z_LIM[0]) & (_FINE <= Z_LIM[1])
        self.z_np, self.f_np = _FINE[self.shown].numpy(), self.f(_FINE)[self.shown].numpy()
        # p_θ(x) over xs at every position of the σ slider, once (< 1e-6 from the fine grid: tested)
        sigmas = positions(*_RANGES["sigma"], _SIGMA_STEP)
        self.marginals = {round(s, 6): self.marginal_curve(s) for s in sigmas}

    def model(self, sigma, grid):
        return NonlinearLVM(f=self.f, sigma=sigma, grid=grid)

    def marginal_curve(self, sigma) -> np.ndarray:
        with torch.no_grad():
            return self.model(sigma, _COARSE).log_marginal(self.xs).exp().numpy()

    def build(self, fig, sigma, x):
        ax_f, ax_m, ax_p = fig.subplots(1, 3)
        ax_f.plot(self.z_np, self.f_np, color="C0", lw=2,
                  label=r"$f_\theta(z)$ = mean of $p_\theta(x \mid z)$")
        ax_f.set(xlim=Z_LIM, ylim=X_LIM, xlabel="$z$", ylabel="$x$",
                 title=r"decoder $f_\theta(z) \pm 2\sigma$")
        self.band = [ax_f.plot([], [], color="#9ecae1", lw=1)[0] for _ in range(2)]  # lines: cheaper
        (self.level,) = ax_f.plot([], [], color="k", lw=1, ls=":", label="observed $x$")
        ax_m.set(xlim=X_LIM, ylim=(0, _Y_TOP["marginal"]), xlabel="$x$",
                 title=r"marginal $p_\theta(x)$ (quadrature)")
        (self.marginal,) = ax_m.plot([], [], lw=2, color="C0")
        (self.dot,) = ax_m.plot([], [], "o", color="k", ms=5)
        ax_p.set(xlim=Z_LIM, ylim=(0, _Y_TOP["posterior"]), xlabel="$z$",
                 title=r"posterior $p_\theta(z \mid x)$ (quadrature)")
        ax_p.plot(self.z_np, normal_pdf(self.z_np, 0.0, 1.0), "--", color="0.5", lw=1,
                  label=r"prior $p_\theta(z)$")  # N(0, 1): it does not move here
        (self.post,) = ax_p.plot([], [], lw=2, color="C2", label=r"$p_\theta(z \mid x)$")
        ax_f.legend(loc="upper right", fontsize=7)
        ax_p.legend(loc="upper left", fontsize=7)
        return self.draw

    def draw(self, sigma, x):
        m = self.model(sigma, _FINE)
        with torch.no_grad():
            p = m.posterior(torch.tensor(x, dtype=torch.float64))
            px, mean, std = p.log_normaliser.exp().item(), p.mean.item(), p.std.item()
            density = p.density[self.shown].numpy()
        curve = self.marginals.get(round(sigma, 6))
        curve = self.marginal_curve(sigma) if curve is None else curve  # σ off the slider's steps
        self.band[0].set_data(self.z_np, self.f_np - 2 * sigma)
        self.band[1].set_data(self.z_np, self.f_np + 2 * sigma)
        self.level.set_data(Z_LIM, [x, x])
        self.marginal.set_data(self.xs.numpy(), curve)
        self.dot.set_data([x], [px])
        self.post.set_data(self.z_np, density)
        readout = (f"p<sub>θ</sub>(x) at the observed x = {px:.3f} (quadrature, dz = {m.dz:.3f}); "
                   f"posterior mean {mean:.2f}, std {std:.2f}. The network's weights stay fixed; "
                   "σ (a hyper-parameter here) and the data x move")
        return [*self.band, self.level, self.marginal, self.dot, self.post, readout]


@register("02 nonlinear decoder posterior")
def dashboard() -> Dashboard:
    """Sliders σ and x for x|z ~ N(f_θ(z), σ²) with the default network f_θ, over a _NetworkView."""
    controls = {"sigma": slider(_DEFAULTS["sigma"], *_RANGES["sigma"], _SIGMA_STEP, "σ"),
                "x": slider(_DEFAULTS["x"], *_RANGES["x"], 0.05, "x")}
    note = ("θ = (W₁, b₁, W₂, b₂), held fixed here; the prior is AEVB's fixed N(0, 1). σ is a "
            "hyper-parameter of this model (0.5 in the lesson, moved here to see what it does); learned "
            "from data it would join θ.")
    return Dashboard(_NetworkView().build, controls, figsize=(11, 3.2), dpi=72, note=note)

"""Lesson 02: one θ indexes the whole joint p_θ(x, z); prior, likelihood, marginal and posterior
side by side, each panel tagged with the θ components it reads (found by autograd)."""

import numpy as np
import torch

from vaelib.dashboards.common import normal_pdf, positions
from vaelib.dependency import dependency_matrix
from vaelib.joint import LinearGaussianLVM, NonlinearLVM
from vaelib.widgets import Dashboard, slider

# Slider ranges and fixed axes, chosen together: at every slider position each curve's
# mean ± 2 standard deviations lies inside its panel and its peak below the top (tested).
RANGES = {"mu_z": (-1.0, 1.0), "s_z": (0.5, 1.2), "w": (-2.0, 2.0), "b": (-1.0, 1.0),
          "sigma": (0.5, 1.5), "x": (-4.0, 4.0)}
DEFAULTS = {"mu_z": 0.0, "s_z": 1.0, "w": 1.0, "b": 0.0, "sigma": 0.5, "x": 1.5}
SYMBOL = {"mu_z": "μ_z", "s_z": "s_z", "w": "w", "b": "b", "sigma": "σ", "x": "x"}
THETA = ("mu_z", "s_z", "w", "b", "sigma")
Z_LIM, X_LIM = (-9.0, 9.0), (-9.0, 9.0)
Y_TOP = {"prior": 0.85, "likelihood": 0.85, "marginal": 0.85, "posterior": 1.85}
Z_SHOWN = (-1.0, 0.0, 1.0)  # the likelihood panel: p_θ(x|z) over x at these fixed z
PANELS = ("prior", "likelihood", "marginal", "posterior")
TITLES = {"prior": "prior p_θ(z)", "likelihood": "likelihood p_θ(x|z)",
          "marginal": "marginal p_θ(x)", "posterior": "posterior p_θ(z|x)"}
HIGHLIGHT = "C1"


def linear_dependencies():
    """The dependency matrix behind the panel tags, computed (not written) with autograd:
    the θ components of the linear model, plus the observed x (data, not θ)."""
    m = LinearGaussianLVM(**{k: DEFAULTS[k] for k in THETA})
    x0, z0 = torch.tensor(DEFAULTS["x"]), torch.tensor(0.3)
    dists = {"prior": m.prior, "likelihood": lambda: m.likelihood(z0),
             "marginal": m.marginal, "posterior": lambda: m.posterior(x0)}
    return dependency_matrix(dists, {**m.parameters(), "x": x0}, torch.tensor([-1.3, 0.4, 2.1]))


class _LinearView:
    """Prior; likelihood over x at z = -1, 0, 1; marginal with x marked; posterior over the prior.
    Titles list the components each panel reads; an orange bar lights the panels the last-moved
    slider changes (both from the dependency matrix)."""

    def __init__(self):
        self.dm = linear_dependencies()
        self.zs, self.xs = np.linspace(*Z_LIM, 241), np.linspace(*X_LIM, 241)
        self.previous = {}
        self.moves_text = " · ".join(f"<b>{SYMBOL[c]}</b> moves {', '.join(self.dm.moves(c))}"
                                     for c in self.dm.components)

    def build(self, fig, **v):
        axes = dict(zip(PANELS, fig.subplots(1, 4), strict=True))
        for p, ax in axes.items():
            over = "z" if p in ("prior", "posterior") else "x"
            reads = ", ".join(SYMBOL[c] for c in self.dm.reads(p) if c != "x")
            ax.set(xlim=Z_LIM if over == "z" else X_LIM, ylim=(0, Y_TOP[p]), xlabel=over,
                   title=f"{TITLES[p]}\nreads {reads}")
            ax.title.set_fontsize(10)
        axes["prior"].set_ylabel("density")
        self.lines = {p: axes[p].plot([], [], lw=2, color="C0")[0]
                      for p in ("prior", "marginal", "posterior")}
        self.liks = [axes["likelihood"].plot([], [], lw=2, color=c, label=f"z = {z:g}")[0]
                     for z, c in zip(Z_SHOWN, ("C2", "C0", "C3"), strict=True)]
        (self.x_stem,) = axes["marginal"].plot([], [], color="k", lw=1)
        (self.x_dot,) = axes["marginal"].plot([], [], "o", color="k", ms=5, label="observed x")
        (self.ghost,) = axes["posterior"].plot([], [], "--", lw=1, color="0.6", label="prior")
        axes["likelihood"].legend(loc="upper left", fontsize=7, title="p_θ(x|z) at", title_fontsize=7)
        for p in ("marginal", "posterior"):
            axes[p].legend(loc="upper left", fontsize=7)
        self.frames = {p: ax.plot([0, 1], [1, 1], color=HIGHLIGHT, lw=5, transform=ax.transAxes,
                                  clip_on=False, solid_capstyle="butt", animated=True)[0]
                       for p, ax in axes.items()}
        return self.draw

    def draw(self, **v):
        m = LinearGaussianLVM(**{c: v[c] for c in THETA})
        prior, marg, post = m.prior(), m.marginal(), m.posterior(v["x"])
        for p, (d, t) in {"prior": (prior, self.zs), "marginal": (marg, self.xs),
                          "posterior": (post, self.zs)}.items():
            self.lines[p].set_data(t, normal_pdf(t, d.mean.item(), d.stddev.item()))
        self.ghost.set_data(self.zs, self.lines["prior"].get_ydata())
        for line, z in zip(self.liks, Z_SHOWN, strict=True):
            line.set_data(self.xs, normal_pdf(self.xs, v["w"] * z + v["b"], v["sigma"]))
        log_px = marg.log_prob(torch.tensor(v["x"])).item()
        px = np.exp(log_px)
        self.x_stem.set_data([v["x"], v["x"]], [0, px])
        self.x_dot.set_data([v["x"]], [px])
        numbers = (f"p_θ(x) = N({marg.mean.item():.2f}, {marg.stddev.item():.2f}²) gives log p_θ(x) = "
                   f"{log_px:.2f}; posterior N({post.mean.item():.2f}, {post.stddev.item():.2f}²)")
        return [*self._lit(v), *self.lines.values(), *self.liks, self.x_stem, self.x_dot, self.ghost,
                self.moves_text, numbers]

    def _lit(self, v) -> list:
        """The orange bars over the panels that the sliders changed since the last draw move."""
        changed = [c for c in v if c in self.previous and v[c] != self.previous[c]]
        self.previous.update(v)
        return [self.frames[p] for p in PANELS if any(p in self.dm.moves(c) for c in changed)]


def linear_dashboard() -> Dashboard:
    """A slider for every θ component of the linear-Gaussian model and for x, over a _LinearView."""
    controls = {c: slider(DEFAULTS[c], *RANGES[c], 0.05, SYMBOL[c]) for c in RANGES}
    note = ("θ = (μ_z, s_z, w, b, σ) indexes ONE joint p_θ(x, z) = p_θ(z) p_θ(x|z). "
            "Orange bars: the panels the slider you moved changes (from the dependency matrix).")
    return Dashboard(_LinearView().build, controls, figsize=(12, 3.1), dpi=72, note=note)


# ---------------------------------------------------------------------------------------------
# The nonlinear decoder: σ and x; the posterior by quadrature, next to a Gaussian of equal moments

NL_RANGES = {"sigma": (0.2, 1.0), "x": (-1.0, 3.0)}
NL_DEFAULTS = {"sigma": 0.3, "x": 1.2}
NL_Z, NL_X = (-5.0, 5.0), (-3.0, 5.5)
NL_Y_TOP = {"marginal": 0.8, "posterior": 2.4}
NL_SIGMA_STEP = 0.02
FINE = torch.linspace(-8, 8, 1601, dtype=torch.float64)  # the posterior's grid, dz = 0.01
COARSE = torch.linspace(-8, 8, 321, dtype=torch.float64)  # the marginal curve's grid, dz = 0.05


class _Tabulated:
    """f_θ of the default network, computed once on the two grids (θ does not move here) and
    anywhere else on demand: the dashboard's models then cost no network evaluation."""

    def __init__(self, f):
        self.f = f
        with torch.no_grad():
            self.table = [(FINE, f(FINE)), (COARSE, f(COARSE))]

    def __call__(self, z):
        for grid, values in self.table:
            if z.shape == grid.shape and torch.equal(z, grid):
                return values
        return self.f(z)


class _NonlinearView:
    """f_θ(z) with the band f_θ(z) ± 2σ and the level x; p_θ(x) by quadrature with x marked;
    p_θ(z|x) by quadrature next to the Gaussian with the same mean and variance."""

    def __init__(self):
        self.f = _Tabulated(NonlinearLVM().f)
        self.xs = torch.linspace(*NL_X, 121, dtype=torch.float64)
        self.shown = torch.zeros_like(FINE, dtype=torch.bool)  # every 2nd point in the panel
        self.shown[::2] = True
        self.shown &= (FINE >= NL_Z[0]) & (FINE <= NL_Z[1])
        self.z_np, self.f_np = FINE[self.shown].numpy(), self.f(FINE)[self.shown].numpy()
        # p_θ(x) over xs at every position of the σ slider, once (< 1e-6 from the fine grid: tested)
        sigmas = positions(*NL_RANGES["sigma"], NL_SIGMA_STEP)
        self.marginals = {round(s, 6): self.marginal_curve(s) for s in sigmas}

    def model(self, sigma, grid):
        return NonlinearLVM(f=self.f, sigma=sigma, grid=grid)

    def marginal_curve(self, sigma) -> np.ndarray:
        with torch.no_grad():
            return self.model(sigma, COARSE).log_marginal(self.xs).exp().numpy()

    def build(self, fig, sigma, x):
        ax_f, ax_m, ax_p = fig.subplots(1, 3)
        ax_f.plot(self.z_np, self.f_np, color="C0", lw=2, label="f_θ(z) = mean of p_θ(x|z)")
        ax_f.set(xlim=NL_Z, ylim=NL_X, xlabel="z", ylabel="x", title="decoder f_θ(z) ± 2σ")
        self.band = [ax_f.plot([], [], color="#9ecae1", lw=1)[0] for _ in range(2)]  # lines: cheaper
        (self.level,) = ax_f.plot([], [], color="k", lw=1, label="observed x")
        ax_m.set(xlim=NL_X, ylim=(0, NL_Y_TOP["marginal"]), xlabel="x",
                 title="marginal p_θ(x) (quadrature)")
        (self.marginal,) = ax_m.plot([], [], lw=2, color="C0")
        (self.dot,) = ax_m.plot([], [], "o", color="k", ms=5)
        ax_p.set(xlim=NL_Z, ylim=(0, NL_Y_TOP["posterior"]), xlabel="z",
                 title="posterior p_θ(z|x) (quadrature)")
        (self.gauss,) = ax_p.plot([], [], color="0.6", lw=1, label="Gaussian, same mean, var")
        (self.post,) = ax_p.plot([], [], lw=2, color="C3", label="p_θ(z|x)")
        ax_f.legend(loc="upper right", fontsize=7)
        ax_p.legend(loc="upper left", fontsize=7)
        return self.draw

    def draw(self, sigma, x):
        m = self.model(sigma, FINE)
        with torch.no_grad():
            p = m.posterior(torch.tensor(x, dtype=torch.float64))
            px, mean, std = p.log_normaliser.exp().item(), p.mean.item(), p.std.item()
            density = p.density[self.shown].numpy()
        key = round(sigma, 6)
        curve = self.marginals.get(key)
        curve = self.marginal_curve(sigma) if curve is None else curve  # σ off the slider's steps
        self.band[0].set_data(self.z_np, self.f_np - 2 * sigma)
        self.band[1].set_data(self.z_np, self.f_np + 2 * sigma)
        self.level.set_data(NL_Z, [x, x])
        self.marginal.set_data(self.xs.numpy(), curve)
        self.dot.set_data([x], [px])
        self.post.set_data(self.z_np, density)
        self.gauss.set_data(self.z_np, normal_pdf(self.z_np, mean, std))
        readout = (f"p_θ(x) = {px:.3f} (quadrature, dz = {m.dz:.3f}); posterior mean {mean:.2f}, "
                   f"std {std:.2f}; θ (the network's weights) is fixed: σ and x move only")
        return [*self.band, self.level, self.marginal, self.dot, self.gauss, self.post, readout]


def nonlinear_dashboard() -> Dashboard:
    """Sliders σ and x for x|z ~ N(f_θ(z), σ²) with the default network f_θ, over a _NonlinearView."""
    controls = {"sigma": slider(NL_DEFAULTS["sigma"], *NL_RANGES["sigma"], NL_SIGMA_STEP, "σ"),
                "x": slider(NL_DEFAULTS["x"], *NL_RANGES["x"], 0.05, "x")}
    return Dashboard(_NonlinearView().build, controls, figsize=(11, 3.2), dpi=72)


DASHBOARDS = {"02 linear-Gaussian LVM": linear_dashboard,
              "02 nonlinear decoder posterior": nonlinear_dashboard}

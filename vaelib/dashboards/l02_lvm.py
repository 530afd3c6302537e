"""Lesson 02: one θ picks the whole joint p_θ(x, z); prior, likelihood, joint, marginal and
posterior side by side, each panel tagged with the θ components it reads (found by autograd)."""

import functools

import numpy as np
import torch

from vaelib.dashboards import register
from vaelib.dashboards.common import normal_pdf
from vaelib.dependency import dependency_matrix
from vaelib.joint import LinearGaussianLVM
from vaelib.widgets import Dashboard, slider

# Slider ranges and fixed axes, chosen together: at every slider position each curve's
# mean ± 2 standard deviations lies inside its panel and its peak below the top (tested).
_RANGES = {"mu_z": (-1.0, 1.0), "s_z": (0.5, 1.2), "w": (-2.0, 2.0), "b": (-1.0, 1.0),
          "sigma": (0.5, 1.5), "x": (-4.0, 4.0)}
# The dashboard opens at the θ and x of the lesson's section 1: θ = (0.5, 1.2, 1.5, -0.3, 0.7), x = 1.
DEFAULTS = {"mu_z": 0.5, "s_z": 1.2, "w": 1.5, "b": -0.3, "sigma": 0.7, "x": 1.0}
_SYMBOL = {"mu_z": "μ_z", "s_z": "s_z", "w": "w", "b": "b", "sigma": "σ", "x": "x"}  # sliders, titles
_HTML_SYMBOL = {**_SYMBOL, "mu_z": "μ<sub>z</sub>", "s_z": "s<sub>z</sub>"}  # the line under the sliders
THETA = ("mu_z", "s_z", "w", "b", "sigma")
Z_LIM, X_LIM = (-9.0, 9.0), (-9.0, 9.0)
_Y_TOP = {"prior": 0.85, "likelihood": 0.85, "marginal": 0.85, "posterior": 1.85}
Z_SHOWN = (-1.0, 0.0, 1.0)  # the likelihood panel: p_θ(x|z) over x at these fixed z
PANELS = ("prior", "likelihood", "joint", "marginal", "posterior")
_TITLES = {"prior": r"prior $p_\theta(z)$", "likelihood": r"likelihood $p_\theta(x \mid z)$",
          "joint": r"joint $p_\theta(x, z)$", "marginal": r"marginal $p_\theta(x)$",
          "posterior": r"posterior $p_\theta(z \mid x)$"}
_HIGHLIGHT = "C1"
_POINTS = torch.tensor([-1.3, 0.4, 2.1])  # where each log-density's gradient is read
_JOINT_POINTS = torch.tensor([[1.1, 0.3], [-0.7, 1.4], [2.0, -0.5]])  # rows (x, z)


class _Joint:
    """p_θ(x, z) as a distribution over t = (x, z): what dependency_matrix needs."""

    def __init__(self, model):
        self.model = model

    def log_prob(self, t):
        return self.model.log_joint(t[..., 0], t[..., 1])


def linear_dependencies(values: dict | None = None):
    """The dependency matrix behind the panel tags and orange bars, by autograd at the θ and x of `values`
    (default: DEFAULTS), over θ's components and x. Local: at w = 0 some gradients vanish (ex. 1)."""
    unknown = sorted(set(values or {}) - set(_RANGES))
    if unknown:
        raise ValueError(f"values: expected keys among {list(_RANGES)}, got {unknown}")
    v = {**DEFAULTS, **(values or {})}
    m = LinearGaussianLVM(**{k: float(v[k]) for k in THETA})
    x0, z0 = torch.tensor(float(v["x"])), torch.tensor(0.3)
    dists = {"prior": m.prior, "likelihood": lambda: m.likelihood(z0), "joint": lambda: _Joint(m),
             "marginal": m.marginal, "posterior": lambda: m.posterior(x0)}
    points = {**dict.fromkeys(dists, _POINTS), "joint": _JOINT_POINTS}
    return dependency_matrix(dists, {**m.parameters(), "x": x0}, points, tol=1e-9)


def _dependencies_at(values: tuple):
    """linear_dependencies at one slider position (a tuple in _RANGES' order): away from w = 0 every
    position has the defaults' pattern (tested), so autograd runs only at w = 0, once per position."""
    return _computed_at(values) if values[list(_RANGES).index("w")] == 0 else _computed_at(None)


@functools.lru_cache(maxsize=4096)
def _computed_at(values: tuple | None):
    return linear_dependencies(None if values is None else dict(zip(_RANGES, values, strict=True)))


def _moves_text(dm) -> str:
    return " · ".join(f"<b>{_HTML_SYMBOL[c]}</b> moves {', '.join(dm.moves(c)) or 'nothing'}"
                      for c in dm.components)


class _LinearView:
    """Prior; likelihood over x at z = -1, 0, 1; the joint, sliced at x; marginal; posterior over the
    prior. Titles: the components each panel reads at the default θ; orange bars: the panels the last
    move changes, by the dependency matrix at the θ before and after it."""

    def __init__(self):
        self.dm = linear_dependencies()
        self.zs, self.xs = np.linspace(*Z_LIM, 241), np.linspace(*X_LIM, 241)
        self.jz, self.jx = np.meshgrid(np.linspace(*Z_LIM, 61), np.linspace(*X_LIM, 61))  # 0.3 apart
        self.previous, self.dm_previous = {}, self.dm

    def build(self, fig, **v):
        axes = dict(zip(PANELS, fig.subplots(1, 5), strict=True))
        for p, ax in axes.items():
            over = "z" if p in ("prior", "posterior", "joint") else "x"
            reads = ", ".join(_SYMBOL[c] for c in self.dm.reads(p) if c != "x")
            ax.set(xlim=Z_LIM if over == "z" else X_LIM, ylim=(0, _Y_TOP.get(p, 1)), xlabel=f"${over}$",
                   title=f"{_TITLES[p]}\nreads {reads}")
            ax.title.set_fontsize(10)
        axes["prior"].set_ylabel("density")
        axes["joint"].set(ylim=X_LIM, ylabel="$x$", xlabel=r"$z$   (line: the observed $x$)")
        self.joint = axes["joint"].imshow(np.zeros_like(self.jz), origin="lower", extent=(*Z_LIM, *X_LIM),
                                          aspect="auto", cmap="Blues", interpolation="nearest")
        self.slice = axes["joint"].axhline(0, color="k", lw=1)  # along it p_θ(x, z) ∝ p_θ(z|x)
        self.lines = {p: axes[p].plot([], [], lw=2, color="C0")[0]
                      for p in ("prior", "marginal", "posterior")}
        self.liks = [axes["likelihood"].plot([], [], lw=2, color=c, ls=ls, label=f"$z = {z:g}$")[0]
                     for z, c, ls in zip(Z_SHOWN, ("C4", "C0", "C2"), ("--", "-", ":"), strict=True)]
        self.x_on_lik = axes["likelihood"].axvline(0, color="k", lw=1, label="observed $x$")
        (self.x_stem,) = axes["marginal"].plot([], [], color="k", lw=1)
        (self.x_dot,) = axes["marginal"].plot([], [], "o", color="k", ms=5, label="observed $x$")
        (self.ghost,) = axes["posterior"].plot([], [], "--", lw=1, color="0.6", label="prior")
        axes["likelihood"].legend(loc="upper left", fontsize=7, title=r"$p_\theta(x \mid z)$ at",
                                  title_fontsize=7)
        for p in ("marginal", "posterior"):
            axes[p].legend(loc="upper left", fontsize=7)
        self.frames = {p: ax.plot([0, 1], [1, 1], color=_HIGHLIGHT, lw=5, transform=ax.transAxes,
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
        joint = (normal_pdf(self.jz, v["mu_z"], v["s_z"])  # p_θ(z) p_θ(x|z) on the (z, x) grid
                 * normal_pdf(self.jx, v["w"] * self.jz + v["b"], v["sigma"]))
        self.joint.set_data(joint)
        self.joint.set_clim(0, joint.max())
        log_px = marg.log_prob(torch.tensor(v["x"])).item()
        px = np.exp(log_px)
        self.x_on_lik.set_xdata([v["x"], v["x"]])
        self.slice.set_ydata([v["x"], v["x"]])
        self.x_stem.set_data([v["x"], v["x"]], [0, px])
        self.x_dot.set_data([v["x"]], [px])
        lit, dm = self._lit(v)
        numbers = (f"p<sub>θ</sub>(x) = N({marg.mean.item():.2f}, {marg.stddev.item():.2f}²); "
                   f"log p<sub>θ</sub>(x) at the observed x = {log_px:.2f}; posterior "
                   f"N({post.mean.item():.2f}, {post.stddev.item():.2f}²)")
        return [*lit, *self.lines.values(), *self.liks, self.joint, self.x_on_lik, self.slice,
                self.x_stem, self.x_dot, self.ghost, "At this θ: " + _moves_text(dm), numbers]

    def _lit(self, v) -> tuple[list, object]:
        """The orange bars over the panels that the sliders changed since the last draw: those
        the matrix at the θ before or after the move says the changed component moves."""
        dm = _dependencies_at(tuple(round(float(v[c]), 9) for c in _RANGES))
        changed = [c for c in v if c in self.previous and v[c] != self.previous[c]]
        bars = [self.frames[p] for p in PANELS
                if any(p in self.dm_previous.moves(c) or p in dm.moves(c) for c in changed)]
        self.previous.update(v)
        self.dm_previous = dm
        return bars, dm


@register("02 linear-Gaussian LVM")
def linear_dashboard() -> Dashboard:
    """A slider for every θ component of the linear-Gaussian model and for x, over a _LinearView."""
    controls = {c: slider(DEFAULTS[c], *_RANGES[c], 0.05, _SYMBOL[c]) for c in _RANGES}
    note = ("Each value of θ = (μ<sub>z</sub>, s<sub>z</sub>, w, b, σ) picks ONE joint "
            "p<sub>θ</sub>(x, z) = p<sub>θ</sub>(z) p<sub>θ</sub>(x | z); the other panels are computed "
            "from it. Titles: what each panel reads at the θ it opens with. Orange bars and the line "
            "above: the panels the slider you moved changes, from the dependency matrix at the θ on the "
            "sliders.")
    return Dashboard(_LinearView().build, controls, figsize=(14, 3.1), dpi=72, note=note)

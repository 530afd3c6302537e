"""Lesson 04: θ and φ side by side. θ = (w, b, σ) can move the total mean log p_θ(x); φ = (a, c, s) never
can: it moves only the split into the mean ELBO and the mean KL(q_φ(z|x) ‖ p_θ(z|x)). The model is the
linear VAE with d = q = 1 of vaelib.theta_phi, q_φ(z|x) = N(a x + c, s²), on its 200 points drawn from θ_true;
every number in closed form (the total, the ELBO and the KL by three different formulas).
"""

import math

import ipywidgets as W
import numpy as np
import torch
import traitlets
from matplotlib.collections import LineCollection

from vaelib import theta_phi, validate
from vaelib.dashboards import register
from vaelib.dashboards.common import SplitBar, normal_pdf
from vaelib.linear_vae import LinearVAE, ml_theta_1d
from vaelib.theta_phi import DEFAULTS, PHI, THETA, data_set
from vaelib.widgets import Dashboard, slider

_RANGES = {"w": (-2.5, 2.5, 0.05), "b": (-2.0, 2.0, 0.05), "sigma": (0.2, 2.5, 0.05),
          "a": (-2.0, 2.0, 0.02), "c": (-2.0, 2.0, 0.02), "s": (0.05, 1.5, 0.01)}
_SYMBOL = {"w": "w", "b": "b", "sigma": "σ", "a": "a", "c": "c", "s": "s"}
_X_VIEW, _Z_VIEW, _DENSITY_TOP = (-5.0, 6.0), (-3.5, 3.5), 1.8
_MARKED = (0.1, 0.5, 0.9)  # the three data points shown in the middle panel: these quantiles of x
_DEPTH = 6.0  # the bar shows the _DEPTH nats below the best total; lower values are marked ▼ at its floor
_OVERRIDES = {"phi_star": ("a", "c", "s"), "theta_ml": ("b",)}  # the sliders a ticked toggle sets
_TOGGLES = {"phi_star": "φ = φ*(θ)", "theta_ml": "θ = θ_ML"}


class _Toggle(W.Checkbox):
    """A checkbox that also reads as a two-position control (min 0, max 1, step 1) and takes 0/1 or a
    bool, so code that moves controls at random (harness.dashboards) can set it."""

    min, max, step = 0, 1, 1
    value = traitlets.CBool(False).tag(sync=True)

    def __init__(self, description: str):
        super().__init__(value=False, description=description, indent=False, layout=W.Layout(width="auto"))


class _SplitView:
    """Left: the data and p_θ(x). Middle: p_θ(z|x_i) (solid), q_φ(z|x_i) (dashed) at three x_i. Right:
    the SplitBar of the means, the best total over θ dotted. The readout: the numbers, what the last
    move changed."""

    def __init__(self, x: torch.Tensor):
        self.x, self.vae = x, LinearVAE(1, 1)
        order = x[:, 0].argsort()
        self.marked = x[order[[round(q * (len(x) - 1)) for q in _MARKED]]]  # (3, 1)
        self.xs, self.zs = np.linspace(*_X_VIEW, 221), np.linspace(*_Z_VIEW, 181)
        self.best = -0.5 * math.log(2 * math.pi * math.e * x.var(correction=0).item())  # max over θ
        self.floor = self.best - _DEPTH
        self.previous, self.message = None, "move a slider: θ = (w, b, σ) or φ = (a, c, s)"

    def effective(self, phi_star=False, theta_ml=False, **v) -> tuple[dict, dict]:
        """The θ and φ in force, set into the LinearVAE: the sliders', or θ_ML and φ*(θ)."""
        theta = ml_theta_1d(self.x, v["w"], v["sigma"]) if theta_ml else {k: v[k] for k in THETA}
        phi = {k: v[k] for k in PHI}
        theta_phi.assign(self.vae, theta, phi)
        if phi_star:
            phi = theta_phi.phi_star(self.vae)
            theta_phi.assign(self.vae, theta, phi)
        return theta, phi

    def terms(self) -> dict:
        """Mean log p_θ(x), mean ELBO and mean KL(q_φ ‖ p_θ(z|x)) over the data, each by its own
        closed form, and the marked points' posterior means and standard deviations."""
        with torch.no_grad():
            post = self.vae.posterior(self.marked)
            return {"total": self.vae.marginal().log_prob(self.x).mean().item(),
                    "elbo": self.vae.elbo_analytic(self.x).mean().item(),
                    "kl": self.vae.kl_to_posterior(self.x).mean().item(),
                    "post_mean": post.mean[:, 0].numpy(),
                    "post_std": post.covariance_matrix[:, 0, 0].sqrt().numpy()}

    def build(self, fig, **v):
        left, mid, right = fig.subplots(1, 3, width_ratios=[2.0, 2.0, 1.5])
        left.hist(self.x[:, 0].numpy(), bins=30, density=True, color="0.85", label="data (200 $x_i$)")
        (self.marginal_line,) = left.plot([], [], color="k", lw=2, label=r"$p_\theta(x)$")
        for i, (xi, mark) in enumerate(zip(self.marked[:, 0].tolist(), "^so", strict=True)):
            left.plot([xi], [0.0], mark, ms=9, color=f"C{i}", clip_on=False)  # marker and colour both
            mid.plot([], [], color=f"C{i}", marker=mark, label=f"$x = {xi:.2f}$")
        left.set(xlim=_X_VIEW, ylim=(0, 0.45), xlabel="$x$", ylabel="density",
                 title=r"data and $p_\theta(x)$")
        colours = [f"C{i}" for i in range(3)]  # one collection per kind: one draw call, not three
        self.posterior_lines = mid.add_collection(LineCollection([], colors=colours, lw=3, alpha=0.45))
        self.q_lines = mid.add_collection(LineCollection([], colors=colours, lw=1.5, linestyles="--"))
        mid.set(xlim=_Z_VIEW, ylim=(0, _DENSITY_TOP), xlabel="$z$",
                title=r"$p_\theta(z \mid x_i)$ solid, $q_\phi(z \mid x_i)$ dashed")
        for ax in (left, mid):
            ax.legend(loc="upper left", fontsize=10)
        self._bar(right)
        return self.draw

    def _bar(self, ax):
        ax.axhline(self.best, color="k", ls=":", lw=1, label="max over θ")
        ax.set(xlim=(-0.45, 1.55), ylim=(self.floor, self.best + 0.5), xticks=[], ylabel="nats per point",
               title="the split, per point")
        self.bar = SplitBar(ax, self.floor, 0.6, ("mean ELBO", "mean KL", r"mean $\log p_\theta(x)$"))
        self.bar.kl.set_color("#bd1f01")  # the KL to the posterior in red (petroff10's), as lesson 04 says
        ax.legend(loc="lower right", fontsize=10, framealpha=1)

    def draw(self, **v):
        theta, phi = self.effective(**v)
        t = self.terms()
        marginal_std = math.hypot(theta["w"], theta["sigma"])  # p_θ(x) = N(b, w² + σ²)
        self.marginal_line.set_data(self.xs, normal_pdf(self.xs, theta["b"], marginal_std))
        zs, marked = self.zs[None, :], self.marked.numpy()
        post = normal_pdf(zs, t["post_mean"][:, None], t["post_std"][:, None])
        q = normal_pdf(zs, phi["a"] * marked + phi["c"], phi["s"])
        self.posterior_lines.set_segments([np.column_stack([self.zs, p]) for p in post])
        self.q_lines.set_segments([np.column_stack([self.zs, d]) for d in q])
        return [self.marginal_line, self.posterior_lines, self.q_lines, *self.bar.draw(t["elbo"], t["kl"]),
                self._numbers(theta, phi, t, v), self._what_changed({**theta, **phi, **t}, v)]

    def _numbers(self, theta, phi, t, v) -> str:
        said = [f"mean log p_θ(x) = {t['total']:.4f} = mean ELBO {t['elbo']:.4f} + mean KL {t['kl']:.4f}"]
        below = " and ".join(f"the mean {k}" for k, key in (("ELBO", "elbo"), ("log p_θ(x)", "total"))
                             if t[key] < self.floor)
        said += [f"(▼ {below} below the panel's floor)"] * bool(below)
        said += ["θ_ML = (w, b, σ) = ({w:.3f}, {b:.3f}, {sigma:.3f}): b = mean(x), and (w, σ) rescaled onto "
                 "w² + σ² = var(x) in the direction the w and σ sliders point, while ticked"
                 .format(**theta)] * bool(v.get("theta_ml"))
        said += ["φ*(θ) = (a, c, s) = ({a:.3f}, {c:.3f}, {s:.3f}): a, c, s are set by φ*(θ) while "
                 "ticked".format(**phi)] * bool(v.get("phi_star"))
        return " &nbsp; ".join(said)

    def _what_changed(self, now: dict, v: dict) -> str:
        """What the last move of a control changed: the total, only the split, or nothing."""
        before, self.previous = self.previous, (now, dict(v))
        touched = [k for k in v if before is not None and v[k] != before[1][k]]
        if not touched:
            return self.message
        moved = [k for k in THETA + PHI if abs(now[k] - before[0][k]) > 1e-12]
        d = {k: now[k] - before[0][k] for k in ("total", "elbo", "kl")}
        names = [f"{group} ({', '.join(_SYMBOL[k] for k in moved if k in keys)})"
                 for group, keys in (("θ", THETA), ("φ", PHI)) if set(moved) & set(keys)]
        names += [f"{_TOGGLES[k]} {'ticked' if v[k] else 'unticked'}" for k in _TOGGLES if k in touched]
        names = names or [", ".join(_SYMBOL[k] for k in touched)]  # a slider a ticked toggle overrides
        self.message = f"<b>last move: {'; '.join(names)}</b> " + _effect(moved, d, touched, v)
        return self.message


def _effect(moved: list, d: dict, touched: list, v: dict) -> str:
    """The readout's verdict on one move: d holds the changes of the total, the ELBO and the KL."""
    held = {t: [_SYMBOL[k] for k in keys if k in touched] for t, keys in _OVERRIDES.items() if v.get(t)}
    if not moved:
        return "no change" + "".join(f": {', '.join(h)} {'is' if len(h) == 1 else 'are'} set by "
                                     f"{_TOGGLES[t]} "
                                     "while ticked" for t, h in held.items() if h)
    if abs(d["total"]) > 1e-10:
        return f"changed the total by {d['total']:+.4f} nats (KL {d['kl']:+.4f})"
    if abs(d["kl"]) > 1e-10:
        why = ("θ moved, but p_θ(x) = N(b, w² + σ²) sees w and σ only through w² + σ²"
               if set(moved) & set(THETA) else "φ never can")
        return f"changed only the split: ELBO {d['elbo']:+.4f}, KL {d['kl']:+.4f}; the total stayed ({why})"
    return "changed neither the total nor the split " + _why_nothing(moved, v)


def _why_nothing(moved: list, v: dict) -> str:
    """Why a move that changed θ or φ left both the total and the KL where they were."""
    theta_moved = bool(set(moved) & set(THETA))
    if theta_moved and v.get("theta_ml") and v.get("phi_star"):
        return "(θ moved along the half-circle of θ_ML, φ*(θ) with it)"
    if theta_moved and v.get("phi_star"):
        why = ("p_θ(x) = N(b, w² + σ²) sees w and σ only through w² + σ²" if "b" not in moved
               else "the total is the same at the new θ")
        return f"(θ moved, but {why}, and φ*(θ) keeps the KL at 0)"
    if theta_moved:
        return "(θ moved, but the total and the KL have the same values at the new θ as at the old)"
    if len(moved) == 1:  # one of a, c, s: the mean KL is convex in each, so equal values flank its lowest
        k = _SYMBOL[moved[0]]
        return (f"({k} moved, but the KL is the same at both values: they lie either side of the {k} "
                "where it is lowest)")
    return "(φ moved, but the KL is the same at the new φ as at the old)"


def _hold_overridden(controls: dict) -> None:
    """Grey out the sliders a ticked toggle sets (b under θ_ML; a, c, s under φ*(θ))."""
    def sync(_change=None):
        for toggle, k in ((t, k) for t, keys in _OVERRIDES.items() for k in keys):
            controls[k].disabled = bool(controls[toggle].value)

    for toggle in _OVERRIDES:
        controls[toggle].observe(sync, names="value")


@register("04 θ and φ: the total and its split")
def dashboard(x=None) -> Dashboard:
    """Sliders for θ = (w, b, σ) and φ = (a, c, s) and two toggles (φ = φ*(θ); θ = θ_ML) over a
    _SplitView of the data x (default: data_set(), 200 points)."""
    x = data_set() if x is None else validate.tensor("x", x, ndim=1, min_len=2, dtype=torch.float64)[:, None]
    controls = {k: slider(DEFAULTS[k], *_RANGES[k], _SYMBOL[k]) for k in THETA + PHI}
    controls |= {k: _Toggle(label) for k, label in _TOGGLES.items()}
    _hold_overridden(controls)
    return Dashboard(_SplitView(x).build, controls, figsize=(11.5, 3.1),
                     note="θ can move the total (black); φ never can: it moves only where the blue ELBO "
                          "ends and the red KL begins. φ*(θ) sets the KL to 0; θ_ML puts the total at "
                          "its maximum (dotted).")

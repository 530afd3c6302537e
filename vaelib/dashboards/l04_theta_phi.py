"""Lesson 04: θ and φ side by side. θ = (w, b, σ) moves the total mean log p_θ(x); φ = (a, c, s)
moves only its split into the mean ELBO and the mean KL(q_φ(z|x) ‖ p_θ(z|x)).

The model is the linear VAE with d = q = 1 (vaelib.linear_vae): p_θ(z) = N(0, 1), p_θ(x|z) =
N(w z + b, σ²), q_φ(z|x) = N(a x + c, s²), on 200 points from a fixed member of the family; every
number in closed form (log p_θ(x), the ELBO, the KL to the posterior, each by its own route).
"""

import math

import ipywidgets as W
import numpy as np
import torch
import traitlets
from matplotlib.collections import LineCollection

from vaelib import validate
from vaelib.dashboards.common import normal_pdf
from vaelib.dependency import DependencyMatrix, function_dependencies
from vaelib.joint import LinearGaussianLVM
from vaelib.linear_vae import LinearVAE
from vaelib.widgets import Dashboard, slider

TRUTH = {"w": 1.5, "b": 0.5, "sigma": 0.8}  # the fixed member the data come from (prior N(0, 1))
N_POINTS, SEED = 200, 4
THETA, PHI = ("w", "b", "sigma"), ("a", "c", "s")
RANGES = {"w": (-2.5, 2.5, 0.05), "b": (-2.0, 2.0, 0.05), "sigma": (0.2, 2.5, 0.05),
          "a": (-2.0, 2.0, 0.02), "c": (-2.0, 2.0, 0.02), "s": (0.05, 1.5, 0.01)}
DEFAULTS = {"w": 0.5, "b": 0.0, "sigma": 1.0, "a": 0.2, "c": 0.0, "s": 0.6}
SYMBOL = {"w": "w", "b": "b", "sigma": "σ", "a": "a", "c": "c", "s": "s"}
X_VIEW, Z_VIEW, DENSITY_TOP = (-5.0, 6.0), (-3.5, 3.5), 1.8
MARKED = (0.1, 0.5, 0.9)  # the three data points shown in the middle panel: these quantiles of x
PALE = ("#9ec5e8", "#ffc08a", "#a3dba3")  # C0, C1, C2 lightened: the posteriors under the dashed q


def data_set() -> torch.Tensor:
    """The 200 points x_i the dashboard's model is fitted to, shape (200, 1), float64, seeded."""
    truth = LinearGaussianLVM(0.0, 1.0, *(torch.tensor(TRUTH[k], dtype=torch.float64) for k in THETA))
    return truth.sample(N_POINTS, generator=torch.Generator().manual_seed(SEED))[1][:, None]


def ml_theta(x: torch.Tensor, w: float, sigma: float) -> dict:
    """A maximum-likelihood θ: p_θ(x) = N(b, w² + σ²) is maximised by b = mean(x) and any (w, σ)
    with w² + σ² = var(x) (the 1/N variance): a whole circle, not one point. This one keeps the
    direction of the given (w, σ) and scales it onto the circle."""
    x = validate.tensor("x", x, min_len=2, dtype=torch.float64)
    w, sigma = validate.finite_float("w", w), validate.positive("sigma", sigma)
    b, var = x.mean().item(), x.var(correction=0).item()
    scale = math.sqrt(var / (w**2 + sigma**2))
    return {"w": w * scale, "b": b, "sigma": sigma * scale}


def _set(vae: LinearVAE, theta: dict, phi: dict) -> LinearVAE:
    """θ = (w, b, σ) and φ = (a, c, s) into a LinearVAE(1, 1): W = w, μ = b, σ² and V = a, c, v = s²."""
    return vae.assign(W=theta["w"], mu=theta["b"], log_sigma2=2 * math.log(theta["sigma"]),
                      V=phi["a"], c=phi["c"], log_v=2 * math.log(phi["s"]))


class _Toggle(W.Checkbox):
    """A checkbox that also reads as a two-position control (min 0, max 1, step 1) and takes 0/1,
    so Dashboard.time_update (the latency benchmark) can set it at random like a slider. It can
    be a plain Checkbox once widgets._random_position gives a checkbox both its states."""

    min, max, step = 0, 1, 1
    value = traitlets.CBool(False).tag(sync=True)

    def __init__(self, description: str):
        super().__init__(value=False, description=description, indent=False, layout=W.Layout(width="auto"))


class _SplitView:
    """Left: the data's histogram and p_θ(x). Middle: p_θ(z|x_i) (solid) and q_φ(z|x_i) (dashed)
    for three marked x_i. Right: a bar from the floor up to the mean ELBO (blue), then the mean KL
    (red) up to the mean log p_θ(x) (black), the best total over θ dashed. The readout gives the
    numbers and says whether the last move changed the total or only the split."""

    def __init__(self, x: torch.Tensor):
        self.x, self.vae = x, LinearVAE(1, 1)
        order = x[:, 0].argsort()
        self.marked = x[order[[round(q * (len(x) - 1)) for q in MARKED]]]  # (3, 1)
        self.xs, self.zs = np.linspace(*X_VIEW, 221), np.linspace(*Z_VIEW, 181)
        self.best = -0.5 * math.log(2 * math.pi * math.e * x.var(correction=0).item())  # max over θ
        self.previous, self.message = None, "move a slider: θ = (w, b, σ) or φ = (a, c, s)"

    def effective(self, phi_star=False, theta_ml=False, **v) -> tuple[dict, dict]:
        """The θ and φ in force, set into the LinearVAE: the sliders', or θ_ML and φ*(θ)."""
        theta = ml_theta(self.x, v["w"], v["sigma"]) if theta_ml else {k: v[k] for k in THETA}
        phi = {k: v[k] for k in PHI}
        _set(self.vae, theta, phi)
        if phi_star:
            best = self.vae.best_encoder()
            phi = {"a": best["V"].item(), "c": best["c"].item(), "s": (0.5 * best["log_v"]).exp().item()}
            _set(self.vae, theta, phi)
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
        left, mid, right = fig.subplots(1, 3, width_ratios=[2.0, 2.0, 0.9])
        left.hist(self.x[:, 0].numpy(), bins=30, density=True, color="0.85", label="data (200 x_i)")
        (self.marginal_line,) = left.plot([], [], color="k", lw=2, label="p_θ(x)")
        for i, xi in enumerate(self.marked[:, 0].tolist()):
            left.plot([xi], [0.0], "^", ms=9, color=f"C{i}", clip_on=False)
            mid.plot([], [], color=f"C{i}", label=f"x = {xi:.2f}")
        left.set(xlim=X_VIEW, ylim=(0, 0.45), xlabel="x", ylabel="density", title="the data and p_θ(x)")
        left.legend(loc="upper left", fontsize=8)
        colours = [f"C{i}" for i in range(3)]  # one collection per kind: one draw call, not three
        self.posterior_lines = mid.add_collection(LineCollection([], colors=PALE, lw=3))
        self.q_lines = mid.add_collection(LineCollection([], colors=colours, lw=1.5, linestyles="--"))
        mid.set(xlim=Z_VIEW, ylim=(0, DENSITY_TOP), xlabel="z",
                title="p_θ(z|x_i) solid, q_φ(z|x_i) dashed")
        mid.legend(loc="upper left", fontsize=8)
        self._bar(right)
        return self.draw

    def _bar(self, ax):
        self.floor = self.best - 3.0
        ax.axhline(self.best, color="k", ls=":", lw=1)
        ax.set(xlim=(-0.6, 0.6), ylim=(self.floor, self.best + 0.4), xticks=[], ylabel="nats per point",
               title="ELBO + KL (⋯ max over θ)")
        self.elbo_bar = ax.bar([0], [0], bottom=self.floor, width=0.7, color="C0")[0]
        self.kl_bar = ax.bar([0], [0], width=0.7, color="C3")[0]
        (self.total_line,) = ax.plot([], [], color="k", lw=2.5)

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
        self.elbo_bar.set_height(t["elbo"] - self.floor)  # from the floor up to the ELBO, then the KL
        self.kl_bar.set_bounds(-0.35, t["elbo"], 0.7, t["kl"])
        self.total_line.set_data([-0.4, 0.4], [t["total"]] * 2)
        artists = [self.marginal_line, self.posterior_lines, self.q_lines, self.elbo_bar, self.kl_bar,
                   self.total_line]
        return artists + [self._numbers(theta, phi, t, v), self._what_changed({**theta, **phi, **t})]

    def _numbers(self, theta, phi, t, v) -> str:
        said = [f"mean log p_θ(x) = {t['total']:.4f} = mean ELBO {t['elbo']:.4f} + mean KL {t['kl']:.4f}"]
        if v.get("theta_ml"):
            said.append("θ_ML = (w, b, σ) = ({w:.3f}, {b:.3f}, {sigma:.3f}), w² + σ² = var(x)"
                        .format(**theta))
        if v.get("phi_star"):
            said.append("φ*(θ) = (a, c, s) = ({a:.3f}, {c:.3f}, {s:.3f})".format(**phi))
        return " &nbsp; ".join(said)

    def _what_changed(self, now: dict) -> str:
        """Which of θ and φ moved since the last draw, and whether the total or only the split changed."""
        before, self.previous = self.previous, now
        moved = [k for k in THETA + PHI if before is not None and abs(now[k] - before[k]) > 1e-12]
        if not moved:
            return self.message
        names = "; ".join(f"{group} ({', '.join(SYMBOL[k] for k in moved if k in keys)})"
                          for group, keys in (("θ", THETA), ("φ", PHI)) if set(moved) & set(keys))
        d = {k: now[k] - before[k] for k in ("total", "elbo", "kl")}
        split = f"KL {d['kl']:+.4f}" if abs(d["kl"]) > 1e-12 else f"the KL stayed at {abs(now['kl']):.4f}"
        self.message = (f"<b>last move: {names}</b> " + (
            f"changed the total by {d['total']:+.4f} nats ({split})" if abs(d["total"]) > 1e-12 else
            f"changed only the split: ELBO {d['elbo']:+.4f}, {split}; the total did not move"))
        return self.message


def dashboard(x=None) -> Dashboard:
    """Sliders for θ = (w, b, σ) and φ = (a, c, s) and two toggles (φ = φ*(θ); θ = θ_ML) over a
    _SplitView of the data x (default: data_set(), 200 points)."""
    x = data_set() if x is None else validate.tensor("x", x, ndim=1, min_len=2, dtype=torch.float64)[:, None]
    controls = {k: slider(DEFAULTS[k], *RANGES[k], SYMBOL[k]) for k in THETA + PHI}
    controls |= {"phi_star": _Toggle("φ = φ*(θ)"), "theta_ml": _Toggle("θ = θ_ML")}
    return Dashboard(_SplitView(x).build, controls, figsize=(11.0, 3.1),
                     note="θ moves the total (black); φ moves only where the blue ELBO ends and the "
                          "red KL begins. φ*(θ) sets the KL to 0; θ_ML puts the total at its maximum.")


DASHBOARDS = {"04 θ and φ: the total and its split": dashboard}


def dependencies(x0: float = 0.8, z0: float = 0.3) -> DependencyMatrix:
    """Lesson 04's dependency matrix, by autograd at the dashboard's defaults: does each function of
    a point t read each of w, b, σ (θ) and a, c, s (φ)? Rows: the log-densities of p_θ(z), p_θ(x|z0),
    p_θ(x), p_θ(z|x0), q_φ(z|x0), and ELBO(θ, φ; x = t), KL(q_φ(z|x) ‖ p_θ(z|x)) at x = t.
    (σ and s enter the LinearVAE as log σ² and log s²: the same dependence.)"""
    x0, z0 = validate.finite_float("x0", x0), validate.finite_float("z0", z0)
    vae = _set(LinearVAE(1, 1), DEFAULTS, DEFAULTS)
    x0, z0 = torch.tensor([[x0]], dtype=torch.float64), torch.tensor([[z0]], dtype=torch.float64)
    functions = {"p_θ(z)": lambda t: vae.prior().log_prob(t),
                 "p_θ(x|z)": lambda t: vae.likelihood(z0).log_prob(t),
                 "p_θ(x)": lambda t: vae.marginal().log_prob(t),
                 "p_θ(z|x)": lambda t: vae.posterior(x0).log_prob(t),
                 "q_φ(z|x)": lambda t: vae.encoder(x0).log_prob(t),
                 "ELBO(θ, φ)": lambda t: vae.elbo_analytic(t.reshape(1, 1)),
                 "KL(q_φ ‖ p_θ(z|x))": lambda t: vae.kl_to_posterior(t.reshape(1, 1))}
    params = {"w": vae.W, "b": vae.mu, "σ": vae.log_sigma2, "a": vae.V, "c": vae.c, "s": vae.log_v}
    return function_dependencies(functions, params, torch.tensor([[-1.3], [0.4], [2.1]], dtype=torch.float64))

"""Lesson 02: one θ indexes the whole joint p_θ(x, z); prior, likelihood, marginal and posterior
side by side, each panel tagged with the θ components it reads (found by autograd)."""

import math

import numpy as np
import torch

from vaelib.lvm import LinearGaussianLVM, NonlinearLVM, dependency_matrix
from vaelib.widgets import Dashboard, slider

# Slider ranges and fixed axes, chosen together: at every slider position each curve's
# mean ± 2 standard deviations lies inside its panel and its peak below the top (tested).
RANGES = {"mu_z": (-1.0, 1.0), "s_z": (0.5, 1.2), "w": (-2.0, 2.0), "b": (-1.0, 1.0),
          "sigma": (0.5, 1.5), "x": (-4.0, 4.0)}
DEFAULTS = {"mu_z": 0.0, "s_z": 1.0, "w": 1.0, "b": 0.0, "sigma": 0.5, "x": 1.5}
SYMBOL = {"mu_z": "μ_z", "s_z": "s_z", "w": "w", "b": "b", "sigma": "σ", "x": "x"}
Z_LIM, X_LIM = (-9.0, 9.0), (-9.0, 9.0)
Y_TOP = {"prior": 0.85, "likelihood": 0.85, "marginal": 0.85, "posterior": 1.85}
Z_SHOWN = (-1.0, 0.0, 1.0)  # the likelihood panel: p_θ(x|z) over x at these fixed z
PANELS = ("prior", "likelihood", "marginal", "posterior")
HIGHLIGHT = "C1"


def linear_dependencies():
    """The dependency matrix behind the panel tags, computed (not written) with autograd:
    the θ components of the linear model, plus the observed x (data, not θ)."""
    m = LinearGaussianLVM(**{k: DEFAULTS[k] for k in ("mu_z", "s_z", "w", "b", "sigma")})
    x0, z0 = torch.tensor(DEFAULTS["x"]), torch.tensor(0.3)
    dists = {"prior": m.prior, "likelihood": lambda: m.likelihood(z0),
             "marginal": m.marginal, "posterior": lambda: m.posterior(x0)}
    return dependency_matrix(dists, {**m.parameters(), "x": x0}, torch.tensor([-1.3, 0.4, 2.1]))


def _normal_pdf(t: np.ndarray, mean: float, std: float) -> np.ndarray:
    return np.exp(-0.5 * ((t - mean) / std) ** 2) / (std * math.sqrt(2 * math.pi))


def linear_dashboard() -> Dashboard:
    """Sliders μ_z, s_z, w, b, σ and the observed x. Panels: prior p_θ(z); likelihood p_θ(x|z)
    over x for z = -1, 0, 1; marginal p_θ(x) with x marked; posterior p_θ(z|x) over the prior.
    Each title lists the components the panel reads; the panels the last-moved slider moves get
    an orange bar; the readout says which distributions each slider moves."""
    dm = linear_dependencies()
    theta = [c for c in dm.components if c != "x"]
    reads = {p: [SYMBOL[c] for c in dm.reads(p) if c != "x"] for p in PANELS}
    moves_text = " · ".join(f"<b>{SYMBOL[c]}</b> moves {', '.join(dm.moves(c))}"
                            for c in dm.components)
    zs = torch.linspace(*Z_LIM, 241, dtype=torch.float64)
    xs = torch.linspace(*X_LIM, 241, dtype=torch.float64)
    titles = {"prior": "prior p_θ(z)", "likelihood": "likelihood p_θ(x|z)",
              "marginal": "marginal p_θ(x)", "posterior": "posterior p_θ(z|x)"}

    def build(fig, **v):
        axes = dict(zip(PANELS, fig.subplots(1, 4), strict=True))
        for p, ax in axes.items():
            over = "z" if p in ("prior", "posterior") else "x"
            ax.set(xlim=Z_LIM if over == "z" else X_LIM, ylim=(0, Y_TOP[p]), xlabel=over,
                   title=f"{titles[p]}\nreads {', '.join(reads[p])}")
            ax.title.set_fontsize(10)
        axes["prior"].set_ylabel("density")
        (prior,) = axes["prior"].plot([], [], lw=2, color="C0")
        liks = [axes["likelihood"].plot([], [], lw=2, color=c, label=f"z = {z:g}")[0]
                for z, c in zip(Z_SHOWN, ("C2", "C0", "C3"), strict=True)]
        axes["likelihood"].legend(loc="upper left", fontsize=7, title="p_θ(x|z) at",
                                  title_fontsize=7)
        (marginal,) = axes["marginal"].plot([], [], lw=2, color="C0")
        (x_stem,) = axes["marginal"].plot([], [], color="k", lw=1)
        (x_dot,) = axes["marginal"].plot([], [], "o", color="k", ms=5, label="observed x")
        axes["marginal"].legend(loc="upper left", fontsize=7)
        (prior_ghost,) = axes["posterior"].plot([], [], "--", lw=1, color="0.6", label="prior")
        (posterior,) = axes["posterior"].plot([], [], lw=2, color="C0", label="posterior")
        axes["posterior"].legend(loc="upper left", fontsize=7)
        # An orange bar over each panel the last-moved slider changes (a 2-point line: cheap).
        frames = {p: ax.plot([0, 1], [1, 1], color=HIGHLIGHT, lw=5, transform=ax.transAxes,
                             clip_on=False, solid_capstyle="butt", animated=True)[0]
                  for p, ax in axes.items()}
        previous = {}

        def draw(**v):
            m = LinearGaussianLVM(**{c: v[c] for c in theta})
            p0, marg = m.prior(), m.marginal()
            post = m.posterior(v["x"])
            z_np, x_np = zs.numpy(), xs.numpy()
            mu, s = p0.mean.item(), p0.stddev.item()
            prior.set_data(z_np, _normal_pdf(z_np, mu, s))
            prior_ghost.set_data(z_np, _normal_pdf(z_np, mu, s))
            for line, z in zip(liks, Z_SHOWN, strict=True):
                line.set_data(x_np, _normal_pdf(x_np, v["w"] * z + v["b"], v["sigma"]))
            mm, ms = marg.mean.item(), marg.stddev.item()
            marginal.set_data(x_np, _normal_pdf(x_np, mm, ms))
            px = _normal_pdf(np.array(v["x"]), mm, ms).item()
            x_stem.set_data([v["x"], v["x"]], [0, px])
            x_dot.set_data([v["x"]], [px])
            pm, ps = post.mean.item(), post.stddev.item()
            posterior.set_data(z_np, _normal_pdf(z_np, pm, ps))
            changed = [c for c in v if c in previous and v[c] != previous[c]]
            previous.update(v)
            lit = [frames[p] for p in PANELS if any(p in dm.moves(c) for c in changed)]
            numbers = (f"p_θ(x) = N({mm:.2f}, {ms:.2f}²) gives log p_θ(x) = "
                       f"{marg.log_prob(torch.tensor(v['x'])).item():.2f}; "
                       f"posterior N({pm:.2f}, {ps:.2f}²)")
            return [*lit, prior, *liks, marginal, x_stem, x_dot, prior_ghost, posterior,
                    moves_text, numbers]

        return draw

    controls = {c: slider(DEFAULTS[c], *RANGES[c], 0.05, SYMBOL[c]) for c in RANGES}
    note = ("θ = (μ_z, s_z, w, b, σ) indexes ONE joint p_θ(x, z) = p_θ(z) p_θ(x|z). "
            "Orange bars: the panels the slider you moved changes (from the dependency matrix).")
    return Dashboard(build, controls, figsize=(12, 3.1), dpi=72, note=note)


# ---------------------------------------------------------------------------------------------
# The nonlinear decoder: σ and x; the posterior by quadrature, next to a Gaussian of equal moments

NL_RANGES = {"sigma": (0.2, 1.0), "x": (-1.0, 3.0)}
NL_DEFAULTS = {"sigma": 0.3, "x": 1.2}
NL_Z, NL_X = (-5.0, 5.0), (-3.0, 5.5)
NL_Y_TOP = {"marginal": 0.8, "posterior": 2.4}
NL_SIGMA_STEP = 0.02


def nonlinear_dashboard() -> Dashboard:
    """Sliders σ and x for x|z ~ N(f_θ(z), σ²) with the default MLP f_θ. Panels: f_θ(z) with the
    band f_θ(z) ± 2σ and the level x; marginal p_θ(x) by quadrature with x marked; posterior
    p_θ(z|x) by quadrature next to the Gaussian with the same mean and variance."""
    base = NonlinearLVM()
    # Precomputed once (θ, the network's weights, does not move): f_θ on a fine z grid for the
    # posterior (dz = 0.01) and on a coarser one for the marginal curve over x (dz = 0.05).
    fine = torch.linspace(-8, 8, 1601, dtype=torch.float64)
    coarse = torch.linspace(-8, 8, 321, dtype=torch.float64)
    with torch.no_grad():
        table = {id(fine): base.decoder_mean(fine), id(coarse): base.decoder_mean(coarse)}

    def f_tabulated(z):  # f_θ read from the table on the two grids, computed anywhere else
        return table[id(z)] if id(z) in table else base.decoder_mean(z)

    xs = torch.linspace(*NL_X, 121, dtype=torch.float64)
    shown = torch.zeros_like(fine, dtype=torch.bool)  # every 2nd point in the panel: dz = 0.02
    shown[::2] = True
    shown &= (fine >= NL_Z[0]) & (fine <= NL_Z[1])
    z_np, f_np, x_np = fine[shown].numpy(), table[id(fine)][shown].numpy(), xs.numpy()

    def model(sigma, grid):
        return NonlinearLVM(f=f_tabulated, sigma=sigma, grid=grid)

    # p_θ(x) over xs for every position of the σ slider, computed once on the coarse grid (its
    # error in the drawn density is < 1e-6 at every σ position: tested).
    lo, hi = NL_RANGES["sigma"]
    positions = [round(lo + k * NL_SIGMA_STEP, 6) for k in range(round((hi - lo) / NL_SIGMA_STEP) + 1)]
    with torch.no_grad():
        marginal_curves = {s: model(s, coarse).log_marginal(xs).exp().numpy() for s in positions}

    def build(fig, sigma, x):
        ax_f, ax_m, ax_p = fig.subplots(1, 3)
        ax_f.plot(z_np, f_np, color="C0", lw=2, label="f_θ(z) = mean of p_θ(x|z)")
        ax_f.set(xlim=NL_Z, ylim=NL_X, xlabel="z", ylabel="x", title="decoder f_θ(z) ± 2σ")
        band = [ax_f.plot([], [], color="#9ecae1", lw=1)[0] for _ in range(2)]  # solid: cheaper
        (level,) = ax_f.plot([], [], color="k", lw=1, label="observed x")
        ax_f.legend(loc="upper right", fontsize=7)
        ax_m.set(xlim=NL_X, ylim=(0, NL_Y_TOP["marginal"]), xlabel="x",
                 title="marginal p_θ(x) (quadrature)")
        (marginal,) = ax_m.plot([], [], lw=2, color="C0")
        (dot,) = ax_m.plot([], [], "o", color="k", ms=5)
        ax_p.set(xlim=NL_Z, ylim=(0, NL_Y_TOP["posterior"]), xlabel="z",
                 title="posterior p_θ(z|x) (quadrature)")
        (gauss,) = ax_p.plot([], [], color="0.6", lw=1, label="Gaussian, same mean, var")
        (post,) = ax_p.plot([], [], lw=2, color="C3", label="p_θ(z|x)")
        ax_p.legend(loc="upper left", fontsize=7)

        def draw(sigma, x):
            m = model(sigma, fine)
            x_t = torch.tensor(x, dtype=torch.float64)
            with torch.no_grad():
                p = m.posterior(x_t)
                px = p.log_marginal.exp().item()
                mean, std = p.mean.item(), p.std.item()
                dens = p.density[shown].numpy()
            key = round(sigma, 6)
            if key not in marginal_curves:  # only off the slider's step grid (set by hand)
                with torch.no_grad():
                    marginal_curves[key] = model(sigma, coarse).log_marginal(xs).exp().numpy()
            band[0].set_data(z_np, f_np - 2 * sigma)
            band[1].set_data(z_np, f_np + 2 * sigma)
            level.set_data(NL_Z, [x, x])
            marginal.set_data(x_np, marginal_curves[key])
            dot.set_data([x], [px])
            post.set_data(z_np, dens)
            gauss.set_data(z_np, _normal_pdf(z_np, mean, std))
            readout = (f"p_θ(x) = {px:.3f} (quadrature, dz = {m.dz:.3f}); posterior mean "
                       f"{mean:.2f}, std {std:.2f}; θ (the network's weights) is fixed: "
                       f"σ and x move only")
            return [*band, level, marginal, dot, gauss, post, readout]

        return draw

    controls = {"sigma": slider(NL_DEFAULTS["sigma"], *NL_RANGES["sigma"], NL_SIGMA_STEP, "σ"),
                "x": slider(NL_DEFAULTS["x"], *NL_RANGES["x"], 0.05, "x")}
    return Dashboard(build, controls, figsize=(11, 3.2), dpi=72)


DASHBOARDS = {"02 linear-Gaussian LVM": linear_dashboard,
              "02 nonlinear decoder posterior": nonlinear_dashboard}

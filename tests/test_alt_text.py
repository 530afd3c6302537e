"""vaelib.alt_text: a figure's alt text says its panels, axes, ranges and series, from its own numbers."""

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from vaelib import alt_text


def figure(mean: float) -> Figure:
    fig = Figure()
    FigureCanvasAgg(fig)
    left, right = fig.subplots(1, 2)
    z = np.linspace(-4, 4, 81)
    left.plot(z, np.exp(-0.5 * (z - mean) ** 2), label=r"$p_\theta(z \mid x)$")
    left.plot(z, np.exp(-0.5 * z**2), "--", label="prior")
    left.set(title=f"posterior at $x = {mean:.2f}$", xlabel="$z$", ylabel="density", xlim=(-4, 4))
    right.imshow(np.zeros((8, 8)))
    right.set_title(r"decoder mean $f_\theta(z)$")
    return fig


def test_a_figure_is_said_panel_by_panel_with_its_numbers():
    said = alt_text.describe(figure(1.2))
    assert said.startswith("Figure, 2 panels. Panel 1, 'posterior at x = 1.20': density against z "
                           "(z from −4 to 4, density from ")
    assert "shows p_θ(z | x), prior" in said and "'decoder mean f_θ(z)'" in said and "(8×8 values)" in said
    assert "$" not in said and "\\" not in said


def test_two_figures_with_other_numbers_are_said_differently():
    assert alt_text.describe(figure(1.2)) != alt_text.describe(figure(-0.5))


def test_mathtext_is_made_plain():
    assert alt_text._plain(r"$\log p_\theta(x) = \mathrm{ELBO} + \mathrm{KL}(q \,\|\, p)$") == \
        "log p_θ(x) = ELBO + KL(q ‖ p)"
    assert alt_text._plain(r"$\mathcal{N}(x; \mu, \sigma^2)$") == "N(x; μ, σ²)"


def test_the_dashboard_says_its_sliders_and_readout():
    from vaelib.dashboards import l01_gaussian

    dash = l01_gaussian.dashboard()
    before = dash.alt_text()
    dash.update(mu=1.0)
    assert "mu = 1" in dash.alt_text() and dash.alt_text() != before and "Readout: " in before

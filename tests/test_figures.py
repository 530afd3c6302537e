"""vaelib.figures: the redrawn AEVB Figure 1 has the paper's nodes, plate and arrows.

Read off the drawn artists (not the module's constants): which arrows are solid and which dashed,
where each one starts and ends, which node is shaded, what the plate encloses. The expected edges
are the paper's (arXiv:1312.6114 v11, Figure 1 and its caption), written out here."""

import math

import pytest
from matplotlib.figure import Figure
from matplotlib.patches import Circle, FancyArrowPatch, FancyBboxPatch

from vaelib import figures

# Figure 1: "Solid lines denote the generative model p_θ(z)p_θ(x|z), dashed lines denote the
# variational approximation q_φ(z|x)": θ points at z and x, z at x; φ and x point at z.
SOLID = {("θ", "z"), ("θ", "x"), ("z", "x")}
DASHED = {("φ", "z"), ("x", "z")}


@pytest.fixture(scope="module")
def ax():
    return figures.aevb_figure1()


def nodes(ax) -> dict:
    return {p.get_gid().removeprefix("node "): p for p in ax.patches if isinstance(p, Circle)}


def arrows(ax) -> list:
    return [p for p in ax.patches if isinstance(p, FancyArrowPatch)]


def nearest(ax, point) -> str:
    return min(nodes(ax).items(), key=lambda kv: math.dist(kv[1].center, point))[0]


def test_solid_arrows_are_the_generative_model_and_dashed_ones_q(ax):
    drawn = {"-": set(), "--": set()}
    for p in arrows(ax):
        start, end = p._posA_posB  # the arrow's two ends, in data coordinates
        drawn[p.get_linestyle()].add((nearest(ax, start), nearest(ax, end)))
    assert drawn == {"-": SOLID, "--": DASHED}
    assert {p.get_gid() for p in arrows(ax)} == {f"{a}->{b}" for a, b in SOLID | DASHED}


def test_x_is_observed_and_the_plate_holds_z_and_x_but_not_the_parameters(ax):
    found = nodes(ax)
    assert set(found) == {"z", "x", "θ", "φ"}
    shaded = {n for n, c in found.items() if c.get_facecolor()[:3] != (1.0, 1.0, 1.0)}
    assert shaded == {"x"}
    (plate,) = [p for p in ax.patches if isinstance(p, FancyBboxPatch)]
    inside = {n for n, c in found.items() if plate.get_path().contains_point(
        c.center, transform=plate.get_patch_transform())}
    assert inside == {"z", "x"}
    assert "N" in [t.get_text() for t in ax.texts]


def test_draws_on_the_axes_it_is_given():
    given = Figure().add_subplot()
    assert figures.aevb_figure1(given) is given and len(arrows(given)) == 5

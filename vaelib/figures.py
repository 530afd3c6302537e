"""Lesson 02: AEVB's Figure 1, the graphical model behind θ and φ, drawn; the course's figure style.

Kingma & Welling (arXiv:1312.6114 v11), Figure 1: "Solid lines denote the generative model
p_θ(z)p_θ(x|z), dashed lines denote the variational approximation q_φ(z|x) to the intractable
posterior p_θ(z|x). The variational parameters φ are learned jointly with the generative model
parameters θ." The plate repeats z and x for each of the N data points; θ and φ are shared.
"""

from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Circle, FancyArrowPatch, FancyBboxPatch

from vaelib import validate

# Every figure of the course: petroff10, a colour cycle chosen to stay distinguishable under the common
# colour-vision deficiencies (matplotlib >= 3.10, Colab's too), and text of at least 10 pt.
_COURSE_STYLE = ["petroff10", {"font.size": 11, "axes.titlesize": 11, "axes.labelsize": 11,
                              "xtick.labelsize": 10, "ytick.labelsize": 10, "legend.fontsize": 10}]


def use_course_style() -> None:
    """Set matplotlib's defaults to _COURSE_STYLE for this kernel, and under IPython give every figure a
    cell shows its alt text (vaelib.alt_text). Each lesson's first cell calls it, after %matplotlib."""
    import matplotlib.style

    from vaelib import alt_text

    matplotlib.style.use(_COURSE_STYLE)
    try:
        shell = get_ipython()  # noqa: F821 - defined in IPython, absent in a plain interpreter
    except NameError:
        return
    alt_text.install(shell)


_NODES = {"z": (2.0, 2.1), "x": (2.0, 0.8), "θ": (3.3, 1.45), "φ": (0.7, 1.45)}
_GENERATIVE = (("θ", "z"), ("θ", "x"), ("z", "x"))  # p_θ(z) p_θ(x|z): solid
_VARIATIONAL = (("φ", "z"), ("x", "z"))  # q_φ(z|x): dashed
_OBSERVED = ("x",)  # shaded, as in the paper
_PLATE = {"corner": (1.4, 0.3), "width": 1.2, "height": 2.35, "label": "N"}
_MATH = {"z": "$z$", "x": "$x$", "θ": r"$\theta$", "φ": r"$\phi$"}  # node labels, in mathtext


def aevb_figure1(ax: Axes | None = None) -> Axes:
    """Draw AEVB Figure 1 on `ax` (a new 4.2 x 3.2 in figure when None) and return the axes: nodes z, x
    (observed, shaded), θ, φ; solid arrows θ→z, θ→x, z→x (p_θ(z) p_θ(x|z)), dashed φ→z, x→z (q_φ(z|x));
    the plate N; a key. Each arrow's gid is "a->b" (read by the tests)."""
    if ax is None:
        fig = Figure(figsize=(4.2, 3.2))
        FigureCanvasAgg(fig)
        ax = fig.add_subplot()
    validate.instance("ax", ax, Axes, "a matplotlib Axes (or None for a new figure)")
    ax.set(xlim=(0, 4), ylim=(0, 3), aspect="equal")
    ax.axis("off")
    for name, centre in _NODES.items():
        is_variable = name in ("z", "x")
        ax.add_patch(Circle(centre, 0.33 if is_variable else 0.22, lw=1.5, ec="k",
                            fc="0.8" if name in _OBSERVED else "white", gid=f"node {name}"))
        ax.text(*centre, _MATH[name], ha="center", va="center", fontsize=14)
    (px, py), w, h = _PLATE["corner"], _PLATE["width"], _PLATE["height"]
    ax.add_patch(FancyBboxPatch((px, py), w, h, boxstyle="round,pad=0.02", fill=False, lw=1,
                                gid="plate"))
    ax.text(px + w - 0.15, py + 0.1, _PLATE["label"], fontsize=11)
    for a, b in _GENERATIVE:
        _arrow(ax, a, b, dashed=False)
    for a, b in _VARIATIONAL:
        _arrow(ax, a, b, dashed=True, bend=0.7 if a == "x" else 0.0)  # x→z bends past z→x
    key = [Line2D([], [], color="k", lw=1.5, label=r"generative model $p_\theta(z)\,p_\theta(x \mid z)$"),
           Line2D([], [], color="k", lw=1.5, ls="--", label=r"approximation $q_\phi(z \mid x)$")]
    ax.legend(handles=key, loc="upper center", bbox_to_anchor=(0.5, 0.04), frameon=False, fontsize=10)
    ax.set_title("AEVB Figure 1 (redrawn)", fontsize=11)
    return ax


def _arrow(ax, a, b, dashed, bend=0.0):
    ax.add_patch(FancyArrowPatch(_NODES[a], _NODES[b], arrowstyle="-|>", mutation_scale=14,
                                 shrinkA=16, shrinkB=16, lw=1.5, ls="--" if dashed else "-",
                                 connectionstyle=f"arc3,rad={bend}", gid=f"{a}->{b}"))

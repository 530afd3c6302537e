"""Every lesson's figures: alt text, what a figure shows said in words from its own numbers.

For each panel: its title, what against what with the axes' ranges, and the labelled series, e.g.
    "Figure, 2 panels. Panel 1, 'posterior at x = 1.20': density against z (z from -4 to 4, density
     from 0 to 0.62); shows p_θ(z|x) by quadrature, the prior. Panel 2, ..."
install(shell) makes IPython attach it to every figure's image/png as `alt` (read by nbconvert and
myst-nb; figures.use_course_style() calls it); vaelib.widgets adds it to each dashboard's PNG.
"""

import re

from matplotlib.figure import Figure

_TEX = {r"\theta": "θ", r"\phi": "φ", r"\varphi": "φ", r"\lambda": "λ", r"\mu": "μ", r"\sigma": "σ",
       r"\alpha": "α", r"\beta": "β", r"\gamma": "γ", r"\varepsilon": "ε", r"\epsilon": "ε", r"\pi": "π",
       r"\mid": "|", r"\|": "‖", r"\cdot": "·", r"\sum": "Σ", r"\int": "∫", r"\infty": "∞",
       r"\approx": "≈", r"\leq": "≤", r"\geq": "≥", r"\star": "*", r"\ldots": "…", r"\dots": "…",
       r"\log": "log",
       r"\exp": "exp", r"\nabla": "∇", r"\to": "→", r"\,": " ", r"\;": " ", r"\ ": " "}


def _plain(text: str) -> str:
    """Mathtext made readable: `$p_\\theta(z \\mid x)$` -> `p_θ(z | x)`."""
    for tex, char in sorted(_TEX.items(), key=lambda kv: -len(kv[0])):
        text = text.replace(tex, char)
    text = re.sub(r"\\(?:mathrm|mathcal|mathbf|text|operatorname)\{([^}]*)\}", r"\1", text)
    text = re.sub(r"\^\{?2\}?", "²", text)
    text = re.sub(r"\\[a-zA-Z]+", "", text).replace("$", "").replace("{", "").replace("}", "")
    return re.sub(r"\s+", " ", text).strip()


def _number(v: float) -> str:
    return f"{v:.3g}".replace("-", "−") if abs(v) >= 1e-12 else "0"


def _labels(ax) -> list[str]:
    artists = [*ax.get_lines(), *ax.collections, *ax.patches, *ax.containers]
    labels = [_plain(a.get_label()) for a in artists if not str(a.get_label()).startswith("_")]
    return list(dict.fromkeys(label for label in labels if label))


def _panel(ax) -> str:
    """One panel in words: title, what against what, the ranges, the labelled series, images, texts."""
    title = _plain(" ".join(t for t in (ax.get_title("left"), ax.get_title(), ax.get_title("right")) if t))
    body = []
    if ax.axison:
        (x0, x1), (y0, y1) = ax.get_xlim(), ax.get_ylim()
        xl, yl = _plain(ax.get_xlabel()) or "x", _plain(ax.get_ylabel()) or "y"
        body.append(f"{yl} against {xl} ({xl} from {_number(x0)} to {_number(x1)}, "
                    f"{yl} from {_number(y0)} to {_number(y1)})")
    if _labels(ax):
        body.append("shows " + ", ".join(_labels(ax)))
    if ax.images:
        h, w = ax.images[0].get_array().shape[:2]
        body.append(f"{len(ax.images)} image{'s' if len(ax.images) > 1 else ''} ({h}×{w} values)")
    texts = list(dict.fromkeys(_plain(t.get_text()) for t in ax.texts if _plain(t.get_text())))
    if texts:
        body.append("labelled " + ", ".join(texts))
    said = "; ".join(body) or "empty"
    return f"'{title}': {said}" if title else said


def describe(fig: Figure) -> str:
    """The alt text of a figure: its suptitle, then each visible panel in words (colour bars left out)."""
    axes = [ax for ax in fig.axes if ax.get_visible() and not hasattr(ax, "_colorbar")]
    head = _plain(fig._suptitle.get_text()) if fig._suptitle is not None else ""
    parts = [f"Figure{', ' + repr(head) if head else ''}, {len(axes)} panel{'s' if len(axes) != 1 else ''}."]
    parts += [f"Panel {i}, {_panel(ax)}." for i, ax in enumerate(axes, 1)]
    return " ".join(parts)


def install(shell) -> None:
    """Make `shell` (IPython) put describe(fig) as the alt text of every figure's image/png."""
    formatter = shell.display_formatter.formatters["image/png"]
    try:
        draw = formatter.lookup_by_type(Figure)
    except KeyError:  # no inline backend: nothing shows a figure as PNG here
        return
    if getattr(draw, "vaelib_alt", False):
        return

    def with_alt(fig):
        out = draw(fig)
        data, metadata = out if isinstance(out, tuple) else (out, {})
        return data, {**(metadata or {}), "alt": describe(fig)}

    with_alt.vaelib_alt = True
    formatter.for_type(Figure, with_alt)

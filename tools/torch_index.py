"""Which torch build `make` installs: prints pip's arguments for it, and says the choice in one line.

    pip install $(python tools/torch_index.py) -r requirements.txt

The pin stays torch==2.13.0; only the index pip may take it from changes:
- Linux without an NVIDIA driver (`nvidia-smi` absent or failing): PyTorch's CPU-only index, added
  with --extra-index-url (its `2.13.0+cpu` sorts above PyPI's `2.13.0`, so pip takes it). If that
  index does not answer within TORCH_INDEX_TIMEOUT seconds (3), nothing is added: the default index.
- Linux with a driver: the default index (PyPI's Linux wheel is the CUDA build).
- macOS, Windows: the default index (PyPI's wheels there carry no CUDA libraries).
Overrides: PIP_EXTRA_INDEX_URL or PIP_INDEX_URL set (pip reads them itself: nothing is added), or
TORCH_INDEX=cpu | cuda | default | <an index URL>. TORCH_CPU_INDEX names the CPU index (tests point it
at a port on 127.0.0.1). Standard library only: it runs before .venv exists.
--first-run: say first what the first run downloads. --json: the choice as JSON, nothing else.
"""

import json
import os
import platform
import shutil
import subprocess
import sys
import threading
import urllib.request

CPU_INDEX = "https://download.pytorch.org/whl/cpu"
PROBE_SECONDS = 3.0
# MB of wheels torch 2.13.0 (cp311) brings with each build, as PyPI's index lists them (the CUDA build:
# its 527 MB wheel and 2204 MB of nvidia-*, triton and cuda-* wheels); the CPU build's size is that of
# the file pip takes on the course's CI machine (its index was unreachable there). The other 128
# distributions: EVERYTHING_ELSE_MB on Linux x86-64, from benchmarks/setup.py (pip's "Downloading"
# sizes plus the local wheels, 409 MB, less torch's 192). README's Start section quotes the same;
# on macOS and Windows the other wheels were not measured, so no size is said there.
TORCH_MB = {"cpu": 192, "cuda": 527 + 2204}
EVERYTHING_ELSE_MB = 217


def nvidia_driver() -> str | None:
    """Why we think there is an NVIDIA driver (`nvidia-smi -L` ran and exited 0), else None."""
    smi = shutil.which("nvidia-smi")
    if smi is None:
        return None
    try:
        done = subprocess.run([smi, "-L"], capture_output=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return f"{smi} -L succeeds" if done.returncode == 0 else None


def unreachable(url: str, seconds: float) -> str | None:
    """Why `url` gave no HTTP answer below 400 within `seconds` (name lookup included), or None."""
    result = []

    def probe():
        try:
            with urllib.request.urlopen(urllib.request.Request(url, method="HEAD"), timeout=seconds) as r:
                result.append(None if r.status < 400 else f"HTTP {r.status}")
        except Exception as e:  # refused, unresolvable, timed out, TLS, HTTP error: all unreachable
            result.append(str(getattr(e, "reason", e)) or type(e).__name__)

    thread = threading.Thread(target=probe, daemon=True)  # a stuck name lookup ignores `timeout`
    thread.start()
    thread.join(seconds)
    return result[0] if result else f"no answer within {seconds:g} s"


def forced(value: str, cpu_index: str) -> dict:
    """The choice TORCH_INDEX= asks for."""
    if value == "cpu":
        return {"build": "cpu", "index": cpu_index, "why": "TORCH_INDEX=cpu"}
    if value in ("cuda", "default"):
        return {"build": value, "index": None, "why": f"TORCH_INDEX={value}"}
    if value.startswith(("http://", "https://", "file://")):
        return {"build": "custom", "index": value, "why": "TORCH_INDEX names an index"}
    raise SystemExit(f"TORCH_INDEX must be cpu, cuda, default or an index URL (http://, https://, "
                     f"file://), not {value!r}")


def choose(env=os.environ, system: str | None = None) -> dict:
    """{build, index (an extra index URL or None), why, download_mb}: the torch build for this machine."""
    system = system or platform.system()
    cpu_index = env.get("TORCH_CPU_INDEX", CPU_INDEX).rstrip("/")
    seconds = float(env.get("TORCH_INDEX_TIMEOUT", PROBE_SECONDS))
    if env.get("TORCH_INDEX"):
        choice = forced(env["TORCH_INDEX"], cpu_index)
    elif env.get("PIP_EXTRA_INDEX_URL") or env.get("PIP_INDEX_URL"):
        choice = {"build": "custom", "index": None, "why": "PIP_EXTRA_INDEX_URL or PIP_INDEX_URL is set"}
    elif system != "Linux":
        choice = {"build": {"Darwin": "macos"}.get(system, system.lower()), "index": None,
                  "why": f"{system}: PyPI's wheel has no CUDA libraries"}
    elif (driver := nvidia_driver()) is not None:
        choice = {"build": "cuda", "index": None, "why": f"Linux with an NVIDIA driver: {driver}"}
    elif (reason := unreachable(cpu_index + "/torch/", seconds)) is None:
        choice = {"build": "cpu", "index": cpu_index, "why": "Linux without an NVIDIA driver"}
    else:
        choice = {"build": "fallback", "index": None,
                  "why": f"Linux without an NVIDIA driver, but {cpu_index} is unreachable: {reason}"}
    torch_mb = TORCH_MB.get(choice["build"])
    return {**choice, "download_mb": torch_mb and torch_mb + EVERYTHING_ELSE_MB}


def say(choice: dict) -> str:
    """The one line `make` prints about torch."""
    build = {"cpu": ": the CPU-only build", "cuda": ": the CUDA build"}.get(choice["build"], "")
    where = f"the index {choice['index']}" if choice["index"] else "pip's default index"
    return f"torch 2.13.0{build} from {where} ({choice['why']}; to force: TORCH_INDEX=cpu or cuda)"


def first_run(choice: dict) -> str:
    """The line the first run starts with: what it builds and roughly how much it downloads."""
    size = f", about {choice['download_mb']:,} MB to download" if choice["download_mb"] else ""
    return f"first run: building .venv{size}; pip's progress follows"


def main(argv: list[str]) -> int:
    choice = choose()
    if "--json" in argv:
        print(json.dumps(choice))
        return 0
    if "--first-run" in argv:
        print(first_run(choice), file=sys.stderr)
    print(say(choice), file=sys.stderr)
    print(f"--extra-index-url {choice['index']}" if choice["index"] else "")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

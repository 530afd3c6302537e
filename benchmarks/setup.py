"""A learner's first `make lab`, measured: from a fresh clone to JupyterLab answering on its port.

    python benchmarks/setup.py           a table
    python benchmarks/setup.py --json    one JSON object

In a temporary folder: `git clone` of this repository's HEAD, a cold pip cache, then `make lab` (pip,
with the torch build tools/torch_index.py picks) until JupyterLab answers /api/status on 127.0.0.1 (its
port and token set through JUPYTER_PORT and JUPYTER_TOKEN).

Columns: seconds to .venv built and to JupyterLab answering (the clone included), .venv on disk (MB),
the MB pip downloaded (the sizes its "Downloading x (N MB)" lines list) and the MB of wheels it took
from this machine's disk (find-links and file:// indexes: the CPU torch among them), so their sum is
what a learner downloads; the torch build (torch.__version__ in .venv; the line `make` says below).
The log is kept in $TMPDIR/setup-bench-logs/pip.txt. A few minutes on 2 cores.
"""

import argparse
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TIMEOUT_S = 1800


def disk_mb(path: Path) -> float:
    """MB a folder takes on disk (allocated blocks, each hard-linked file once), like `du -s`."""
    seen, total = set(), 0
    for folder, _dirs, files in os.walk(path):
        for name in files:
            st = os.lstat(os.path.join(folder, name))
            if (st.st_dev, st.st_ino) not in seen:
                seen.add((st.st_dev, st.st_ino))
                total += st.st_blocks * 512
    return total / 1e6


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def answering(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as r:
            return r.status == 200
    except OSError:
        return False


def first_run(scratch: Path) -> dict:
    """Clone, start `make lab` (which builds .venv with pip); time it until JupyterLab answers."""
    work = scratch / "pip"
    clone, cache = work / "course", work / "cache"
    port, token = free_port(), secrets.token_hex(16)
    env = {**os.environ, "PIP_CACHE_DIR": str(cache), "BROWSER": "true",
           "JUPYTER_PORT": str(port), "JUPYTER_TOKEN": token,
           "PYTHON": shutil.which("python3.11") or sys.executable}
    work.mkdir(parents=True)
    kept = Path(tempfile.gettempdir()) / "setup-bench-logs" / "pip.txt"  # outlives the scratch folder
    kept.parent.mkdir(exist_ok=True)
    log = open(work / "log.txt", "w")  # noqa: SIM115 (closed below)
    start = time.perf_counter()
    subprocess.run(["git", "clone", "-q", str(ROOT), str(clone)], check=True)
    lab = subprocess.Popen(["make", "lab"], cwd=clone, env=env, stdout=log, stderr=subprocess.STDOUT,
                           start_new_session=True)
    built = None
    try:
        while built is None or not answering(f"http://127.0.0.1:{port}/api/status?token={token}"):
            if built is None and (clone / ".venv/bin/.installed").exists():
                built = time.perf_counter() - start
            if lab.poll() is not None:
                raise RuntimeError(f"make lab stopped ({lab.returncode}): see {kept}")
            if time.perf_counter() - start > TIMEOUT_S:
                raise TimeoutError(f"JupyterLab did not answer within {TIMEOUT_S} s: see {kept}")
            time.sleep(0.2)
        answered = time.perf_counter() - start
    finally:
        os.killpg(lab.pid, signal.SIGTERM)  # the process group this function started
        lab.wait(timeout=60)
        log.close()
        shutil.copy(work / "log.txt", kept)
    return {"seconds_venv_built": round(built, 1),
            "seconds_lab_answering": round(answered, 1), **venv_facts(clone, work / "log.txt")}


UNITS = {"bytes": 1e-6, "kB": 1e-3, "MB": 1.0, "GB": 1e3}
TORCH = "import torch; print(torch.__version__, torch.version.cuda)"


def venv_facts(clone: Path, log: Path) -> dict:
    """Size of .venv, MB pip downloaded and took from disk, the torch installed."""
    text = log.read_text()
    listed = re.findall(r"^\s*Downloading \S+ \(([\d.]+) (bytes|kB|MB|GB)\)", text, flags=re.MULTILINE)
    downloaded = sum(float(n) * UNITS[unit] for n, unit in listed)
    local = {Path(p) for p in re.findall(r"^Processing (/\S+\.whl)", text, flags=re.MULTILINE)}
    said = re.search(r"^torch 2\.13\.0.*$", text, flags=re.MULTILINE)
    torch_line = subprocess.run([str(clone / ".venv/bin/python"), "-c", TORCH], capture_output=True,
                                text=True).stdout.strip()
    return {"venv_mb": round(disk_mb(clone / ".venv")), "downloaded_mb": round(downloaded),
            "local_wheels_mb": round(sum(p.stat().st_size for p in local if p.exists()) / 1e6),
            "torch_installed": torch_line, "torch_line": said.group(0) if said else None}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print one JSON object, no table")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="setup-bench-") as tmp:
        run = first_run(Path(tmp))
    result = {**run, "python": sys.version.split()[0], "cores": os.cpu_count()}
    if args.json:
        print(json.dumps(result))
        return
    print(f"{'venv s':>7} {'lab s':>7} {'.venv MB':>9} {'downloaded MB':>13} {'local MB':>8}  torch")
    print(f"{run['seconds_venv_built']:>7} {run['seconds_lab_answering']:>7} {run['venv_mb']:>9} "
          f"{run['downloaded_mb']:>13} {run['local_wheels_mb']:>8}  {run['torch_installed']}")
    if run["torch_line"]:
        print(f"make said: {run['torch_line']}")
    print(f"(a fresh clone's first `make lab`, pip's cache cold; Python {result['python']}, "
          f"{result['cores']} cores, load average {os.getloadavg()[0]:.1f})")


if __name__ == "__main__":
    main()

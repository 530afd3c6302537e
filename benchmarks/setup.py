"""A learner's first `make lab`, measured: from a fresh clone to JupyterLab answering on its port.

    python benchmarks/setup.py [--installers pip,uv] [--json]

For each installer, side by side in one run, in a temporary folder: `git clone` of this repository's
HEAD, a cold package cache, then `make lab` until JupyterLab answers /api/status on 127.0.0.1 (its port
and token set through JUPYTER_PORT and JUPYTER_TOKEN). "pip" is `make lab` itself; "uv" builds the same
.venv from the same pins and the same sources with `uv pip install`, then runs `make lab`, to see
whether uv would be worth adopting. uv does not read pip's configuration: the sources pip is configured
with (`pip config list`: find-links, extra indexes) are passed to it, so that both see the same files.
uv is skipped when its resolution takes a CUDA torch (gigabytes, never installed here).

Columns: seconds to .venv built and to JupyterLab answering (the clone included), .venv on disk (MB),
for pip the MB it downloaded (the sizes its "Downloading x (N MB)" lines list) and the MB of wheels it
took from this machine's disk (find-links and file:// indexes: the CPU torch among them), so their sum
is what a learner downloads; the torch build (torch.__version__ in .venv; the line `make` says below);
and whether uv's .venv holds the same distributions at the same versions as pip's (pip itself aside).
The logs are kept in $TMPDIR/setup-bench-logs/.
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
UV_VERSION = "0.13.8"  # PyPI's uv, installed into a scratch folder when none is on PATH
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


def pip_sources() -> list[str]:
    """pip's configured find-links and extra indexes (env and files), as uv arguments."""
    listed = subprocess.run([sys.executable, "-m", "pip", "config", "list"], capture_output=True,
                            text=True).stdout
    args = []
    for key, value in re.findall(r"^\S*?\.?([\w-]+)='(.*)'$", listed, flags=re.MULTILINE):
        if key in ("find-links", "extra-index-url", "index-url"):
            for item in value.split():
                if f"--{key} {item}" not in " ".join(args):
                    args += [f"--{key}", item]
    return args


def uv_binary(scratch: Path) -> tuple[str, float]:
    """A uv executable, and the seconds it took to install one (0 when on PATH already)."""
    if found := shutil.which("uv"):
        return found, 0.0
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "venv", str(scratch / "uv-tool")], check=True)
    subprocess.run([str(scratch / "uv-tool/bin/python"), "-m", "pip", "install", "-q",
                    f"uv=={UV_VERSION}"], check=True)
    return str(scratch / "uv-tool/bin/uv"), time.perf_counter() - start


def torch_args(clone: Path, env: dict, log) -> list[str]:
    """The pip arguments tools/torch_index.py gives on this machine (what `make` uses)."""
    out = subprocess.run([sys.executable, str(clone / "tools/torch_index.py")], env=env, stderr=log,
                         stdout=subprocess.PIPE, text=True, check=True).stdout
    return out.split()


def uv_install(uv: str, clone: Path, env: dict, log) -> bool:
    """Build .venv with uv as `make` would with pip; False when uv would take a CUDA torch."""
    log.flush()
    sources = [*torch_args(clone, env, log), *pip_sources(), "--index-strategy", "unsafe-best-match"]
    plan = subprocess.run([uv, "pip", "compile", "--python", env["PYTHON"], "--no-header", *sources,
                           "requirements.txt"], cwd=clone, env=env, capture_output=True, text=True)
    log.write(plan.stdout + plan.stderr)
    if plan.returncode != 0 or re.search(r"^nvidia-", plan.stdout, flags=re.MULTILINE):
        return False
    for command in ([uv, "venv", "--python", env["PYTHON"], ".venv"],
                    [uv, "pip", "install", "--python", ".venv/bin/python", "--compile-bytecode", *sources,
                     "-r", "requirements.txt"]):
        subprocess.run(command, cwd=clone, env=env, stdout=log, stderr=subprocess.STDOUT, check=True)
    (clone / ".venv/bin/.installed").touch()
    return True


def answering(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as r:
            return r.status == 200
    except OSError:
        return False


def first_run(installer: str, scratch: Path, uv: str | None) -> dict:
    """Clone, build .venv with `installer`, start `make lab`; time it until JupyterLab answers."""
    work = scratch / installer
    clone, cache = work / "course", work / "cache"
    port, token = free_port(), secrets.token_hex(16)
    env = {**os.environ, "PIP_CACHE_DIR": str(cache), "UV_CACHE_DIR": str(cache), "BROWSER": "true",
           "JUPYTER_PORT": str(port), "JUPYTER_TOKEN": token,
           "PYTHON": shutil.which("python3.11") or sys.executable}
    work.mkdir(parents=True)
    log = open(work / "log.txt", "w")
    start = time.perf_counter()
    subprocess.run(["git", "clone", "-q", str(ROOT), str(clone)], check=True)
    if installer == "uv" and not uv_install(uv, clone, env, log):
        return {"installer": installer, "skipped": "its resolution takes a CUDA torch (see log)"}
    lab = subprocess.Popen(["make", "lab"], cwd=clone, env=env, stdout=log, stderr=subprocess.STDOUT,
                           start_new_session=True)
    built = None
    try:
        while time.perf_counter() - start < TIMEOUT_S:
            if built is None and (clone / ".venv/bin/.installed").exists():
                built = time.perf_counter() - start
            if built is not None and answering(f"http://127.0.0.1:{port}/api/status?token={token}"):
                break
            if lab.poll() is not None:
                raise RuntimeError(f"make lab stopped ({lab.returncode}): see {work / 'log.txt'}")
            time.sleep(0.2)
        answered = time.perf_counter() - start
    finally:
        os.killpg(lab.pid, signal.SIGTERM)  # the process group this function started
        lab.wait(timeout=60)
        log.close()
    kept = Path(tempfile.gettempdir()) / "setup-bench-logs"
    kept.mkdir(exist_ok=True)
    shutil.copy(work / "log.txt", kept / f"{installer}.txt")
    return {"installer": installer, "seconds_venv_built": round(built, 1),
            "seconds_lab_answering": round(answered, 1), **venv_facts(clone, work / "log.txt")}


UNITS = {"bytes": 1e-6, "kB": 1e-3, "MB": 1.0, "GB": 1e3}
LIST_DISTRIBUTIONS = ("import importlib.metadata as m, torch; print(torch.__version__, torch.version.cuda); "
                      "print(*sorted(f'{d.metadata[\"Name\"].lower()}=={d.version}' "
                      "for d in m.distributions()))")


def venv_facts(clone: Path, log: Path) -> dict:
    """Size of .venv, MB pip downloaded and took from disk, the torch installed, what is installed."""
    text = log.read_text()
    listed = re.findall(r"^\s*Downloading \S+ \(([\d.]+) (bytes|kB|MB|GB)\)", text, flags=re.MULTILINE)
    downloaded = sum(float(n) * UNITS[unit] for n, unit in listed)
    local = {Path(p) for p in re.findall(r"^Processing (/\S+\.whl)", text, flags=re.MULTILINE)}
    said = re.search(r"^torch 2\.13\.0.*$", text, flags=re.MULTILINE)
    torch_line, dists = subprocess.run([str(clone / ".venv/bin/python"), "-c", LIST_DISTRIBUTIONS],
                                       capture_output=True, text=True).stdout.splitlines()[:2]
    return {"venv_mb": round(disk_mb(clone / ".venv")), "downloaded_mb": round(downloaded),
            "local_wheels_mb": round(sum(p.stat().st_size for p in local if p.exists()) / 1e6),
            "torch_installed": torch_line, "torch_line": said.group(0) if said else None,
            "distributions": [d for d in dists.split() if not d.startswith("pip==")]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--installers", default="pip,uv", help="comma-separated: pip, uv")
    parser.add_argument("--json", action="store_true", help="print one JSON object, no table")
    args = parser.parse_args()
    installers = args.installers.split(",")
    with tempfile.TemporaryDirectory(prefix="setup-bench-") as tmp:
        scratch = Path(tmp)
        uv, uv_setup = uv_binary(scratch) if "uv" in installers else (None, 0.0)
        runs = [first_run(name, scratch, uv) for name in installers]
    done = {r["installer"]: r for r in runs if "distributions" in r}
    if "pip" in done and "uv" in done:
        pip_set, uv_set = set(done["pip"]["distributions"]), set(done["uv"]["distributions"])
        done["uv"]["same_as_pip"] = pip_set == uv_set
        done["uv"]["differs_from_pip"] = sorted(pip_set ^ uv_set)
    result = {"runs": runs, "uv_version": UV_VERSION if uv else None, "python": sys.version.split()[0],
              "seconds_installing_uv": round(uv_setup, 1), "cores": os.cpu_count()}
    if args.json:
        print(json.dumps(result))
        return
    print(f"{'installer':<9} {'venv s':>7} {'lab s':>7} {'.venv MB':>9} {'downloaded MB':>13} "
          f"{'local MB':>8}  {'torch':<16} same as pip")
    for r in runs:
        if "skipped" in r:
            print(f"{r['installer']:<9} skipped: {r['skipped']}")
            continue
        pip_only = r["installer"] == "pip"
        print(f"{r['installer']:<9} {r['seconds_venv_built']:>7} {r['seconds_lab_answering']:>7} "
              f"{r['venv_mb']:>9} {r['downloaded_mb'] if pip_only else '-':>13} "
              f"{r['local_wheels_mb'] if pip_only else '-':>8}  {r['torch_installed']:<16} "
              f"{'' if pip_only else r.get('same_as_pip', '?')} {' '.join(r.get('differs_from_pip', []))}")
    for r in runs:
        if r.get("torch_line"):
            print(f"{r['installer']}: {r['torch_line']}")
    if uv:
        print(f"(uv {UV_VERSION} itself took {uv_setup:.1f} s to install, not counted above)")


if __name__ == "__main__":
    main()

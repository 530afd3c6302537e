"""What the course costs to run: every lesson (notebooks/NN_*.ipynb) and every further notebook
(notebooks/further/NNx_*.ipynb) in a fresh kernel, one after the other, as a learner (and nbval) runs
it: in its own folder, the kernel on IPC as `make lab` starts it. For each: the seconds its cells take
(kernel start-up excluded, listed apart), the CPU seconds of its kernel, and the peak resident memory of
its kernel process and any children, in MB.

Peak memory = the larger of the kernel's own high-water mark (VmHWM in /proc/<pid>/status, read
after the last cell, before shutdown) and the largest total RSS of the kernel and its children
seen by polling every 20 ms (psutil).

    .venv/bin/python benchmarks/course.py            a table
    .venv/bin/python benchmarks/course.py --json     one JSON object:
        {"notebooks": {name: {"seconds", "cpu_seconds", "peak_rss_mb"}}, "lessons_seconds",
         "further_seconds", "total_seconds", "max_peak_rss_mb"}; a further notebook's name is
         "further/<its name>"
    .venv/bin/python benchmarks/course.py 03 05      only the notebooks whose names start so (05: lesson
                                                     05 and further/05a, 05b)
A notebook whose cell fails is reported with the error (and "error" in the JSON); exit status 1.

Goals on this machine: every lesson <= 15 s (05 and 06, which train, are the longest), the lessons
00-06 together <= 90 s, every kernel <= 600 MB (Binder's limit leaves room for the server and the
browser's widgets).
"""

import argparse
import asyncio
import json
import os
import tempfile
import threading
import time
from pathlib import Path

import nbformat
import psutil
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError
from traitlets.config import Config

NOTEBOOK_DIR = Path(__file__).resolve().parent.parent / "notebooks"
GOAL_SECONDS, GOAL_LESSON_SECONDS, GOAL_MB = 90.0, 15.0, 600.0
MB = 2**20


class PeakMemory:
    """Polls the RSS of a process and its children in a background thread; keeps the maximum."""

    def __init__(self, pid: int, interval: float = 0.02):
        self.process, self.interval, self.peak = psutil.Process(pid), interval, 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self.sample()
        self._stop.set()
        self._thread.join()

    def sample(self):
        try:
            procs = [self.process, *self.process.children(recursive=True)]
            total = 0
            for p in procs:
                try:
                    total += p.memory_info().rss
                except psutil.NoSuchProcess:
                    pass
            self.peak = max(self.peak, total)
        except psutil.NoSuchProcess:
            pass

    def _poll(self):
        while not self._stop.wait(self.interval):
            self.sample()


def high_water_mark(pid: int) -> int:
    """The kernel process's own peak RSS in bytes (VmHWM), 0 where /proc is unavailable."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


async def measure(path: Path, env: dict, sockets: Path) -> dict:
    """Run one notebook in a fresh kernel: seconds of cell execution, start-up, CPU seconds, peak
    RSS (MB), and the error if a cell failed (the figures then cover the cells up to it). The
    kernel is on IPC, as `make lab` starts it (jupyter/jupyter_server_config.py), its sockets in
    the folder `sockets`."""
    nb = nbformat.read(path, as_version=4)
    ipc = Config({"KernelManager": {"transport": "ipc", "ip": str(sockets / "kernel")}})
    client = NotebookClient(nb, kernel_name="python3", timeout=900, config=ipc,
                            resources={"metadata": {"path": str(path.parent)}})
    start, error = time.perf_counter(), None
    async with client.async_setup_kernel(env=env):
        pid = client.km.provisioner.pid
        await client.async_wait_for_reply(await _ensure(client.kc.kernel_info()))
        startup = time.perf_counter() - start
        with PeakMemory(pid) as memory:
            t0 = time.perf_counter()
            try:
                for index, cell in enumerate(nb.cells):
                    await client.async_execute_cell(
                        cell, index, execution_count=client.code_cells_executed + 1)
            except CellExecutionError as e:
                error = f"cell {index}: {e.ename}: {e.evalue}"[:200]
            seconds = time.perf_counter() - t0
        peak = max(memory.peak, high_water_mark(pid))
        cpu = cpu_seconds(pid)
    result = {"seconds": round(seconds, 2), "startup_seconds": round(startup, 2),
              "cpu_seconds": round(cpu, 2), "peak_rss_mb": round(peak / MB, 1)}
    return {**result, "error": error} if error else result


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system, all threads) of the kernel and its children so far: unlike wall
    time it hardly changes when other work shares the machine."""
    try:
        process = psutil.Process(pid)
        times = [process.cpu_times(), *(c.cpu_times() for c in process.children(recursive=True))]
    except psutil.NoSuchProcess:
        return 0.0
    return sum(t.user + t.system for t in times)


async def _ensure(value):
    return await value if asyncio.iscoroutine(value) else value


def notebooks(prefixes: list[str]) -> dict[str, Path]:
    """{name: path}: the lessons in order, then the further notebooks ("further/<name>"), those
    whose file names start with one of `prefixes` (all when none)."""
    lessons = sorted(NOTEBOOK_DIR.glob("[0-9][0-9]_*.ipynb"))
    further = sorted((NOTEBOOK_DIR / "further").glob("[0-9][0-9][a-z]_*.ipynb"))
    found = {p.stem: p for p in lessons} | {f"further/{p.stem}": p for p in further}
    return {name: p for name, p in found.items()
            if not prefixes or any(p.name.startswith(x) for x in prefixes)}


def run(prefixes: list[str]) -> dict:
    """Every notebook (or those whose names start with a prefix), one after the other, training
    included (the lessons keep no trained weights between runs)."""
    paths = notebooks(prefixes)
    if not paths:
        raise SystemExit(f"no notebooks matching {prefixes} in {NOTEBOOK_DIR} or its further/")
    with tempfile.TemporaryDirectory(prefix="k-") as sockets:  # short: a socket path has ~104 bytes
        env = dict(os.environ)
        results = {name: asyncio.run(measure(p, env, Path(sockets))) for name, p in paths.items()}

    def seconds(further: bool) -> float:
        return round(sum(r["seconds"] for n, r in results.items() if n.startswith("further/") == further), 2)

    return {"notebooks": results, "lessons_seconds": seconds(False), "further_seconds": seconds(True),
            "total_seconds": round(sum(r["seconds"] for r in results.values()), 2),
            "max_peak_rss_mb": max(r["peak_rss_mb"] for r in results.values())}


def table(report: dict) -> str:
    rows = [f"{'notebook':<40} {'seconds':>8} {'start-up s':>10} {'CPU s':>7} {'peak RSS MB':>12}"]
    for name, r in report["notebooks"].items():
        lesson = not name.startswith("further/")
        flag = f"  over {GOAL_LESSON_SECONDS:.0f} s" if lesson and r["seconds"] > GOAL_LESSON_SECONDS else ""
        flag += f"  over {GOAL_MB:.0f} MB" if r["peak_rss_mb"] > GOAL_MB else ""
        flag += f"  FAILED at {r['error']}" if "error" in r else ""
        rows.append(f"{name:<40} {r['seconds']:>8.2f} {r['startup_seconds']:>10.2f} "
                    f"{r['cpu_seconds']:>7.1f} {r['peak_rss_mb']:>12.1f}{flag}")
    runs, peak = report["notebooks"].values(), report["max_peak_rss_mb"]
    cpu = sum(r["cpu_seconds"] for r in runs)
    rows.append(f"{'lessons together':<40} {report['lessons_seconds']:>8.2f}")
    rows.append(f"{'further notebooks together':<40} {report['further_seconds']:>8.2f}")
    rows.append(f"{'all':<40} {report['total_seconds']:>8.2f} {'':>10} {cpu:>7.1f} {peak:>12.1f}")
    slow = [n for n, r in report["notebooks"].items()
            if not n.startswith("further/") and r["seconds"] > GOAL_LESSON_SECONDS]
    rows.append(f"goals: every lesson <= {GOAL_LESSON_SECONDS:.0f} s "
                f"({'MISSED by ' + ', '.join(slow) if slow else 'met'}), lessons together <= "
                f"{GOAL_SECONDS:.0f} s ({'met' if report['lessons_seconds'] <= GOAL_SECONDS else 'MISSED'}), "
                f"every kernel <= {GOAL_MB:.0f} MB ({'met' if peak <= GOAL_MB else 'MISSED'})")
    rows.append(f"load average while measuring: {psutil.getloadavg()[0]:.1f} on "
                f"{psutil.cpu_count()} CPUs (wall seconds grow with load; CPU s much less)")
    return "\n".join(rows)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="*", help="name prefixes, e.g. 03 05 (default: all)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()
    report = run(args.notebooks)
    if args.json:
        keys = ("seconds", "cpu_seconds", "peak_rss_mb", "error")
        out = {**report, "notebooks": {k: {key: v[key] for key in keys if key in v}
                                       for k, v in report["notebooks"].items()}}
        print(json.dumps(out))
    else:
        print(table(report))
    if any("error" in r for r in report["notebooks"].values()):
        raise SystemExit(1)


if __name__ == "__main__":
    main()

"""Key press -> image in the browser: every dashboard on the course's own stack, next to its floor.

    .venv/bin/python benchmarks/browser_latency.py              a table
    .venv/bin/python benchmarks/browser_latency.py --json       one JSON object:
        {"dashboards": {NAME: {"load_median_ms", "load_p90_ms", "src_median_ms",
                               "floor_load_median_ms", "over_floor_ms"}}, "moves", "warmup", "load_average"}
    .venv/bin/python benchmarks/browser_latency.py --only 05    only the dashboards whose name holds "05"

The course's Jupyter server (harness/browser_lab.py: jupyter/jupyter_server_config.py, what `make lab` and
Binder start) runs on 127.0.0.1 with a token and fresh folders, and opens a notebook made on the fly: first
a "floor" dashboard, a slider whose observer only swaps between two ready-made PNGs (no computing, no
drawing), then every dashboard of `vaelib.dashboards.all_dashboards()`. Headless Chromium presses an arrow
key on each dashboard's first slider and on the floor's, the two taking turns press by press (so a busy
moment of this shared machine falls on both), and times the key press to the new image src (the kernel's
round trip: slider message, update, PNG back) and to the image loaded (shown). The floor is what
ipywidgets, the kernel, the server and the browser cost on their own; what a dashboard takes beyond it is
the course's.

Goal (issue 16): every dashboard's median key -> shown within 8 ms of the floor's median over the same
turns. Needs Debian's chromium (`apt-get install chromium`); about 2 minutes on 2 cores.
"""

import argparse
import json
import os
import signal
import statistics
import sys
import tempfile
import time
from pathlib import Path

from harness import browser_lab as lab
from vaelib.dashboards import all_dashboards

FLOOR = """import io
import ipywidgets as W
from PIL import Image

def blank(colour):
    buffer = io.BytesIO()
    Image.new('RGB', (720, 240), colour).save(buffer, 'png')
    return buffer.getvalue()

pngs = [blank('teal'), blank('orange')]
floor_slider = W.FloatSlider(description='floor', min=0, max=100, step=1)
floor_image = W.Image(value=pngs[0], format='png')
floor_slider.observe(lambda change: setattr(floor_image, 'value', pngs[int(change['new']) % 2]),
                     names='value')
W.VBox([floor_slider, floor_image])"""
FLOOR_GOAL_MS = 8.0


def probe_cells(names) -> list[str]:
    """The floor's cell, then one cell per dashboard: the page's dashboard boxes in this order."""
    return [FLOOR, "from vaelib.dashboards import all_dashboards\n\nDASHBOARDS = all_dashboards()",
            *(f"DASHBOARDS[{name!r}]()" for name in names)]


def summary(moves: list[dict], floor: list[dict]) -> dict:
    load, src = [m["load_ms"] for m in moves], [m["src_ms"] for m in moves]
    floor_load = statistics.median(m["load_ms"] for m in floor)
    return {"load_median_ms": round(statistics.median(load), 1),
            "load_p90_ms": round(statistics.quantiles(load, n=10)[-1], 1),
            "src_median_ms": round(statistics.median(src), 1),
            "floor_load_median_ms": round(floor_load, 1),
            "over_floor_ms": round(statistics.median(load) - floor_load, 1)}


def take_turns(page, boxes: dict, moves: int, warmup: int, timeout: float) -> dict:
    """One key press per box per round, who goes first alternating; {box name: timed moves}."""
    timed = {who: [] for who in boxes}
    for move in range(warmup + moves):
        order = list(boxes) if move % 2 == 0 else list(boxes)[::-1]
        for who in order:
            step = lab.move_slider(page, boxes[who], 0, 1, timeout)
            if move >= warmup:
                timed[who] += step
    return timed


def measure(moves: int, warmup: int, only: str = "", timeout: float = 300) -> dict:
    from playwright.sync_api import sync_playwright

    names = [n for n in all_dashboards() if only in n]
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        lab.write_notebook(tmp / "probe" / "probe.ipynb", probe_cells(names))
        (tmp / "lab").mkdir()
        server = lab.LabServer(tmp / "probe", tmp / "lab", os.urandom(16).hex(), stack="course")
        try:
            server.start()
            with sync_playwright() as p:
                context = p.chromium.launch_persistent_context(
                    str(tmp / "profile"), executable_path=str(lab.CHROMIUM), headless=True,
                    args=lab.CHROMIUM_ARGS, viewport={"width": 1400, "height": 1000})
                try:
                    page = open_probe(context, server, timeout)
                    out = {}
                    for i, name in enumerate(names, start=1):  # box 0 is the floor
                        progress(f"timing {name}")
                        boxes = {"floor": lab.dashboard(page, 0), "dashboard": lab.dashboard(page, i)}
                        timed = take_turns(page, boxes, moves, warmup, timeout)
                        out[name] = summary(timed["dashboard"], timed["floor"])
                    return out
                finally:
                    context.close()
        finally:
            server.stop()


def progress(line: str):
    print(f"[{time.strftime('%H:%M:%S')}] {line}", file=sys.stderr, flush=True)


def open_probe(context, server, timeout):
    progress("running the probe notebook on the course's stack")
    page = context.new_page()
    lab.open_notebook(page, server, "probe/probe.ipynb", "latency", timeout)
    state = lab.run_all_cells(page, timeout)
    if state["errors"]:
        raise RuntimeError(f"the probe notebook failed: {state['errors']}")
    lab.wait_for_widgets(page, timeout)
    return page


def print_table(results: dict, moves: int, warmup: int, load: float):
    print(f"{'key -> image shown, ms':<36}{'median':>8}{'p90':>8}{'kernel':>8}{'floor':>8}"
          f"{'over floor':>12}  goal")
    for name, r in results.items():
        ok = "met" if r["over_floor_ms"] <= FLOOR_GOAL_MS else "NOT met"
        print(f"{name:<36}{r['load_median_ms']:>8.1f}{r['load_p90_ms']:>8.1f}{r['src_median_ms']:>8.1f}"
              f"{r['floor_load_median_ms']:>8.1f}{r['over_floor_ms']:>+12.1f}  {ok}")
    print(f"(medians of {moves} key presses per dashboard after {warmup} untimed, each taking turns "
          f"with the floor's; kernel: key -> new image src, the round trip through the kernel; goal: "
          f"within {FLOOR_GOAL_MS:g} ms of the floor; headless Chromium; load average {load:.1f} at the "
          f"start)")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    ap.add_argument("--moves", type=int, default=30, help="timed key presses per dashboard (>= 10)")
    ap.add_argument("--warmup", type=int, default=5, help="untimed key presses first")
    ap.add_argument("--only", default="", metavar="TEXT",
                    help="time only the dashboards whose name contains TEXT")
    args = ap.parse_args(argv)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # stop the server on the way out
    if args.moves < 10 or args.warmup < 0:
        ap.error("--moves must be >= 10 and --warmup >= 0")
    if not lab.CHROMIUM.exists():
        ap.error(f"no browser at {lab.CHROMIUM}: apt-get install -y chromium")
    if not any(args.only in n for n in all_dashboards()):
        ap.error(f"--only {args.only!r}: no dashboard's name contains it; expected part of one of "
                 f"{list(all_dashboards())}")
    load = os.getloadavg()[0]
    results = measure(args.moves, args.warmup, args.only)
    if args.json:
        print(json.dumps({"dashboards": results, "moves": args.moves, "warmup": args.warmup,
                          "load_average": round(load, 2)}, indent=2, ensure_ascii=False))
    else:
        print_table(results, args.moves, args.warmup, load)
    return 0


if __name__ == "__main__":
    sys.exit(main())

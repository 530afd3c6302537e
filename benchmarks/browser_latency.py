"""Slider latency in a real browser: every dashboard against the floor of the widget stack.

    .venv/bin/python benchmarks/browser_latency.py            a table
    .venv/bin/python benchmarks/browser_latency.py --json     one JSON object

JupyterLab (127.0.0.1, a token, fresh folders) runs a notebook made on the fly: first a "floor"
dashboard, a slider whose observer only swaps between two ready-made PNGs of the same size (no
computing, no drawing), then every dashboard of `vaelib.dashboards.all_dashboards()`. Headless
Chromium presses an arrow key on each one's first slider and times, per move, the key press to
the new image src (kernel round trip: slider message, update, PNG back) and to the image loaded
(decoded and shown). The floor is what ipywidgets, the kernel, the server and the browser cost
on their own; the rest is ours. Needs Debian's chromium (`apt-get install chromium`).
"""

import argparse
import json
import os
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
import browser_lab as lab  # noqa: E402

from vaelib.dashboards import all_dashboards  # noqa: E402

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


def probe_notebook(names) -> dict:
    cells = [FLOOR, "from vaelib.dashboards import all_dashboards\n\nDASHBOARDS = all_dashboards()"]
    cells += [f"DASHBOARDS[{name!r}]().widget" for name in names]
    return {"cells": [{"cell_type": "code", "execution_count": None, "id": f"probe-{i}",
                       "metadata": {}, "outputs": [], "source": source}
                      for i, source in enumerate(cells)],
            "nbformat": 4, "nbformat_minor": 5,
            "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3",
                                        "language": "python"}}}


def summary(moves: list[dict]) -> dict:
    src, load = [m["src_ms"] for m in moves], [m["load_ms"] for m in moves]
    return {"src_median_ms": round(statistics.median(src), 1),
            "load_median_ms": round(statistics.median(load), 1),
            "load_p90_ms": round(statistics.quantiles(load, n=10)[-1], 1), "moves": len(moves)}


def measure(moves: int, warmup: int, timeout: float = 120) -> dict:
    from playwright.sync_api import sync_playwright

    names = list(all_dashboards())
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        (tmp / "probe").mkdir()
        (tmp / "probe" / "probe.ipynb").write_text(json.dumps(probe_notebook(names)))
        (tmp / "lab").mkdir()
        server = lab.LabServer(tmp / "probe", tmp / "lab", token=os.urandom(16).hex())
        server.start()
        try:
            with sync_playwright() as p:
                context = p.chromium.launch_persistent_context(
                    str(tmp / "profile"), executable_path=str(lab.CHROMIUM), headless=True,
                    args=lab.CHROMIUM_ARGS, viewport={"width": 1400, "height": 1000})
                try:
                    page = context.new_page()
                    lab.open_notebook(page, server, "probe/probe.ipynb", "latency", timeout)
                    state = lab.run_all_cells(page, timeout)
                    if state["errors"]:
                        raise RuntimeError(f"the probe notebook failed: {state['errors']}")
                    lab.wait_for_widgets(page, timeout)
                    out = {}
                    for i, name in enumerate(["floor (swap two ready PNGs)", *names]):
                        timed = lab.move_slider(page, lab.dashboard(page, i), 0, warmup + moves,
                                                timeout)
                        out[name] = summary(timed[warmup:])
                    return out
                finally:
                    context.close()
        finally:
            server.stop()


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    ap.add_argument("--moves", type=int, default=30, help="timed key presses per dashboard (>= 10)")
    ap.add_argument("--warmup", type=int, default=5, help="untimed key presses first")
    args = ap.parse_args(argv)
    if args.moves < 10 or args.warmup < 0:
        ap.error("--moves must be >= 10 and --warmup >= 0")
    if not lab.CHROMIUM.exists():
        ap.error(f"no browser at {lab.CHROMIUM}: apt-get install -y chromium")
    load = os.getloadavg()[0]
    results = measure(args.moves, args.warmup)
    if args.json:
        print(json.dumps({"dashboards": results, "loadavg": round(load, 2)}, indent=2))
        return 0
    floor = next(iter(results.values()))
    print(f"{'dashboard':<34}{'key->src ms':>12}{'key->shown ms':>14}{'p90':>7}{'over floor':>11}")
    for name, r in results.items():
        print(f"{name:<34}{r['src_median_ms']:>12.1f}{r['load_median_ms']:>14.1f}{r['load_p90_ms']:>7.1f}"
              f"{r['load_median_ms'] - floor['load_median_ms']:>+11.1f}")
    print(f"(medians of {args.moves} key presses each after {args.warmup} untimed; headless Chromium; "
          f"load average {load:.1f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Slider latency in a real browser: the stock widget stack and the course's, side by side.

    .venv/bin/python benchmarks/browser_latency.py              a table
    .venv/bin/python benchmarks/browser_latency.py --json       one JSON object
    .venv/bin/python benchmarks/browser_latency.py --echo       two more stacks: each with
                                                                ipywidgets' echo_update off
    .venv/bin/python benchmarks/browser_latency.py --images     the image path alone: PNG
                                                                variants, encoded and decoded
    .venv/bin/python benchmarks/browser_latency.py --breakdown  where each move's time goes:
                                                                browser, server, kernel

Two Jupyter servers run at once on 127.0.0.1 with a token and fresh folders (tests/browser_lab.py):
"stock" is jupyter_server and JupyterLab as installed; "course" adds jupyter/jupyter_server_config.py
(the kernel websocket with TCP_NODELAY, kernels on IPC), exactly what `make lab` and Binder start.
Each opens a notebook made on the fly: first a "floor" dashboard, a slider whose observer only
swaps between two ready-made PNGs of the same size (no computing, no drawing), then every
dashboard of `vaelib.dashboards.all_dashboards()`. Headless Chromium presses an arrow key on each
one's first slider, the stacks taking turns press by press (so a busy moment of this shared
machine falls on both), and times the key press to the new image src (kernel round trip: slider
message, update, PNG back) and to the image loaded (shown). The floor is what ipywidgets, the
kernel, the server and the browser cost on their own; the rest is ours.

Goals (issue 16), as ratios within one run: every dashboard's median key -> shown on the course's
stack <= 0.6 x the same dashboard on the stock stack, and within 8 ms of the course stack's floor.
Needs Debian's chromium (`apt-get install chromium`).
"""

import argparse
import base64
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

FLOOR_NAME = "floor (swap two ready PNGs)"
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
# label: (server configuration, extra environment of the server and its kernels)
STACKS = {"stock": ("stock", {}), "course": ("course", {}),
          "stock, echo off": ("stock", {"JUPYTER_WIDGETS_ECHO": "0"}),
          "course, echo off": ("course", {"JUPYTER_WIDGETS_ECHO": "0"})}
RATIO_GOAL, FLOOR_GOAL_MS = 0.6, 8.0


def probe_cells(names) -> list[str]:
    return [FLOOR, "from vaelib.dashboards import all_dashboards\n\nDASHBOARDS = all_dashboards()",
            *(f"DASHBOARDS[{name!r}]()" for name in names)]


def summary(moves: list[dict]) -> dict:
    src, load = [m["src_ms"] for m in moves], [m["load_ms"] for m in moves]
    return {"src_median_ms": round(statistics.median(src), 1),
            "load_median_ms": round(statistics.median(load), 1),
            "load_p90_ms": round(statistics.quantiles(load, n=10)[-1], 1)}


def measure(moves: int, warmup: int, labels: list[str], only: str = "", timeout: float = 180,
            breakdown: bool = False) -> dict:
    from playwright.sync_api import sync_playwright

    names = [FLOOR_NAME, *(n for n in all_dashboards() if only in n)]
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        lab.write_notebook(tmp / "probe" / "probe.ipynb", probe_cells(names[1:]))
        servers = {}
        try:
            for i, label in enumerate(labels):
                stack, env = STACKS[label]
                (tmp / f"lab{i}").mkdir()
                servers[label] = lab.LabServer(tmp / "probe", tmp / f"lab{i}", os.urandom(16).hex(),
                                               stack=stack, env={"VAELIB_CACHE": str(tmp / "cache"),
                                                                 **env})  # lesson 05 trains once
                servers[label].start()
            with sync_playwright() as p:
                context = p.chromium.launch_persistent_context(
                    str(tmp / "profile"), executable_path=str(lab.CHROMIUM), headless=True,
                    args=lab.CHROMIUM_ARGS, viewport={"width": 1400, "height": 1000})
                if breakdown:
                    context.add_init_script(FRAMES)
                try:
                    pages = {label: open_probe(context, servers[label], timeout) for label in labels}
                    timed = {label: {name: [] for name in names} for label in labels}
                    phases = {label: {name: [] for name in names} for label in labels}
                    uncertain = {label: {} for label in labels}  # the clock offset's, per dashboard
                    for i, name in enumerate(names):
                        progress(f"timing {name}")
                        boxes = {label: lab.dashboard(pages[label], i) for label in labels}
                        clocks = {label: page_clock(pages[label]) for label in labels} if breakdown else {}
                        for label in clocks:
                            uncertain[label][name] = clocks[label][1]
                        for move in range(warmup + moves):
                            turn = labels if move % 2 == 0 else labels[::-1]  # who goes first alternates
                            for label in turn:
                                step = lab.move_slider(pages[label], boxes[label], 0, 1, timeout)
                                if move >= warmup:
                                    timed[label][name] += step
                                    if breakdown:
                                        phases[label][name].append(
                                            move_phases(pages[label], step[0], clocks[label]))
                    out = {label: {name: summary(timed[label][name]) for name in names}
                           for label in labels}
                    if breakdown:
                        for label in labels:
                            for name in names:
                                out[label][name]["phases_median_ms"] = {
                                    phase: round(statistics.median(p[phase] for p in phases[label][name]), 2)
                                    for phase in PHASES}
                                out[label][name]["clock_uncertainty_ms"] = round(uncertain[label][name], 2)
                    return out
                finally:
                    context.close()
        finally:
            for server in servers.values():
                server.stop()


def progress(line: str):
    print(f"[{time.strftime('%H:%M:%S')}] {line}", file=sys.stderr, flush=True)


def open_probe(context, server, timeout):
    progress(f"running the probe notebook on the {server.stack} stack")
    page = context.new_page()
    lab.open_notebook(page, server, "probe/probe.ipynb", "latency", timeout)
    state = lab.run_all_cells(page, timeout)
    if state["errors"]:
        raise RuntimeError(f"the probe notebook failed: {state['errors']}")
    lab.wait_for_widgets(page, timeout)
    return page


def goals(stacks: dict) -> list[str]:
    """One line per dashboard: the course's median against 0.6 x stock and the floor + 8 ms."""
    stock, course = stacks["stock"], stacks["course"]
    floor = course[FLOOR_NAME]["load_median_ms"]
    lines = []
    for name, r in course.items():
        if name == FLOOR_NAME:
            continue
        ratio = r["load_median_ms"] / stock[name]["load_median_ms"]
        over = r["load_median_ms"] - floor
        ok = "met" if ratio <= RATIO_GOAL and over <= FLOOR_GOAL_MS else "NOT met"
        lines.append(f"{name:<34} course/stock {ratio:5.2f} (goal <= {RATIO_GOAL})   over the "
                     f"course floor {over:+5.1f} ms (goal <= {FLOOR_GOAL_MS:.0f})   {ok}")
    return lines


def print_table(stacks: dict, moves: int, warmup: int, load: float):
    labels = list(stacks)
    head = "".join(f"{label[:22]:>24}" for label in labels)
    print(f"{'key -> shown, median / p90 ms':<34}{head}")
    for name in stacks[labels[0]]:
        cells = "".join(f"{stacks[label][name]['load_median_ms']:>13.1f} / "
                        f"{stacks[label][name]['load_p90_ms']:<8.1f}" for label in labels)
        print(f"{name:<34}{cells}")
    print(f"{'key -> src (kernel round trip), median':<34}")
    for name in stacks[labels[0]]:
        print(f"{name:<34}" + "".join(f"{stacks[label][name]['src_median_ms']:>13.1f}{'':<11}"
                                      for label in labels))
    print()
    for line in goals(stacks):
        print(line)
    print(f"(medians of {moves} key presses per dashboard and stack after {warmup} untimed, the "
          f"stacks taking turns; headless Chromium; load average {load:.1f} at the start)")


# ---------------------------------------------------------------- --breakdown: where a move's time goes

# Every websocket frame the page sends or receives, with its time and, from the frame's own
# header (the v1 kernel protocol of jupyter_server: the part count, the offsets, then channel,
# header, parent header, metadata, content, buffers), its msg_type, comm method or kernel state,
# and the date its sender wrote into it. Installed before the page's scripts, so this listener runs first.
FRAMES = """(() => {
    window.__frames = [];
    const Native = window.WebSocket, utf8 = new TextDecoder();
    const read = (data) => {
        if (typeof data === 'string') {
            const m = JSON.parse(data);
            const c = m.content || {};
            return [m.header.msg_type, m.header.date, c.execution_state || (c.data || {}).method];
        }
        const v = new DataView(data), at = i => Number(v.getBigUint64(8 * (i + 1), true));
        const part = i => utf8.decode(new Uint8Array(data, at(i), at(i + 1) - at(i)));
        const header = JSON.parse(part(1)), type = header.msg_type;
        const content = type === 'comm_msg' || type === 'status' ? JSON.parse(part(4)) : {};
        return [type, header.date, type === 'status' ? content.execution_state : (content.data || {}).method];
    };
    const note = (dir, data, t) => {
        let info = [];
        try { info = read(data); } catch (e) { /* not a kernel message */ }
        window.__frames.push({t, dir, bytes: data.byteLength ?? data.length,
                              type: info[0], date: info[1], detail: info[2]});
    };
    class Timed extends Native {
        constructor(...args) {
            super(...args);
            this.addEventListener('message', e => note('in', e.data, performance.now()));
        }
        send(data) { note('out', data, performance.now()); return super.send(data); }
    }
    window.WebSocket = Timed;
})();"""
PHASES = {  # name: what it holds
    "key -> sent": "the browser: slider view, widget model, kernel connection, websocket",
    "sent -> kernel busy": "the server and ZeroMQ in, the kernel picking the message up",
    "kernel busy -> image sent": "the kernel: the observer (ours: compute, draw, PNG) and the reply",
    "image sent -> received": "ZeroMQ and the server out, then the browser's network stack and the "
                              "page's task queue (server_latency.py: the server's part is ~1-2 ms)",
    "received -> src": "the browser: kernel connection, widget manager, image view",
    "src -> load": "the browser: the image decoded and laid out",
}


def page_clock(page, tries: int = 15) -> tuple[float, float]:
    """(ms to add to the page's performance.now() for Unix time, the kernels' clock; its
    uncertainty), from the page round trip that took least time."""
    best = (float("inf"), 0.0)
    for _ in range(tries):
        t0 = time.time() * 1e3
        now = page.evaluate("performance.now()")
        t1 = time.time() * 1e3
        best = min(best, (t1 - t0, (t0 + t1) / 2 - now))
    return best[1], best[0] / 2


def unix_ms(date: str) -> float:
    from datetime import datetime
    return datetime.fromisoformat(date).timestamp() * 1e3


def move_phases(page, step: dict, clock: tuple[float, float]) -> dict:
    """One move's time split at the websocket frames: the page's times and the kernel's dates
    (same machine, same clock) on one axis; clears the page's frame record."""
    key, src, load = step["times"]
    frames = page.evaluate("(() => { const f = window.__frames; window.__frames = []; return f; })()")
    out = [f for f in frames if f["dir"] == "out" and key <= f["t"]]
    sent = next(f for f in out if f["type"] == "comm_msg")
    came = [f for f in frames if f["dir"] == "in" and sent["t"] <= f["t"] <= src]
    busy = next(f for f in came if f["type"] == "status" and f["detail"] == "busy")
    image = max((f for f in came if f["detail"] == "update"), key=lambda f: f["bytes"])
    busy_at, image_at = unix_ms(busy["date"]) - clock[0], unix_ms(image["date"]) - clock[0]
    return dict(zip(PHASES, [sent["t"] - key, busy_at - sent["t"], image_at - busy_at,
                             image["t"] - image_at, src - image["t"], load - src], strict=True))


def print_breakdown(stacks: dict):
    labels = list(stacks)
    print("\nwhere a move's time goes, median ms (the page's times and the kernel's dates on one clock)")
    for label in labels:
        print(f"\n{label} stack" + "".join(f"{p:>14}" for p in ["key->sent", "->busy", "busy->image",
                                                                   "->received", "->src", "src->load"]))
        for name, r in stacks[label].items():
            print(f"{name[:34]:<40}" + "".join(f"{r['phases_median_ms'][p]:>14.2f}" for p in PHASES))
    print()
    for phase, what in PHASES.items():
        print(f"  {phase:<28}{what}")
    worst = max(r["clock_uncertainty_ms"] for st in stacks.values() for r in st.values())
    print(f"(the page's clock put on the kernels' to within {worst:.2f} ms: the two middle phases "
          f"carry that error, in opposite directions)")


# ---------------------------------------------------------------- --images: the image path alone

def png_variants(name: str) -> dict:
    """One dashboard's figure encoded each way the image path could take: {label: (bytes, ms)}."""
    import struct

    import numpy as np

    from vaelib import widgets

    def encode(rgba, channels, filter_type, level):
        h, w, _ = rgba.shape
        flat = np.ascontiguousarray(rgba[..., :channels]).reshape(h, channels * w)
        rows = np.empty((h, channels * w + 1), np.uint8)
        rows[:, 0] = filter_type
        if filter_type == 0:    # None
            rows[:, 1:] = flat
        elif filter_type == 1:  # Sub: each byte minus the same byte of the pixel to its left
            rows[:, 1:channels + 1] = flat[:, :channels]
            rows[:, channels + 1:] = flat[:, channels:] - flat[:, :-channels]
        else:                   # Up: each byte minus the byte above it
            rows[0, 1:] = flat[0]
            rows[1:, 1:] = flat[1:] - flat[:-1]
        header = struct.pack(">IIBBBBB", w, h, 8, 6 if channels == 4 else 2, 0, 0, 0)
        return (b"\x89PNG\r\n\x1a\n" + widgets._chunk(b"IHDR", header)
                + widgets._chunk(b"IDAT", widgets.zlib.compress(memoryview(rows), level))
                + widgets._chunk(b"IEND", b""))

    out, ours = {}, widgets.Dashboard.__init__.__kwdefaults__["pixel_ratio"]
    for ratio in (1, 2):
        dash = all_dashboards()[name]()
        if ratio != dash.pixel_ratio:
            dash = widgets.Dashboard(dash.build, dash.controls, figsize=dash.figsize, dpi=dash.dpi,
                                     pixel_ratio=ratio)
        w, h = dash.fig.canvas.get_width_height(physical=True)
        rgba = np.asarray(dash.fig.canvas.buffer_rgba()).reshape(h, w, 4)
        for channels, filter_type, level in [(4, 0, 1), (3, 0, 1), (4, 2, 1), (4, 1, 1), (4, 0, 6)]:
            label = (f"{w}x{h} {'RGBA' if channels == 4 else 'RGB '} filter "
                     f"{['None', 'Sub', 'Up'][filter_type]:<4} level {level}")
            if (channels, filter_type, level) == (4, 0, 1):
                label += " (ours)" if ratio == ours else ""
                encoder = lambda d=dash: widgets.png(d.fig)  # noqa: E731 (the shipped encoder itself)
            else:
                encoder = lambda a=rgba, c=channels, f=filter_type, v=level: encode(a, c, f, v)  # noqa: E731
            times = []
            for _ in range(21):
                t = time.perf_counter()
                data = encoder()
                times.append((time.perf_counter() - t) * 1e3)
            out[label] = {"bytes": len(data), "encode_ms": statistics.median(times), "png": data}
    return out


# As ipywidgets' ImageView does it: a Blob URL per new value, the old one revoked; one <img> per
# variant (as one per dashboard), the variants taking turns.
DECODE = """async ([pngs, reps]) => {
    const imgs = pngs.map(() => document.body.appendChild(document.createElement('img')));
    const blobs = pngs.map(b => Uint8Array.from(atob(b), c => c.charCodeAt(0)));
    const load = pngs.map(() => []), decode = pngs.map(() => []);
    for (let r = 0; r < reps; r++) for (let k = 0; k < blobs.length; k++) {
        const img = imgs[k];
        const url = URL.createObjectURL(new Blob([blobs[k]], {type: 'image/png'}));
        const loaded = new Promise(ok => { img.onload = ok; });
        const t0 = performance.now(), old = img.src;
        img.src = url;
        if (old) URL.revokeObjectURL(old);
        await loaded;
        const t1 = performance.now();
        await img.decode();
        load[k].push(t1 - t0);
        decode[k].push(performance.now() - t1);
    }
    return [load, decode];
}"""


def measure_images(name: str, reps: int) -> dict:
    from playwright.sync_api import sync_playwright

    variants = png_variants(name)
    pngs = [base64.b64encode(v.pop("png")).decode() for v in variants.values()]
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(lab.CHROMIUM), headless=True,
                                    args=lab.CHROMIUM_ARGS)
        try:
            for scale in (1, 2):
                page = browser.new_page(device_scale_factor=scale)
                load, decode = page.evaluate(DECODE, [pngs, reps])
                for v, lo, de in zip(variants.values(), load, decode, strict=True):
                    v[f"dpr{scale}_src_to_load_ms"] = statistics.median(lo[2:])
                    v[f"dpr{scale}_decode_ms"] = statistics.median(de[2:])
                page.close()
        finally:
            browser.close()
    return {label: {k: round(x, 2) if isinstance(x, float) else x for k, x in v.items()}
            for label, v in variants.items()}


def print_images(name: str, variants: dict, reps: int):
    print(f"the image path of {name!r}: the kernel's encode, then Chromium (Blob URL as ipywidgets "
          f"does), at devicePixelRatio 1 and 2")
    print(f"{'PNG':<44}{'bytes':>8}{'encode':>8}{'src->load':>11}{'decode':>8}{'src->load':>11}{'decode':>8}")
    print(f"{'':<44}{'':>8}{'ms':>8}{'dpr 1':>11}{'dpr 1':>8}{'dpr 2':>11}{'dpr 2':>8}")
    for label, v in variants.items():
        print(f"{label:<44}{v['bytes']:>8}{v['encode_ms']:>8.2f}{v['dpr1_src_to_load_ms']:>11.2f}"
              f"{v['dpr1_decode_ms']:>8.2f}{v['dpr2_src_to_load_ms']:>11.2f}{v['dpr2_decode_ms']:>8.2f}")
    print(f"(medians: encode of 21 runs; in the page {reps - 2} loads per variant, the variants taking "
          f"turns; decode = load -> img.decode() resolved)")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    ap.add_argument("--moves", type=int, default=30, help="timed key presses per dashboard (>= 10)")
    ap.add_argument("--warmup", type=int, default=5, help="untimed key presses first")
    ap.add_argument("--echo", action="store_true",
                    help="add two stacks: each with JUPYTER_WIDGETS_ECHO=0 in the kernels")
    ap.add_argument("--only", default="", metavar="TEXT",
                    help="time only the dashboards whose name contains TEXT (the floor always)")
    ap.add_argument("--images", action="store_true", help="measure the image path alone (no Jupyter)")
    ap.add_argument("--breakdown", action="store_true",
                    help="split each move at its websocket frames: browser, server, kernel")
    ap.add_argument("--dashboard", default="02 linear-Gaussian LVM", help="the figure --images encodes")
    args = ap.parse_args(argv)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # stop the servers on the way out
    if args.moves < 10 or args.warmup < 0:
        ap.error("--moves must be >= 10 and --warmup >= 0")
    if not lab.CHROMIUM.exists():
        ap.error(f"no browser at {lab.CHROMIUM}: apt-get install -y chromium")
    if args.images:
        if args.dashboard not in all_dashboards():
            ap.error(f"--dashboard: expected one of {list(all_dashboards())}")
        variants = measure_images(args.dashboard, reps=args.moves + 2)
        if args.json:
            print(json.dumps({"images": variants}, indent=2, ensure_ascii=False))
        else:
            print_images(args.dashboard, variants, args.moves + 2)
        return 0
    load = os.getloadavg()[0]
    labels = ["stock", "course"] + (["stock, echo off", "course, echo off"] if args.echo else [])
    stacks = measure(args.moves, args.warmup, labels, args.only, breakdown=args.breakdown)
    if args.json:
        print(json.dumps({"stacks": stacks}, indent=2, ensure_ascii=False))
    else:
        print_table(stacks, args.moves, args.warmup, load)
        if args.breakdown:
            print_breakdown(stacks)
    return 0


if __name__ == "__main__":
    sys.exit(main())

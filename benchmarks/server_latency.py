"""The floor's update without a browser: the kernel alone, and through each stack's Jupyter server.

    .venv/bin/python benchmarks/server_latency.py           a table
    .venv/bin/python benchmarks/server_latency.py --json    one JSON object

browser_latency.py's "floor" dashboard (a slider whose observer swaps two ready PNGs) is set up in
a kernel, then its slider is moved by a comm message ("update", the new value), as the widget
front end does, and the time to the image's update message is taken, three ways:
- "kernel alone": jupyter_client talks to the kernel's own sockets (no server, no browser; TCP,
  where the course's server uses IPC);
- "stock server" / "course server": a websocket client (tornado's) talks to the kernel through
  each stack's Jupyter server (tests/browser_lab.py starts them, on 127.0.0.1 with a token).
The three take turns move by move, in one run.
What browser_latency.py measures beyond these is the browser's share: key event, the widget
JavaScript, JupyterLab's kernel connection, the image's decode.
"""

import argparse
import asyncio
import functools
import json
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
sys.path.insert(0, str(Path(__file__).resolve().parent))
import browser_lab as lab  # noqa: E402
from browser_latency import FLOOR  # noqa: E402

SETUP = FLOOR + "\nprint(floor_slider.model_id)"


def update(comm_id: str, value: float) -> dict:
    """The comm message a slider's view sends when it moves."""
    return {"comm_id": comm_id, "data": {"method": "update", "state": {"value": value},
                                         "buffer_paths": []}}


def summary(times: list[float], warmup: int) -> dict:
    t = times[warmup:]
    return {"median_ms": round(statistics.median(t), 2),
            "p90_ms": round(statistics.quantiles(t, n=10)[-1], 2)}


def _is_image(m: dict, slider_id: str) -> bool:
    """The image widget's update (a comm message with a binary buffer), not the slider's echo."""
    return (m["msg_type"] == "comm_msg" and m["content"]["comm_id"] != slider_id
            and bool(m.get("buffers")))


def _message(kind: str, content: dict, session: str) -> str:
    header = {"msg_id": uuid.uuid4().hex, "msg_type": kind, "session": session, "username": "",
              "version": "5.3", "date": ""}
    return json.dumps({"header": header, "parent_header": {}, "metadata": {}, "content": content,
                       "channel": "shell", "buffers": []})


class KernelAlone:
    """The floor in a kernel of its own, reached by jupyter_client (no server; TCP transport)."""

    async def open(self):
        from jupyter_client.manager import start_new_kernel

        self.km, self.kc = start_new_kernel(kernel_name="python3")
        outputs = []
        self.kc.execute_interactive(SETUP, output_hook=outputs.append, timeout=60)
        self.comm_id = next(m["content"]["text"].strip() for m in outputs if m["msg_type"] == "stream")

    async def move(self, value: float):
        self.kc.shell_channel.send(self.kc.session.msg("comm_msg", update(self.comm_id, value)))
        while not _is_image(self.kc.get_iopub_msg(timeout=10), self.comm_id):
            pass

    def close(self):
        self.km.shutdown_kernel(now=True)


class ThroughServer:
    """The floor in a kernel of one stack's Jupyter server, reached by its kernel websocket."""

    def __init__(self, server):
        self.server = server

    async def open(self):
        from tornado.websocket import websocket_connect

        kernel = self.server.api("POST", "/api/kernels")
        ws_url = self.server.url.replace("http", "ws", 1)
        self.ws = await websocket_connect(
            f"{ws_url}/api/kernels/{kernel['id']}/channels?token={self.server.token}")
        self.session, self.comm_id = uuid.uuid4().hex, None
        await self.ws.write_message(_message("execute_request", {
            "code": SETUP, "silent": False, "store_history": False, "user_expressions": {},
            "allow_stdin": False}, self.session))
        while self.comm_id is None:
            m = await self.ws.read_message()
            if isinstance(m, str) and (m := json.loads(m))["msg_type"] == "stream":
                self.comm_id = m["content"]["text"].strip()

    async def move(self, value: float):
        await self.ws.write_message(_message("comm_msg", update(self.comm_id, value), self.session))
        while not isinstance(await self.ws.read_message(), bytes):  # a binary frame: the image
            pass

    def close(self):
        self.ws.close()


async def take_turns(paths: dict, moves: int, warmup: int) -> dict:
    """Move each path's slider once per round, who goes first alternating (as browser_latency.py:
    a busy moment of this shared machine falls on all of them)."""
    for path in paths.values():
        await path.open()
    times = {name: [] for name in paths}
    for k in range(warmup + moves):
        order = list(paths) if k % 2 == 0 else list(paths)[::-1]
        for name in order:
            start = time.perf_counter()
            await paths[name].move(float(1 + k % 2))  # 1, 2, 1, ...: the floor swaps its two images
            times[name].append((time.perf_counter() - start) * 1e3)
            await asyncio.sleep(0.05)
    return {name: summary(t, warmup) for name, t in times.items()}


def measure(moves: int, warmup: int) -> dict:
    from tornado.ioloop import IOLoop

    with tempfile.TemporaryDirectory() as tmp:
        tmp, servers = Path(tmp), {}
        (tmp / "notebooks").mkdir()
        paths = {"kernel alone": KernelAlone()}
        try:
            for stack in ("stock", "course"):
                (tmp / stack).mkdir()
                servers[stack] = lab.LabServer(tmp / "notebooks", tmp / stack, os.urandom(16).hex(),
                                               stack=stack)
                servers[stack].start()
                paths[f"{stack} server"] = ThroughServer(servers[stack])
            return IOLoop.current().run_sync(
                functools.partial(take_turns, paths, moves, warmup), timeout=600)
        finally:
            for path in paths.values():
                if hasattr(path, "km") or hasattr(path, "ws"):
                    path.close()
            for server in servers.values():
                server.stop()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    ap.add_argument("--moves", type=int, default=50, help="timed slider moves per path (>= 10)")
    ap.add_argument("--warmup", type=int, default=10, help="untimed moves first")
    args = ap.parse_args()
    if args.moves < 10 or args.warmup < 0:
        ap.error("--moves must be >= 10 and --warmup >= 0")
    results = measure(args.moves, args.warmup)
    if args.json:
        print(json.dumps(results, indent=2))
        return
    print(f"{'floor: slider update -> image update':<40}{'median ms':>10}{'p90 ms':>10}")
    for path, r in results.items():
        print(f"{path:<40}{r['median_ms']:>10.2f}{r['p90_ms']:>10.2f}")
    print(f"({args.moves} moves per path after {args.warmup} untimed; load average "
          f"{os.getloadavg()[0]:.1f})")


if __name__ == "__main__":
    main()

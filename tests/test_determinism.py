"""Determinism: each lesson, run again in a fresh kernel, prints the numbers it printed the first time.

The first run is nbval's in the same `make test` (conftest.py keeps its outputs in build/executed/, and
schedules the notebooks before this file in one worker); the second is a fresh kernel here, cwd
notebooks/, on IPC. Run on its own (no fresh first run), a lesson is run twice here, side by side.
Compared: every text output of every code cell (stdout streams and text/plain results), after masking
only what legitimately varies from run to run:
durations ("1.2 s", "35 ms", "Wall time: ..."), speed ratios ("2593 times faster", "4.5x slower"),
object addresses (0x7f...), widget model ids (32 hex digits) and tqdm's elapsed/remaining times
and rates. The masking has its own tests.
New notebooks in notebooks/ are picked up without editing this file.
"""

import asyncio
import difflib
import os
import re
import shutil
import tempfile
import time
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from traitlets.config import Config

NOTEBOOK_DIR = Path(__file__).resolve().parent.parent / "notebooks"
EXECUTED = NOTEBOOK_DIR.parent / "build" / "executed"  # nbval's run, kept by conftest.py
SESSION_STARTED = time.time()  # imported when the session (its worker) starts, before nbval runs
NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("[0-9][0-9]_*.ipynb"))
_NUMBER = r"\d+(?:\.\d+)?(?:[eE][-+]?\d+)?"
MASKS = [  # (pattern, replacement), applied in this order
    (re.compile(r"\d+:\d\d(?::\d\d)?<(?:\d+:\d\d(?::\d\d)?|\?)"), "<elapsed<left>"),  # tqdm
    (re.compile(rf"(?:{_NUMBER}|\?)\s?(?:[kMG]?it/s|s/it)\b"), "<rate>"),  # tqdm
    (re.compile(rf"(?<![\w.]){_NUMBER}\s?(?:ms|µs|us|ns|s|sec|secs|seconds|min)\b"), "<time>"),
    (re.compile(rf"(?<![\w.]){_NUMBER}\s?(?:×|x|times)\s(faster|slower)\b"), r"<ratio> \1"),
    (re.compile(r"\b0x[0-9a-fA-F]{4,}\b"), "0x<address>"),
    (re.compile(r"\b[0-9a-f]{32}\b"), "<model id>"),
]


def mask(text: str) -> str:
    """The text with durations, speed ratios, addresses, widget model ids and tqdm timings
    replaced."""
    for pattern, replacement in MASKS:
        text = pattern.sub(replacement, text)
    return text


def text_outputs(nb) -> list[tuple[int, str, str]]:
    """(cell index, kind, masked text) for every stdout stream and text/plain result."""
    out = []
    for i, cell in enumerate(nb.cells):
        for o in cell.get("outputs", []) if cell.cell_type == "code" else []:
            if o.output_type == "stream" and o.name == "stdout":
                out.append((i, "stdout", mask(o.text)))
            elif o.output_type in ("execute_result", "display_data") and "text/plain" in o.data:
                out.append((i, o.output_type, mask(o.data["text/plain"])))
    return _merge_streams(out)


def _merge_streams(outputs):
    """Consecutive stdout chunks of one cell joined: how a stream is chunked depends on timing."""
    merged = []
    for i, kind, text in outputs:
        if merged and kind == "stdout" and merged[-1][:2] == (i, "stdout"):
            merged[-1] = (i, kind, merged[-1][2] + text)
        else:
            merged.append((i, kind, text))
    return merged


async def _execute(path: Path, sockets: str):
    nb = nbformat.read(path, as_version=4)
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "MPLBACKEND": "Agg"}
    ipc = Config({"KernelManager": {"transport": "ipc", "ip": f"{sockets}/kernel"}})
    client = NotebookClient(nb, kernel_name="python3", timeout=600, config=ipc,
                            resources={"metadata": {"path": str(path.parent)}})
    await client.async_execute(env=env)
    return nb


def run(path: Path, times: int = 1) -> list:
    """`times` executions of `path` in fresh kernels at the same time (one thread each)."""

    async def all_of(folders):
        return await asyncio.gather(*(_execute(path, f) for f in folders))

    folders = [tempfile.mkdtemp(prefix="det-kernel-") for _ in range(times)]
    try:
        return asyncio.run(all_of(folders))
    finally:
        for f in folders:
            shutil.rmtree(f, ignore_errors=True)


def first_run(path: Path):
    """nbval's executed copy of `path` from this session (conftest.py), or None."""
    copy = EXECUTED / path.relative_to(NOTEBOOK_DIR)
    fresh = copy.is_file() and copy.stat().st_mtime >= SESSION_STARTED
    return nbformat.read(copy, as_version=4) if fresh else None


def first_difference(a, b) -> str:
    for (i, kind, x), (j, kind2, y) in zip(a, b, strict=False):
        if (i, kind, x) != (j, kind2, y):
            diff = "\n".join(difflib.unified_diff(x.splitlines(), y.splitlines(), "run 1",
                                                  "run 2", lineterm="", n=1))
            return f"cell {i} ({kind}) vs cell {j} ({kind2}):\n{diff[:3000]}"
    return f"run 1 has {len(a)} text outputs, run 2 has {len(b)}"


def test_there_are_notebooks():
    assert NOTEBOOKS and NOTEBOOKS[0].name == "00_start_here.ipynb"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_a_second_run_prints_the_same_numbers(path):
    first = first_run(path)
    first, second = run(path, 2) if first is None else (first, *run(path))
    a, b = text_outputs(first), text_outputs(second)
    assert a, f"{path.name} printed nothing to compare"
    assert a == b, f"{path.name}: the two runs differ; " + first_difference(a, b)


# The masking: narrow enough to keep every number that should repeat.


@pytest.mark.parametrize("text, expected", [
    ("trained in 1.23 s", "trained in <time>"),
    ("took 35ms, then 2.5e-3 s", "took <time>, then <time>"),
    ("CPU times: user 1.1 s, sys: 20 ms, total: 1.12 s\nWall time: 812 µs",
     "CPU times: user <time>, sys: <time>, total: <time>\nWall time: <time>"),
    ("epoch 3: 4.2 seconds", "epoch 3: <time>"),
    ("<vaelib.widgets.Dashboard at 0x7f3a2c1b9e50>", "<vaelib.widgets.Dashboard at 0x<address>>"),
    ("model_id='4f1c8e2a9b7d4c3e8f6a1b2c3d4e5f60'", "model_id='<model id>'"),
    ("training: 100%|##########| 150/150 [00:05<00:00, 27.31it/s, train=-31.20, val=-33.05]",
     "training: 100%|##########| 150/150 [<elapsed<left>, <rate>, train=-31.20, val=-33.05]"),
    ("training:   0%|          | 0/150 [00:00<?, ?it/s]",
     "training:   0%|          | 0/150 [<elapsed<left>, <rate>]"),
    ("slow: 1.5s/it", "slow: <rate>"),
    ("forward pass: 12 µs (2593 times faster)", "forward pass: <time> (<ratio> faster)"),
    ("a blit is 4.5x faster, a re-plot 3× slower",
     "a blit is <ratio> faster, a re-plot <ratio> slower"),
])
def test_mask_hides_what_varies(text, expected):
    assert mask(text) == expected


@pytest.mark.parametrize("text", [
    "ELBO = -96.80 nats per image",
    "log p(x) = -1.2345, KL = 0.0123, s = 0.50",
    "q = N(m, s²) with m = 1.25 and s = 0.3",
    "μ̂ = 1.5324, σ̂ = 0.7981 (3 samples, 1000 steps, K = 5000)",
    "tensor([0.1234, 5.6789], dtype=torch.float64)",
    "digits (offline): (1797, 64)",
    "hidden=(400,), z_dim=20, lr=3e-3",
    "σ = 2.5 sigma, step 0.05",
    "version 2.13.0, 0x12",
    "the IWAE bound at K = 1000 is 3 times the ELBO gap closer",
    "python: 3.11.9   torch: 2.13.0+cpu",
])
def test_mask_keeps_the_numbers_that_matter(text):
    assert mask(text) == text


def test_outputs_compared_are_stdout_and_text_results():
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell(outputs=[
            nbformat.v4.new_output("stream", name="stdout", text="a = 1.0\n"),
            nbformat.v4.new_output("stream", name="stdout", text="took 3 ms\n"),
            nbformat.v4.new_output("stream", name="stderr", text="a warning\n"),
            nbformat.v4.new_output("execute_result", data={"text/plain": "0.25",
                                                           "image/png": "iVBOR"}),
        ]),
        nbformat.v4.new_markdown_cell("no outputs here"),
        nbformat.v4.new_code_cell(outputs=[
            nbformat.v4.new_output("display_data", data={"text/plain": "<Figure at 0x7f00aa>"})]),
    ])
    assert text_outputs(nb) == [(0, "stdout", "a = 1.0\ntook <time>\n"),
                                (0, "execute_result", "0.25"),
                                (2, "display_data", "<Figure at 0x<address>>")]


def test_the_comparison_catches_an_unseeded_number(tmp_path):
    """A notebook with one seeded and one unseeded draw: the runs agree on the first only."""
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell("import random\nrandom.seed(0)\nprint(random.random())"),
        nbformat.v4.new_code_cell("import os\nos.urandom(8).hex()"),
    ])
    path = tmp_path / "99_probe.ipynb"
    nbformat.write(nb, path)
    first, second = run(path, 2)
    a, b = text_outputs(first), text_outputs(second)
    assert a[0] == b[0] and a[0][1] == "stdout"
    assert a[1] != b[1] and "cell 1 (execute_result)" in first_difference(a, b)

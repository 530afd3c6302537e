"""nbval's run of every notebook in `make test` keeps what it executed.

Each notebook under notebooks/ is written, with the outputs nbval's fresh kernel produced, to
build/executed/<its path under notebooks/> once its last code cell has run, and only if every cell
passed (a failed run removes the old copy): `make site` builds the website from these copies
(tools/site.py), so the site shows exactly what CI ran. Written atomically (a temporary file, then
os.replace). `make test-colab` runs without this file (--noconftest) and writes nothing.
"""

import os
import tempfile
from pathlib import Path

import nbformat
import pytest

NOTEBOOKS = Path(__file__).resolve().parent / "notebooks"
EXECUTED = Path(__file__).resolve().parent / "build" / "executed"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    report = (yield).get_result()
    if call.when != "call" or not hasattr(item, "test_outputs") or not hasattr(item.parent, "nb"):
        return  # not an nbval cell
    notebook = item.parent
    item.cell.outputs = list(item.test_outputs or [])  # item.cell is notebook.nb's own cell
    item.cell.execution_count = item.cell_num + 1
    notebook.vaelib_failed = getattr(notebook, "vaelib_failed", False) or report.failed
    code = [c for c in notebook.nb.cells if c.cell_type == "code"]
    if item.cell is code[-1]:
        target = EXECUTED / Path(str(item.path)).resolve().relative_to(NOTEBOOKS)
        if notebook.vaelib_failed:
            target.unlink(missing_ok=True)
        else:
            write_atomically(notebook.nb, target)


def write_atomically(nb, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=target.name, suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            nbformat.write(nb, f)
        os.chmod(tmp, 0o644)  # mkstemp makes it owner-only
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise

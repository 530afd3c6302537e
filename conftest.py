"""`make test`'s order of work, and nbval's run of every notebook kept.

Two workers (pytest-xdist with the scheduler below, in this order): the browser suite in one; in the
other, every notebook with nbval, then the tests that read what nbval ran (test_determinism runs each
lesson once more and compares; test_site builds the website from it); then the rest, a file at a time,
to whichever worker is free.

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


AFTER_NBVAL = ("test_determinism.py", "test_site.py")  # they read build/executed/ from this session


def _group(path: str) -> tuple[int, str]:
    """(rank, group) of a test file: the browser suite, the notebooks and what reads their run, or
    the file itself."""
    name = Path(path).name
    if name == "test_browser.py":
        return 0, "browser"
    if name.endswith(".ipynb"):
        return 1, "notebooks"
    if name in AFTER_NBVAL:
        return 2, "notebooks"
    return 3, name


def pytest_collection_modifyitems(config, items):
    """The order above (a stable sort: each file keeps its own order of tests)."""
    items.sort(key=lambda item: _group(str(item.path))[0])


@pytest.hookimpl(optionalhook=True)  # a pytest-xdist hook: absent under -p no:xdist
def pytest_xdist_make_scheduler(config, log):
    """pytest-xdist hands out whole groups (_group), in the order above, to whichever worker is free."""
    from xdist.scheduler import LoadScopeScheduling

    class Groups(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return _group(nodeid.split("::", 1)[0])[1]

    return Groups(config, log)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    report = (yield).get_result()
    if call.when != "call" or not hasattr(item, "test_outputs") or not hasattr(item.parent, "nb"):
        return  # not an nbval cell
    notebook = item.parent
    outputs = list(item.test_outputs or [])  # item.cell is notebook.nb's own cell
    if _ends_with_semicolon(item.cell.source):  # nbval runs cells without history, where IPython's
        outputs = [o for o in outputs if o.output_type != "execute_result"]  # ';' cannot silence it
    item.cell.outputs = outputs
    item.cell.execution_count = item.cell_num + 1
    notebook.vaelib_failed = getattr(notebook, "vaelib_failed", False) or report.failed
    code = [c for c in notebook.nb.cells if c.cell_type == "code"]
    if item.cell is code[-1]:
        target = EXECUTED / Path(str(item.path)).resolve().relative_to(NOTEBOOKS)
        if notebook.vaelib_failed:
            target.unlink(missing_ok=True)
        else:
            write_atomically(notebook.nb, target)


def _ends_with_semicolon(source: str) -> bool:
    """IPython's rule for a cell whose last expression is silenced by a trailing ';'."""
    from IPython.core.displayhook import DisplayHook
    from IPython.core.inputtransformer2 import TransformerManager

    try:
        return DisplayHook.semicolon_at_end_of_expression(TransformerManager().transform_cell(source))
    except Exception:  # a cell the tokenizer cannot read has no expression to silence
        return False


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

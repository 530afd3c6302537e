"""The notebooks as files: clean (no outputs), and each built the way every lesson is built.

nbval executes them (pytest collects notebooks/ itself); these tests read them without running them.
"""

import json
import pathlib
import re

import pytest

NOTEBOOKS = sorted((pathlib.Path(__file__).parent.parent / "notebooks").glob("*.ipynb"))


def cells(path):
    return json.loads(path.read_text())["cells"]


def text(cell):
    return "".join(cell["source"])


def test_the_course_has_its_first_lessons():
    assert [p.name for p in NOTEBOOKS][:2] == ["00_start_here.ipynb", "01_parametric_gaussians.ipynb"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_committed_without_outputs_or_execution_counts(path):
    dirty = [i for i, c in enumerate(cells(path)) if c.get("outputs") or c.get("execution_count")]
    assert not dirty, f"{path.name}: cells {dirty} carry outputs; clear them before committing"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_opens_with_outcomes_and_ends_with_summary_and_exercises(path):
    cs = cells(path)
    assert cs[0]["cell_type"] == "markdown" and "learning outcomes" in text(cs[0]).lower()
    markdown = "\n".join(text(c) for c in cs if c["cell_type"] == "markdown")
    for heading in ("Summary", "Exercises"):
        assert re.search(rf"^## (\d+\. )?{heading}", markdown, flags=re.MULTILINE), f"no '## {heading}'"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_every_exercise_has_a_stub_a_hidden_solution_and_a_self_check(path):
    cs = cells(path)
    solutions = [i for i, c in enumerate(cs) if "solution" in c.get("metadata", {}).get("tags", [])]
    assert 2 <= len(solutions) <= 4, f"{path.name}: {len(solutions)} exercises, expected 2-4"
    for i in solutions:
        assert cs[i]["metadata"]["jupyter"]["source_hidden"] is True
        assert "NotImplementedError" in text(cs[i - 1]), f"{path.name}: no stub before cell {i}"
        assert "checks.check(" in text(cs[i + 1]), f"{path.name}: no self-check after cell {i}"

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


def outcomes(path) -> list[str]:
    """The lesson's learning outcomes: the numbered list in its first cell."""
    return re.findall(r"^\s*(\d+)\. ", text(cells(path)[0]), flags=re.MULTILINE)


def exercises(path) -> list[dict]:
    """Each exercise: its statement (the markdown before the stub), stub, solution and self-check."""
    cs, found = cells(path), []
    for i, c in enumerate(cs):
        if "solution" in c.get("metadata", {}).get("tags", []):
            statement = next(text(m) for m in reversed(cs[:i - 1]) if m["cell_type"] == "markdown")
            found.append({"statement": statement, "stub": cs[i - 1], "solution": c, "check": cs[i + 1]})
    return found


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_every_exercise_has_a_stub_a_hidden_solution_and_a_self_check(path):
    found = exercises(path)
    assert 3 <= len(found) <= 4, f"{path.name}: {len(found)} exercises, expected 3-4"
    for k, ex in enumerate(found, 1):
        assert ex["solution"]["metadata"]["jupyter"]["source_hidden"] is True
        # the self-check computes the usual wrong answers and the expected value: collapsed, like
        # the solution, so the learner sees its verdict, not its answer
        assert ex["check"]["metadata"].get("jupyter", {}).get("source_hidden") is True, (
            f"{path.name}: exercise {k}'s self-check cell must be collapsed (source_hidden)")
        assert "self-check" in ex["check"]["metadata"].get("tags", []), f"{path.name}: exercise {k}"
        assert "NotImplementedError" in text(ex["stub"]), f"{path.name}: exercise {k} has no stub"
        check = text(ex["check"])
        assert "checks.check(" in check or "checks.choose(" in check, f"{path.name}: exercise {k}: no check"
        assert "wrong=" in check or "checks.choose(" in check, (
            f"{path.name}: exercise {k}'s self-check names no usual wrong answer (wrong={{...}})")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_every_outcome_is_checked_by_an_exercise(path):
    """Each exercise says in one line which outcome it checks ("checks outcome 2"), and every
    numbered outcome of the lesson is checked by at least one exercise."""
    listed = outcomes(path)
    assert listed, f"{path.name}: the learning outcomes must be a numbered list (1. 2. ...)"
    checked = set()
    for k, ex in enumerate(exercises(path), 1):
        said = re.search(r"checks outcomes? ([\d ,and]+)", ex["statement"])
        assert said, f"{path.name}: exercise {k} does not say which outcome it checks ('checks outcome N')"
        checked |= set(re.findall(r"\d+", said.group(1)))
    missing = sorted(set(listed) - checked, key=int)
    assert not missing, f"{path.name}: outcomes {missing} are checked by no exercise"

"""The notebooks as files: clean (no outputs), and each built the way every lesson is built.

nbval executes them (pytest collects notebooks/ itself); these tests read them without running them.
"""

import json
import pathlib
import re

import pytest

NOTEBOOK_DIR = pathlib.Path(__file__).parent.parent / "notebooks"
NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("*.ipynb"))  # the lessons, 00-06
FURTHER = sorted((NOTEBOOK_DIR / "further").glob("*.ipynb"))  # going further, one topic each
OUT_OF_SIGHT = {"check", "solution", "self-check"}  # tags of the cells whose source is collapsed
# A lesson is about 30 minutes for a newcomer (the README's path table): these are its measures.
MAX_WORDS, MAX_CODE_LINES, MAX_CELL_LINES, MAX_PATH_WORDS = 1800, 150, 20, 10_000


def cells(path):
    return json.loads(path.read_text())["cells"]


def text(cell):
    return "".join(cell["source"])


def test_the_course_has_its_first_lessons():
    assert [p.name for p in NOTEBOOKS][:2] == ["00_start_here.ipynb", "01_parametric_gaussians.ipynb"]


@pytest.mark.parametrize("path", NOTEBOOKS + FURTHER, ids=lambda p: p.name)
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


# ---------------------------------------------------------------- the learner's path

def tags(cell) -> set:
    return set(cell.get("metadata", {}).get("tags", []))


def visible_code(path) -> list[str]:
    """The code cells a learner reads: not a check, solution or self-check, not the Colab cell."""
    return [text(c) for c in cells(path) if c["cell_type"] == "code" and not tags(c) & OUT_OF_SIGHT
            and "google.colab" not in text(c)]


def prose_words(path) -> int:
    return sum(len(text(c).split()) for c in cells(path) if c["cell_type"] == "markdown")


@pytest.mark.parametrize("path", NOTEBOOKS + FURTHER, ids=lambda p: p.name)
def test_check_cells_are_collapsed_and_hold_checks(path):
    """A `check` cell: collapsed in JupyterLab and Notebook 7 (source_hidden) and on Colab (a form,
    titled by its #@title line), at least one assert or vaelib check, at most one print."""
    for i, c in enumerate(cells(path)):
        if "check" not in tags(c):
            continue
        src, meta = text(c), c["metadata"]
        assert c["cell_type"] == "code", f"{path.name}: cell {i} is tagged check but is not code"
        assert meta.get("jupyter", {}).get("source_hidden") is True, f"{path.name}: cell {i} not collapsed"
        assert meta.get("cellView") == "form", f"{path.name}: cell {i} lacks Colab's cellView: form"
        assert src.startswith("#@title "), f"{path.name}: cell {i}: no '#@title ...' line (Colab)"
        assert re.search(r"^\s*assert\b|checks\.", src, re.M), f"{path.name}: cell {i} checks nothing"
        assert len(re.findall(r"\bprint\(", src)) <= 1, f"{path.name}: cell {i} prints more than one line"


@pytest.mark.parametrize("path", NOTEBOOKS + FURTHER, ids=lambda p: p.name)
def test_no_assert_in_sight(path):
    shown = [src for src in visible_code(path) if re.search(r"^\s*assert\b", src, re.M)]
    assert not shown, f"{path.name}: {len(shown)} cells a learner reads hold asserts (move them to checks)"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_a_lesson_is_about_thirty_minutes(path):
    code = visible_code(path)
    lines = [len([line for line in src.splitlines() if line.strip()]) for src in code]
    assert prose_words(path) <= MAX_WORDS, f"{path.name}: {prose_words(path)} words of prose"
    assert sum(lines) <= MAX_CODE_LINES, f"{path.name}: {sum(lines)} lines of visible code"
    assert max(lines, default=0) <= MAX_CELL_LINES, f"{path.name}: a visible cell of {max(lines)} lines"


def test_the_path_is_a_few_evenings():
    words = sum(prose_words(p) for p in NOTEBOOKS)
    assert words <= MAX_PATH_WORDS, f"lessons 00-06: {words} words of prose"


def links(path) -> list[str]:
    """The relative targets of the markdown links in a notebook (no URLs, no anchors)."""
    found = []
    for c in cells(path):
        if c["cell_type"] == "markdown":
            found += re.findall(r"\]\((?!https?:|#|mailto:)([^)#\s]+)", text(c))
    return found


@pytest.mark.parametrize("path", NOTEBOOKS + FURTHER, ids=lambda p: p.name)
def test_every_relative_link_leads_to_a_file(path):
    broken = [t for t in links(path) if not (path.parent / t).resolve().is_file()]
    assert not broken, f"{path.name}: links to missing files {broken}"


@pytest.mark.parametrize("path", FURTHER, ids=lambda p: p.name)
def test_a_further_notebook_says_what_it_assumes_and_is_linked_from_its_lesson(path):
    [lesson] = [p for p in NOTEBOOKS if p.name[:2] == path.name[:2]]
    first = text(cells(path)[0])
    assert cells(path)[0]["cell_type"] == "markdown" and "assumes" in first.lower(), \
        f"{path.name}: the first cell must say what it assumes"
    assert f"../{lesson.name}" in links(path), f"{path.name}: no link back to {lesson.name}"
    assert f"further/{path.name}" in links(lesson), f"{lesson.name} does not link to {path.name}"

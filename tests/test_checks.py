"""vaelib.checks: the exercises' self-checks must pass right answers and fail wrong ones."""

import subprocess
import sys

import pytest
import torch

from vaelib import checks
from vaelib.checks import NotYet, attempt, check, choose, environment


@pytest.fixture(autouse=True)
def new_cell():
    """Each test starts as a notebook cell does: no attempt made yet (IPython's pre_run_cell hook)."""
    checks._new_cell()

def test_exact_and_close_answers_pass_and_say_so(capsys):
    check("mean", 2.0, 2.0)
    check("vector", torch.tensor([1.0, 2.0]), [1.0, 2.0 + 1e-7])
    assert capsys.readouterr().out == "mean: exact\nvector: close (largest difference 1e-07)\n"


def test_a_wrong_answer_raises_with_the_largest_difference_and_the_hint():
    with pytest.raises(AssertionError, match=r"largest difference 0.5 in entry 2 of 2.*divide by N"):
        check("sigmas", [1.0, 2.5], [1.0, 2.0], hint="Did you divide by N?")


def test_a_wrong_shape_a_nan_and_a_missing_answer_each_get_their_own_message():
    with pytest.raises(AssertionError, match="shape"):
        check("s", [1.0, 2.0], [1.0, 2.0, 3.0])
    with pytest.raises(AssertionError, match="NaN or inf"):
        check("s", float("nan"), 1.0)
    with pytest.raises(AssertionError, match="no answer yet"):
        check("s", None, 1.0)


def test_tolerance_is_relative_to_the_expected_value():
    check("big", 1e6 + 1.0, 1e6)  # within rtol=1e-5
    with pytest.raises(AssertionError):
        check("small", 1e-3, 2e-3)


def test_attempt_uses_your_function_once_written_else_the_reference(capsys):
    def mine(x):
        raise NotImplementedError

    def reference(x):
        return 2 * x

    assert attempt(mine, reference)(3) == 6
    assert "not written yet" in capsys.readouterr().out
    answer = attempt(mine, reference)
    assert [answer(1), answer(2)] == [2, 4]  # a check that calls it twice says so once
    assert capsys.readouterr().out.count("not written yet") == 1

    def mine_written(x):
        return 2 * x + 1

    assert attempt(mine_written, reference)(3) == 7


def test_environment_reports_versions_and_finds_the_digits_offline(capsys):
    report = environment()
    assert report["digits (offline)"] == (1797, 64)
    assert report["torch"].startswith("2.13.0")
    assert "device" in capsys.readouterr().out


def test_environment_says_what_to_do_on_an_old_python():
    with pytest.raises(AssertionError, match="too old: the course needs 9.0"):
        environment(min_python=(9, 0))


def test_a_usual_wrong_answer_gets_its_own_message_and_the_rest_the_generic_one():
    wrong = {"you divided by N - 1; the maximum-likelihood σ̂ divides by N": 2.1}
    with pytest.raises(AssertionError, match="usual wrong answer: you divided by N - 1"):
        check("sigma", 2.1, 2.0, wrong=wrong)
    with pytest.raises(AssertionError, match="largest difference 0.5.*mind the N") as caught:
        check("sigma", 2.5, 2.0, wrong=wrong, hint="mind the N")
    assert "usual wrong answer" not in str(caught.value)


def test_under_the_tests_a_check_feeds_itself_its_wrong_answers(monkeypatch, tmp_path):
    log = tmp_path / "log"
    monkeypatch.setenv("VAELIB_CHECK_WRONG_ANSWERS", str(log))
    check("mean", 2.0, 2.0, wrong={"sign error": -2.0})
    assert log.read_text() == "mean\t1\n"
    with pytest.raises(AssertionError, match="the wrong answer 'too close' would be told: close"):
        check("mean", 2.0, 2.0, wrong={"too close": 2.0 + 1e-9})  # an exercise bug, caught


def test_a_set_question_explains_each_misplaced_option(capsys, monkeypatch, tmp_path):
    why = {"p_θ(z)": "the prior is part of the model: θ only", "q_φ(z|x)": "φ is q's index",
           "ELBO": "it contains q", "log p_θ(x)": "the evidence is the model's: no φ in it"}
    choose("moves with φ", {"q_φ(z|x)", "ELBO"}, correct={"q_φ(z|x)", "ELBO"}, why=why)
    assert capsys.readouterr().out == "moves with φ: exact\n"  # no attempt(): the reasons stay hidden
    with pytest.raises(AssertionError) as caught:
        choose("moves with φ", {"q_φ(z|x)", "log p_θ(x)"}, correct={"q_φ(z|x)", "ELBO"}, why=why)
    message = str(caught.value)
    assert "- ELBO is missing: it contains q" in message
    assert "- log p_θ(x) does not belong: the evidence is the model's" in message
    with pytest.raises(ValueError, match="^answer: expected"):  # an option that is not one
        choose("moves with φ", {"KL"}, correct={"ELBO"}, why=why)
    monkeypatch.setenv("VAELIB_CHECK_WRONG_ANSWERS", str(tmp_path / "log"))
    with pytest.raises(AssertionError, match="needs an explanation"):
        choose("moves with φ", {"ELBO"}, correct={"ELBO"}, why={"ELBO": " "})


def test_the_reasons_show_once_the_learner_has_answered_and_not_under_the_reference(capsys):
    why = {"A": "A's reason", "B": "B's reason"}

    def stub():
        raise NotImplementedError

    choose("q", attempt(stub, lambda: {"A"})(), correct={"A"}, why=why)
    assert capsys.readouterr().out.splitlines() == [
        "(stub is not written yet: checking the reference answer instead)", "q: exact"]
    choose("q", attempt(lambda: {"A"}, lambda: {"A"})(), correct={"A"}, why=why)
    assert capsys.readouterr().out == "q: exact\n- A belongs: A's reason\n- B does not belong: B's reason\n"


def test_every_check_in_the_answers_cell_says_why_and_the_next_cell_starts_afresh(capsys):
    why = {"A": "A's reason", "B": "B's reason"}
    mine = attempt(lambda: {"A"}, lambda: {"A"})()
    choose("first", mine, correct={"A"}, why=why)
    choose("second", mine, correct={"A"}, why=why)  # one cell, two questions (lesson 00's exercise 1)
    assert capsys.readouterr().out.count("- A belongs") == 2
    checks._new_cell()
    choose("next cell", {"A"}, correct={"A"}, why=why)
    assert capsys.readouterr().out == "next cell: exact\n"


def test_under_ipython_the_flag_is_reset_before_each_cell():
    code = ("from IPython.core.interactiveshell import InteractiveShell\n"
            "shell = InteractiveShell.instance()\n"
            "shell.run_cell('from vaelib import checks\\nchecks.attempt(lambda: 1, lambda: 1)()\\n"
            "in_its_cell = checks._LAST_ATTEMPT[\"yours\"]')\n"
            "shell.run_cell('in_the_next = checks._LAST_ATTEMPT[\"yours\"]')\n"
            "print(shell.user_ns['in_its_cell'], shell.user_ns['in_the_next'])\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["True", "None"], out


def test_a_numbers_reason_shows_once_the_learners_own_answer_is_right(capsys):
    def stub():
        raise NotImplementedError

    check("r", attempt(stub, lambda: 0.5)(), 0.5, why="because")
    assert capsys.readouterr().out.splitlines() == [
        "(stub is not written yet: checking the reference answer instead)", "r: exact"]
    check("r", attempt(lambda: 0.5, lambda: 0.5)(), 0.5, why="because")
    assert capsys.readouterr().out == "r: exact\nbecause\n"
    with pytest.raises(NotYet) as caught:
        check("r", attempt(lambda: 0.7, lambda: 0.5)(), 0.5, why="because")
    assert "because" not in str(caught.value)


def test_a_wrong_answer_shows_its_message_not_the_hidden_cells_source():
    with pytest.raises(NotYet) as caught:
        choose("q", {"B"}, correct={"A"}, why={"A": "A's reason", "B": "B's reason"})
    shown = caught.value._render_traceback_()  # what IPython prints instead of a traceback
    assert "Not yet." in shown[0]
    assert shown[1:] == ["- A is missing: A's reason", "- B does not belong: B's reason"]

"""Every lesson: self-checks, for the exercises (is your answer right?) and the set-up (machine ready?).

    check("sigma_hat", mine, reference, wrong={"you divided by N - 1: the MLE divides by N": unbiased},
          why="why it is so")
        prints "sigma_hat: close (largest difference 3e-08)", then `why` once the learner's own answer
        is right, or raises an AssertionError naming the usual mistake the answer matches, else what to
        look at
    choose("what φ moves", {"q", "ELBO"}, correct={...}, why={...})   names each misplaced option, with why;
        once the learner's own answer is right, every option's why
    answer = attempt(my_function, reference_function)   yours once it is written, else the reference
A wrong answer raises NotYet, which Jupyter shows as its message alone (no traceback of the hidden cell).
Under the tests (VAELIB_CHECK_WRONG_ANSWERS set) each check also asserts that its named wrong answers
would each be told by name.
"""

import os

import torch

_WRONG_ANSWERS_TESTED = "VAELIB_CHECK_WRONG_ANSWERS"  # a file: each self-test appends a line to it
_LAST_ATTEMPT = {"yours": None}  # in this cell, the last attempt() ran the learner's function (True) or not


def _new_cell(*_info) -> None:
    """IPython's pre_run_cell hook: an attempt's flag holds for the rest of its own cell, in every check."""
    _LAST_ATTEMPT["yours"] = None


def _scope_attempts_to_cells() -> None:
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython comes with every Jupyter kernel
        return
    shell = get_ipython()
    if shell is not None:
        shell.events.register("pre_run_cell", _new_cell)


_scope_attempts_to_cells()


class NotYet(AssertionError):
    """A self-check's verdict on a wrong or missing answer. Jupyter shows only its message: a traceback
    would print the hidden self-check's source, and with it the explanations of the other options."""

    def _render_traceback_(self) -> list[str]:  # IPython's hook for an exception's own display
        return [f"\x1b[1;31mNot yet.\x1b[0m {line}" if i == 0 else line
                for i, line in enumerate(str(self).splitlines())]


def _as_tensor(name, value):
    try:
        return torch.as_tensor(value, dtype=torch.float64)
    except (TypeError, ValueError, RuntimeError) as e:
        kind = type(value).__name__
        raise ValueError(f"{name}: expected a number or an array of numbers, got {kind}") from e


def _verdict(answer, expected, *, rtol=1e-5, atol=1e-8, wrong=None) -> tuple[bool, str]:
    """(passed, message) for an answer: "exact", "close (...)", a named mistake, or what differs.
    Close means |answer - expected| <= atol + rtol |expected| everywhere (torch.isclose's rule)."""
    a, e = _as_tensor("answer", answer), _as_tensor("expected", expected)
    if a.shape != e.shape:
        return False, (f"shape {tuple(a.shape)} but the reference has shape {tuple(e.shape)}; "
                       "check which axis you reduced over.")
    if not torch.isfinite(a).all():
        return False, ("your answer contains NaN or inf; look for a log of a non-positive number "
                       "or a division by zero.")
    diff = (a - e).abs()
    worst = diff.max().item() if diff.numel() else 0.0
    if worst == 0.0:
        return True, "exact"
    if bool(torch.isclose(a, e, rtol=rtol, atol=atol).all()):
        return True, f"close (largest difference {worst:.2g})"
    for mistake, value in (wrong or {}).items():
        w = _as_tensor(mistake, value)
        if w.shape == a.shape and bool(torch.isclose(a, w, rtol=rtol, atol=atol).all()):
            return False, f"this is a usual wrong answer: {mistake}."
    at = tuple(int(i) for i in torch.nonzero(diff == worst)[0]) if a.dim() else ()
    where = f" in entry {at[0] + 1} of {a.numel()}" if a.dim() == 1 else f" at index {at}" if at else ""
    got, want = a.flatten()[diff.flatten().argmax()].item(), e.flatten()[diff.flatten().argmax()].item()
    return False, (f"largest difference {worst:.3g}{where} (yours {got:.6g}, expected {want:.6g}; "
                   f"tolerance rtol={rtol:g}, atol={atol:g}).")


def check(name: str, answer, expected, *, rtol: float = 1e-5, atol: float = 1e-8, hint: str = "",
          wrong: dict | None = None, why: str = "") -> None:
    """Compare `answer` with `expected` elementwise: print 'exact' or 'close', or raise an
    AssertionError. wrong: {the mistake, said to the learner: the value it gives}; why: printed once
    the learner's own function has answered right (not under the reference: it would give it away)."""
    if answer is None or answer is Ellipsis:
        raise NotYet(f"{name}: no answer yet (got {answer!r}); fill in the exercise cell above.")
    yours = _LAST_ATTEMPT["yours"]
    _self_test(name, expected, rtol, atol, wrong)
    passed, message = _verdict(answer, expected, rtol=rtol, atol=atol, wrong=wrong)
    if not passed:
        named = message.startswith("this is a usual wrong answer")
        raise NotYet(f"{name}: {message} {'' if named else hint}".strip())
    print(f"{name}: {message}")
    if yours and why:
        print(why)


def _self_test(name, expected, rtol, atol, wrong):
    """Under the tests: each named wrong answer must be told apart from the right one, by name."""
    log = os.environ.get(_WRONG_ANSWERS_TESTED)
    if not log:
        return
    for mistake, value in (wrong or {}).items():
        passed, message = _verdict(value, expected, rtol=rtol, atol=atol, wrong=wrong)
        if passed or mistake not in message:
            raise AssertionError(f"{name}: the wrong answer '{mistake}' would be told: {message}")
    with open(log, "a") as f:
        f.write(f"{name}\t{len(wrong or {})}\n")


def choose(name: str, answer, correct, why: dict[str, str]) -> None:
    """A set question (which of these change? which are θ?): answer and correct are sets of option
    names, why[option] explains where that option belongs. Prints 'exact', or raises naming every
    option on the wrong side with its explanation."""
    if answer is None or answer is Ellipsis:
        raise NotYet(f"{name}: no answer yet (got {answer!r}); fill in the exercise cell above.")
    answer, correct, yours = set(answer), set(correct), _LAST_ATTEMPT["yours"]
    unknown = answer - set(why)
    if unknown:
        raise ValueError(f"answer: expected options among {sorted(why)}, got {sorted(unknown)} ({name})")
    if os.environ.get(_WRONG_ANSWERS_TESTED):  # under the tests: a question every option explains
        if not correct <= set(why) or not all(isinstance(w, str) and w.strip() for w in why.values()):
            raise AssertionError(f"{name}: every option, right ones included, needs an explanation")
        with open(os.environ[_WRONG_ANSWERS_TESTED], "a") as f:
            f.write(f"{name}\t{len(why)}\n")
    if answer != correct:
        misplaced = "\n".join(f"- {o} {'does not belong' if o in answer else 'is missing'}: {why[o]}"
                              for o in sorted(answer ^ correct))
        raise NotYet(f"{name}: not quite.\n{misplaced}")
    print(f"{name}: exact")
    if yours:  # the learner's own function answered: now every option's reason, not before
        print("\n".join(f"- {o} {'belongs' if o in correct else 'does not belong'}: {why[o]}"
                        for o in sorted(why)))


def attempt(yours, reference):
    """Your function if you have written it; otherwise the reference, with a note saying so.
    A stub signals 'not written yet' by raising NotImplementedError when called."""
    if not callable(yours) or not callable(reference):
        raise ValueError("attempt: expected two functions (yours, reference)")

    said = []  # the note, once per attempt however often a check calls it

    def run(*args, **kwargs):
        try:
            _LAST_ATTEMPT["yours"] = None
            answer = yours(*args, **kwargs)
            _LAST_ATTEMPT["yours"] = True  # only once the learner's function has answered
            return answer
        except NotImplementedError:
            _LAST_ATTEMPT["yours"] = False
            if not said:
                print(f"({yours.__name__} is not written yet: checking the reference answer instead)")
                said.append(True)
            return reference(*args, **kwargs)

    run.__name__ = yours.__name__
    return run


def environment(min_python=(3, 11)) -> dict:
    """What this kernel runs on: versions, device, and whether the bundled digits load offline.
    Raises AssertionError with the fix when something the course needs is missing."""
    import platform
    import sys

    import ipywidgets
    import matplotlib
    import sklearn

    import vaelib
    from vaelib.data import digits

    if sys.version_info[:2] < min_python:
        raise AssertionError(f"Python {platform.python_version()} is too old: the course needs "
                             f"{min_python[0]}.{min_python[1]} or newer (see README, 'make lab').")
    report = {"python": platform.python_version(), "torch": torch.__version__,
              "matplotlib": matplotlib.__version__, "ipywidgets": ipywidgets.__version__,
              "scikit-learn": sklearn.__version__, "device": str(vaelib.device()),
              "cpu threads": torch.get_num_threads(), "digits (offline)": tuple(digits("all").shape)}
    for k, v in report.items():
        print(f"{k:>18}: {v}")
    return report

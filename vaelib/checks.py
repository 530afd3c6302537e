"""Self-checks: for the exercises (is your answer right?) and for the set-up (is this machine ready?).

    check("sigma_hat", my_sigma, reference_sigma)      prints: sigma_hat: close (largest difference 3e-08)
    answer = attempt(my_function, reference_function)  your function once it is written, else the reference

On a mismatch `check` raises an AssertionError whose message says what to look at.
"""

import torch


def _as_tensor(name, value):
    try:
        t = torch.as_tensor(value, dtype=torch.float64)
    except (TypeError, ValueError, RuntimeError) as e:
        kind = type(value).__name__
        raise ValueError(f"check: {name} must be a number or an array of numbers, got {kind}") from e
    return t


def check(name: str, answer, expected, *, rtol: float = 1e-5, atol: float = 1e-8, hint: str = "") -> None:
    """Compare `answer` with `expected` elementwise; print 'exact' or 'close', or raise.

    Close means |answer - expected| <= atol + rtol * |expected| everywhere (torch.isclose's rule).
    """
    if answer is None or answer is Ellipsis:
        raise AssertionError(f"{name}: no answer yet (got {answer!r}); fill in the exercise cell above.")
    a, e = _as_tensor("answer", answer), _as_tensor("expected", expected)
    if a.shape != e.shape:
        raise AssertionError(f"{name}: shape {tuple(a.shape)} but the reference has shape {tuple(e.shape)}; "
                             f"check which axis you reduced over. {hint}".strip())
    if not torch.isfinite(a).all():
        raise AssertionError(f"{name}: your answer contains NaN or inf; look for a log of a non-positive "
                             f"number or a division by zero. {hint}".strip())
    diff = (a - e).abs()
    worst = diff.max().item() if diff.numel() else 0.0
    if worst == 0.0:
        verdict = "exact"
    elif bool(torch.isclose(a, e, rtol=rtol, atol=atol).all()):
        verdict = "close"
    else:
        where = "" if a.dim() == 0 else f" at index {tuple(int(i) for i in torch.nonzero(diff == worst)[0])}"
        got = a.flatten()[diff.flatten().argmax()].item()
        want = e.flatten()[diff.flatten().argmax()].item()
        raise AssertionError(f"{name}: largest difference {worst:.3g}{where} (yours {got:.6g}, expected "
                             f"{want:.6g}; tolerance rtol={rtol:g}, atol={atol:g}). {hint}".strip())
    print(f"{name}: {verdict}" + ("" if verdict == "exact" else f" (largest difference {worst:.2g})"))


def attempt(yours, reference):
    """Your function if you have written it; otherwise the reference, with a note saying so.

    A stub signals 'not written yet' by raising NotImplementedError when called.
    """
    if not callable(yours) or not callable(reference):
        raise ValueError("attempt: expected two functions (yours, reference)")

    def run(*args, **kwargs):
        try:
            return yours(*args, **kwargs)
        except NotImplementedError:
            print(f"({yours.__name__} is not written yet: showing the reference answer instead)")
            return reference(*args, **kwargs)

    run.__name__ = yours.__name__
    return run



def environment(min_python=(3, 11)) -> dict:
    """What this kernel runs on: versions, device, and whether the bundled digits load offline.

    Raises AssertionError with the fix when something the course needs is missing.
    """
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

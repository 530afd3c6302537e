"""Every lesson: the argument checks where a learner's call meets vaelib. Each raises a ValueError
that starts with the argument's name and says what it expected, before any work is done."""

import math
import operator

import torch


def tensor(name: str, value, *, ndim: int | None = None, min_len: int = 1,
           dtype: torch.dtype | None = None, positive: bool = False) -> torch.Tensor:
    """`value` as a float tensor, all finite, with `ndim` dimensions (0: one number; a tensor is kept
    as given, so one that requires grad stays in the graph) and at least `min_len` rows; positive: a
    scale, every value > 0. dtype: convert to it; plain numbers go there directly (0.3 -> float64
    without float32 rounding)."""
    try:
        t = torch.as_tensor(value, dtype=None if isinstance(value, torch.Tensor) else dtype)
    except (TypeError, ValueError, RuntimeError) as e:
        kind = type(value).__name__
        raise ValueError(f"{name}: expected numbers (a float, list or tensor), got {kind}") from e
    if t.is_complex():
        raise ValueError(f"{name}: expected real numbers, got dtype {t.dtype}")
    if dtype is not None:
        t = t.to(dtype)
    elif not t.is_floating_point():
        t = t.to(torch.get_default_dtype())
    if ndim is not None and t.dim() != ndim:
        form = "a single number (a float or 0-d tensor)" if ndim == 0 else f"a {ndim}-D tensor"
        raise ValueError(f"{name}: expected {form}, got shape {tuple(t.shape)}")
    if t.dim() > 0 and t.shape[0] < min_len:
        raise ValueError(f"{name}: expected at least {min_len} value(s), got shape {tuple(t.shape)}")
    if not torch.isfinite(t).all():
        raise ValueError(f"{name}: expected finite numbers, found NaN or inf")
    if positive and not (t > 0).all():
        raise ValueError(f"{name}: expected a scale > 0, got {t.min().item():g}")
    return t


def rows(name: str, value, width: int, dtype: torch.dtype | None = None) -> torch.Tensor:
    """A 2-D tensor with one data point per row, each of length `width`."""
    t = tensor(name, value, ndim=2, dtype=dtype)
    if t.shape[1] != width:
        raise ValueError(f"{name}: expected shape (N, {width}), got {tuple(t.shape)}")
    return t


def positive_int(name: str, value, minimum: int = 1) -> int:
    """A whole number >= minimum (a sample count K, a latent size, a number of steps)."""
    if isinstance(value, bool) or not isinstance(value, int | torch.Tensor) or (
            isinstance(value, torch.Tensor) and (value.numel() != 1 or value.is_floating_point())):
        raise ValueError(f"{name}: expected a whole number >= {minimum}, got {value!r}")
    value = int(value)
    if value < minimum:
        raise ValueError(f"{name}: expected a whole number >= {minimum}, got {value}")
    return value


_COMPARE = {">": operator.gt, ">=": operator.ge, "<": operator.lt}


def number(name: str, value, *, above: float | None = None, at_least: float | None = None,
           below: float | None = None) -> float:
    """A plain finite number (an observed x, a learning rate), optionally > above, >= at_least, < below."""
    try:
        v = float(value)
    except (TypeError, ValueError) as e:
        raise ValueError(f"{name}: expected a number, got {value!r}") from e
    rules = [(op, b) for op, b in ((">", above), (">=", at_least), ("<", below)) if b is not None]
    if not math.isfinite(v) or not all(_COMPARE[op](v, b) for op, b in rules):
        wanted = " and ".join(f"{op} {b:g}" for op, b in rules)
        raise ValueError(f"{name}: expected a finite number{' ' + wanted if wanted else ''}, got {v:g}")
    return v


def one_of(name: str, value, options):
    """`value` if it is one of `options` (a dict's keys or a sequence)."""
    if value not in options:
        raise ValueError(f"{name}: expected one of {list(options)}, got {value!r}")
    return value


def instance(name: str, value, kind: type | tuple, what: str):
    """`value` if it is a `kind` (described to the learner as `what`)."""
    if not isinstance(value, kind):
        raise ValueError(f"{name}: expected {what}, got {type(value).__name__}")
    return value


def grid(name: str, value) -> torch.Tensor:
    """Equally spaced, increasing z values (a quadrature grid), at least 3, returned in float64.
    Spacing may vary by float rounding only: 1e-6 of a step in float64, 1e-3 in float32."""
    t = tensor(name, value, ndim=1, min_len=3)
    tol = 1e-6 if t.dtype == torch.float64 else 1e-3
    g = t if t.dtype == torch.float64 and not t.requires_grad else t.detach().to(torch.float64)
    step = g.diff()
    if not (step > 0).all() or (step - step[0]).abs().max() > tol * step[0]:
        raise ValueError(f"{name}: expected equally spaced, increasing z values "
                         "(e.g. torch.linspace(-10, 10, 2001))")
    return g

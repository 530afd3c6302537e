"""Argument checks shared by vaelib's public functions: each raises a ValueError that names the
argument and the form it expected, before any work is done."""

import math

import torch


def tensor(name: str, value, *, ndim: int | None = None, min_len: int = 1,
           dtype: torch.dtype | None = None) -> torch.Tensor:
    """`value` as a float tensor, all finite, with `ndim` dimensions and at least `min_len` rows.
    dtype: convert to it; plain numbers go there directly (0.3 -> float64 without float32 rounding)."""
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
        raise ValueError(f"{name}: expected a {ndim}-D tensor, got shape {tuple(t.shape)}")
    if t.dim() > 0 and t.shape[0] < min_len:
        raise ValueError(f"{name}: expected at least {min_len} value(s), got shape {tuple(t.shape)}")
    if not torch.isfinite(t).all():
        raise ValueError(f"{name}: expected finite numbers, found NaN or inf")
    return t


def scale(name: str, value) -> torch.Tensor:
    """A standard deviation (or any scale): finite and strictly positive."""
    t = tensor(name, value)
    if not (t > 0).all():
        raise ValueError(f"{name}: a scale must be > 0, got {t.min().item():g}")
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


def finite_float(name: str, value) -> float:
    """A plain finite number (a learning rate, an observed x)."""
    try:
        v = float(value)
    except (TypeError, ValueError) as e:
        raise ValueError(f"{name}: expected a number, got {value!r}") from e
    if not math.isfinite(v):
        raise ValueError(f"{name}: expected a finite number, got {v}")
    return v

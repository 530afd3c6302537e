"""What several lessons' dashboards share: a numpy normal density, slider positions and their table
index, and contour levels below a surface's maximum.

normal_pdf is vaelib's one deliberate copy of a formula torch has: dashboards redraw a density on
every slider move, and numpy is the faster there (benchmarks/widget_latency.py prints both)."""

import math

import numpy as np


def normal_pdf(t: np.ndarray, mean: float, std: float) -> np.ndarray:
    """N(t; mean, std²) on the points t."""
    return np.exp(-0.5 * ((t - mean) / std) ** 2) / (std * math.sqrt(2 * math.pi))


def positions(lo: float, hi: float, step: float) -> np.ndarray:
    """Every value a slider from lo to hi in steps of `step` can take, both ends included."""
    return lo + step * np.arange(int(round((hi - lo) / step)) + 1)


def position_index(value: float, lo: float, step: float, n: int) -> int:
    """The index of a slider's value among its n positions (a table precomputed on them)."""
    return min(max(int(round((value - lo) / step)), 0), n - 1)


def depth_levels(top: float, depths) -> list[float]:
    """Contour levels at fixed depths below a surface's maximum `top`, and one above it, so the
    filled contours show the shape near the maximum whatever its height."""
    return sorted(top - d for d in depths) + [top + 1]

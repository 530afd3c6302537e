"""Lessons 01-04: what several dashboards share: a numpy normal density (vaelib's one deliberate copy of a
torch formula: faster per redraw, benchmarks/widget_latency.py), slider positions and their table index,
contour levels below a maximum, and the bar that splits log p_θ(x) into ELBO + KL."""

import math

import numpy as np

from vaelib import validate


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
    """Contour levels at fixed depths below a surface's maximum `top`, and one above it."""
    return sorted(top - d for d in depths) + [top + 1]


BLUE, RED = "#3f90da", "#bd1f01"  # petroff10's blue and red (its C3 is grey); the KL also hatched


class SplitBar:
    """log p_θ(x) = ELBO + KL as one bar (lessons 03-04): blue from `floor` up to the ELBO, red (hatched)
    up to the total (a black line); below the floor a value is clipped, marked ▼ (ELBO left, total right)."""

    def __init__(self, ax, floor: float, width: float = 0.6, labels=("ELBO", "KL", "log p_θ(x)")):
        self.floor, self.width = validate.number("floor", floor), validate.number("width", width, above=0)
        self.ax = ax
        self.elbo = ax.bar([0], [0], bottom=floor, width=width, color=BLUE, label=labels[0])[0]
        self.kl = ax.bar([0], [0], width=width, facecolor=RED, edgecolor="w", hatch="///", label=labels[1])[0]
        (self.total,) = ax.plot([], [], color="k", lw=2.5, label=labels[2])
        # ▼ has no legend entry ("_" label): the readout names it when it shows
        (self.off_scale,) = ax.plot([], [], "v", color="0.2", ms=8, label="_below the floor")

    def draw(self, elbo: float, kl: float) -> list:
        """Move the bar to ELBO and KL (the total is their sum); returns the artists it moved."""
        total = elbo + kl
        low, top = max(elbo, self.floor), max(total, self.floor)
        self.elbo.set_height(low - self.floor)
        self.kl.set_bounds(-self.width / 2, low, self.width, top - low)
        self.total.set_data([-0.6 * self.width, 0.6 * self.width], [top] * 2)
        below = [x for x, v in ((-self.width / 4, elbo), (self.width / 4, total)) if v < self.floor]
        lift = 0.04 * (self.ax.get_ylim()[1] - self.floor)  # just above the floor, inside the axes
        self.off_scale.set_data(below, [self.floor + lift] * len(below))
        return [self.elbo, self.kl, self.total, self.off_scale]

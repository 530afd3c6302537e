"""vaelib.widgets: the in-place (blitted) update draws exactly what a full redraw draws."""

import io
import json

import numpy as np
import pytest
import torch
from PIL import Image

from harness.browser_lab import png_text
from harness.dashboards import naive_update, time_update
from vaelib.dashboards import l01_gaussian
from vaelib.widgets import Dashboard, png, slider


def decode(data: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(data)).convert("RGBA"))


def full_redraw(dash: Dashboard) -> np.ndarray:
    """The same figure drawn the slow way: every artist, nothing kept from before."""
    for a in dash.artists:
        a.set_animated(False)
    dash.fig.canvas.draw()
    out = decode(png(dash.fig))
    for a in dash.artists:
        a.set_animated(True)
    return out


@pytest.fixture(scope="module")
def dash():
    return l01_gaussian.dashboard()


def test_png_is_a_valid_image_of_the_canvas(dash):
    dash.fig.canvas.draw()
    w, h = dash.fig.canvas.get_width_height(physical=True)
    canvas = np.asarray(dash.fig.canvas.buffer_rgba()).reshape(h, w, 4)
    assert np.array_equal(decode(png(dash.fig)), canvas)


def differing_pixels(a: np.ndarray, b: np.ndarray) -> int:
    return int((np.abs(a.astype(int) - b).max(axis=-1) > 1).sum())


# Blitted artists are drawn last, so where a curve lies on a spine or crosses a legend the stacking
# order differs from a full redraw (at 2 device pixels per CSS pixel: up to ~500 pixels where the
# density runs along the bottom spine). A stale or missing curve differs by thousands: see below.
TOLERANCE = 0.001  # of the image's pixels


@pytest.mark.parametrize("values", [{"mu": 0.0, "sigma": 1.5}, {"mu": 3.5, "sigma": 0.3},
                                    {"mu": -1.0, "sigma": 3.0}])
def test_in_place_update_equals_a_full_redraw(dash, values):
    blitted = decode(dash.update(**values))
    differ = differing_pixels(blitted, full_redraw(dash))
    assert differ <= TOLERANCE * blitted.shape[0] * blitted.shape[1], \
        f"{differ} pixels differ from a full redraw"


def test_the_redraw_tolerance_sees_a_stale_figure(dash):
    """The tolerance above is far below what one moved curve changes."""
    old = decode(dash.update(mu=0.0, sigma=1.5))
    new = decode(dash.update(mu=0.5, sigma=1.5))
    assert differing_pixels(old, new) > 5 * TOLERANCE * old.shape[0] * old.shape[1]


def test_a_slider_move_or_an_update_of_every_control_redraws_once(dash):
    before, calls, draw = dash.image.value, [], dash.draw
    dash.draw = lambda **v: calls.append(v) or draw(**v)
    try:
        dash.controls["mu"].value = 2.0
        assert len(calls) == 1 and calls[0]["mu"] == 2.0 and dash.image.value != before
        dash.update(mu=1.0, sigma=0.5)
    finally:
        dash.draw = draw
    assert calls[1:] == [{"mu": 1.0, "sigma": 0.5}] and dash.values == {"mu": 1.0, "sigma": 0.5}


def test_naive_update_and_timing_run_headless(dash):
    assert decode(naive_update(dash, mu=1.0)).shape[2] == 4
    times = time_update(dash, 5)
    assert times.shape == (5,) and (times > 0).all()


def test_dashboards_draw_on_one_torch_thread_and_restore_the_count():
    """Tiny tensors: a second thread would spin against the browser (benchmarks/browser_latency)."""
    seen = []

    def build(fig, a):
        line, = fig.add_subplot().plot([0, 1], [0, a])

        def draw(a):
            seen.append(torch.get_num_threads())
            line.set_ydata([0, a])
            return [line]
        return draw

    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        dash = Dashboard(build, {"a": slider(0.5, 0.0, 1.0, 0.1, "a")})
        seen.clear()  # construction draws once outside update; a slider move is what must be fast
        dash.update(a=0.7)
        dash.controls["a"].value = 0.2
        assert seen == [1, 1]
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)


def test_each_png_says_which_values_it_shows(dash):
    data = dash.update(mu=1.25, sigma=0.5)
    assert json.loads(png_text(data)["vaelib"]) == {"mu": 1.25, "sigma": 0.5}
    assert decode(data).shape[:2] == decode(png(dash.fig)).shape[:2]  # the text changes no pixel
    assert png_text(png(dash.fig)) == {}


def test_the_figure_has_twice_the_pixels_of_its_place_on_the_page(dash):
    """Sharp at devicePixelRatio 2: 2 x 2 device pixels for every CSS pixel of the image."""
    width, height = dash.css_size
    assert decode(dash.image.value).shape[:2] == (2 * height, 2 * width)
    assert (width, height) == (round(dash.figsize[0] * dash.dpi), round(dash.figsize[1] * dash.dpi))
    assert dash.image.width == str(width)

"""Lessons 00-05: dashboards, a figure built once, redrawn in place, shown as a PNG in an ipywidgets Image.

A slider move restores the figure's static part (kept as a bitmap), redraws only the artists that
change (blitting) and encodes a PNG: no re-plot, no flicker, wherever ipywidgets runs (benchmarks/
widget_latency.py times it). A lesson writes two functions:
    build(fig, **values) -> draw        lays out the axes and artists once,
    draw(**values) -> artists           moves them to the new values and returns every artist it changed;
                                        a str among them is a readout, shown as HTML under the sliders.
The PNG has 2 device pixels per CSS pixel (sharp on high-density screens) and carries the control values
it shows (tEXt "vaelib"); the display is the live widget plus a static PNG for renderers without widgets.
"""

import base64
import html
import json
import re
from collections.abc import Callable, Iterable

import ipywidgets as W
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from vaelib import alt_text, threads, validate
from vaelib.png import png

_Draw = Callable[..., Iterable]
_Build = Callable[..., _Draw]


def slider(value, lo, hi, step, description=None):
    """A FloatSlider that updates while it is dragged (continuous_update=True)."""
    lo, hi = validate.number("lo", lo), validate.number("hi", hi, above=lo)
    value = validate.number("value", value, at_least=lo)
    if value > hi:
        raise ValueError(f"value: expected a number in [lo, hi] = [{lo:g}, {hi:g}], got {value:g}")
    step = validate.number("step", step, above=0)
    return W.FloatSlider(value=value, min=lo, max=hi, step=step, description=description or "",
                         continuous_update=True, readout_format=".2f",
                         style={"description_width": "initial"})


class Dashboard:
    """Sliders on top, the figure below; `update(**values)` redraws in place and returns the PNG.
    controls: {name: slider} in display order, their values build's and draw's keyword arguments.
    figsize × dpi is the size on the page in CSS pixels; the PNG has pixel_ratio times as many."""

    pixel_ratio = 2

    def __init__(self, build: _Build, controls: dict, *, figsize=(9.0, 3.0), dpi=80, note=""):
        if not controls:
            raise ValueError("controls: expected at least one slider, got none")
        self.build, self.controls, self.figsize, self.dpi = build, dict(controls), figsize, dpi
        self._setting = False
        self.fig = fig = self._figure()
        self.draw = build(fig, **self.values)
        self.artists = [a for a in self.draw(**self.values) if not isinstance(a, str)]
        fig.get_layout_engine().execute(fig)
        fig.set_layout_engine("none")  # fixed layout from here on: the background stays valid
        for a in self.artists:
            a.set_animated(True)
        self.fig.canvas.draw()  # the static part; changing artists are animated, so left out
        self._background = self.fig.canvas.copy_from_bbox(self.fig.bbox)
        self.image = W.Image(format="png", width=str(self.css_size[0]),
                             layout=W.Layout(max_width="100%", height="auto"))
        self.readout = W.HTML()
        self.update()
        for s in self.controls.values():
            s.observe(self._on_slider, names="value")
        self.widget = W.VBox([W.HBox(list(self.controls.values()),
                                     layout=W.Layout(flex_flow="row wrap")),
                              self.readout, W.HTML(note), self.image])

    def _on_slider(self, _change):
        if not self._setting:
            self.update()

    @property
    def values(self) -> dict:
        return {name: s.value for name, s in self.controls.items()}

    @property
    def css_size(self) -> tuple[int, int]:
        """(width, height) of the figure on the page, in CSS pixels."""
        w, h = self.fig.canvas.get_width_height(physical=True)
        return round(w / self.pixel_ratio), round(h / self.pixel_ratio)

    def _figure(self) -> Figure:
        fig = Figure(figsize=self.figsize, dpi=self.dpi * self.pixel_ratio, layout="constrained")
        FigureCanvasAgg(fig)  # an off-screen canvas, independent of pyplot and its backend
        return fig

    def update(self, **values) -> bytes:
        """Set any of the controls, redraw the changing artists on the kept background, show it."""
        for name in values:
            if name not in self.controls:
                raise ValueError(f"{name}: expected one of this dashboard's controls {list(self.controls)}")
        self._setting = True  # the sliders' own observers must not redraw once per slider
        try:
            for name, v in values.items():
                self.controls[name].value = v
        finally:
            self._setting = False
        with threads(1):  # tiny tensors: a second thread would only spin against the browser
            self._changed = changed = list(self.draw(**self.values))
        self.fig.canvas.restore_region(self._background)
        for a in changed:
            if not isinstance(a, str):
                a.set_animated(True)
                self.fig.draw_artist(a)
        # The figure first: its message leaves before the readout's, so the page shows it sooner.
        self.image.value = data = png(self.fig, {"vaelib": json.dumps(self.values)})
        self.readout.value = " &nbsp; ".join(a for a in changed if isinstance(a, str))
        return data

    def _repr_mimebundle_(self, include=None, exclude=None):
        """One output, two views: the live widget and a static PNG (for renderers without widgets)."""
        data = _widget_view(self.widget)
        names = ", ".join(self.controls)
        data["text/plain"] = f"Dashboard({names}): run this cell in Jupyter to move the sliders"
        data["image/png"] = base64.b64encode(self.image.value).decode("ascii")
        width, height = self.css_size
        return data, {"image/png": {"width": width, "height": height, "alt": self.alt_text()}}

    def alt_text(self) -> str:
        """What the figure shows now, in words (vaelib.alt_text), with the sliders and the readout."""
        sliders = ", ".join(f"{n} = {v:.3g}" if isinstance(v, float) else f"{n} = {v}"
                            for n, v in self.values.items())
        readout = re.sub(r"\s*\xa0\s*", "; ", html.unescape(re.sub(r"<[^>]+>", "", self.readout.value)))
        return (f"Dashboard with sliders {sliders}. {alt_text.describe(self.fig)}"
                + (f" Readout: {' '.join(readout.split())}." if readout.strip() else ""))


def _widget_view(widget) -> dict:
    """The mime bundle that shows a widget: ipywidgets 8's _repr_mimebundle_, or the same view that
    ipywidgets 7 (Colab's) sends from _ipython_display_; {} once the widget is closed."""
    if hasattr(widget, "_repr_mimebundle_"):
        return dict(widget._repr_mimebundle_() or {})
    if widget._view_name is None or widget.comm is None:
        return {}
    return {"application/vnd.jupyter.widget-view+json": widget.get_view_spec()}

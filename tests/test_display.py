"""What a learner's front end receives from a dashboard, under the ipywidgets this test runs with:
8 in `make test`, 7.7.1 (Colab's) in `make test-colab`, which runs this file without conftest.py."""

import base64
from html.parser import HTMLParser
from pathlib import Path

import ipywidgets
import nbformat
from IPython.core.formatters import DisplayFormatter
from nbclient import NotebookClient
from nbconvert import HTMLExporter

from vaelib.dashboards import l01_gaussian

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"
HANDOUT = Path(__file__).resolve().parents[1] / "jupyter" / "nbconvert"  # the handout template's folder


def images(html: str) -> list[tuple[str, str]]:
    """(base64 PNG, alt text) of every inline PNG image in an HTML page."""
    found = []

    class Parser(HTMLParser):
        def handle_starttag(self, tag, attrs):
            a = dict(attrs)
            if tag == "img" and a.get("src", "").startswith("data:image/png;base64,"):
                found.append((a["src"].removeprefix("data:image/png;base64,"), a.get("alt")))

    Parser().feed(html)
    return found


def test_display_is_one_bundle_of_the_live_view_and_a_png():
    """JupyterLab and Colab show the widget view; nbconvert's HTML, without widget state, the PNG."""
    dash = l01_gaussian.dashboard()
    data, metadata = DisplayFormatter().format(dash)
    assert data[WIDGET_VIEW] == {"version_major": 2, "version_minor": 0, "model_id": dash.widget.model_id}
    assert base64.b64decode(data["image/png"]) == dash.image.value
    width, height = dash.css_size
    assert metadata["image/png"] == {"width": width, "height": height, "alt": dash.alt_text()}
    assert data["text/plain"].startswith("Dashboard(mu, sigma)")
    dash.widget.close()
    assert WIDGET_VIEW not in DisplayFormatter().format(dash)[0]  # a closed widget has no view


def test_a_kernel_sends_the_view_of_a_live_widget_and_nbconvert_shows_the_png():
    """A kernel runs a lesson's set-up, a figure and a dashboard cell: the dashboard's output names the
    VBox the kernel opened, each PNG carries its alt text, and the HTML export without widget state (the
    README's handout) shows both PNGs with those alt texts."""
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source) for source in (
        "%matplotlib inline\nimport matplotlib.pyplot as plt\nfrom vaelib import figures\n"
        "figures.use_course_style()",
        "plt.plot([0, 1], [2, 3], label='a line')\nplt.title('one line')\nplt.legend()\nplt.show()",
        "from vaelib.dashboards import l01_gaussian\nl01_gaussian.dashboard()")])
    NotebookClient(nb, timeout=300, kernel_name="python3", store_widget_state=True).execute()
    [figure, dashboard] = [o for c in nb.cells[1:] for o in c.outputs
                           if o.output_type in ("display_data", "execute_result")]
    state = nb.metadata.widgets[WIDGET_STATE]["state"]
    model = state[dashboard.data[WIDGET_VIEW]["model_id"]]
    assert model["model_name"] == "VBoxModel", model["model_name"]
    assert state[model["state"]["children"][-1].removeprefix("IPY_MODEL_")]["model_name"] == "ImageModel"
    alts = [o.metadata["image/png"]["alt"] for o in (figure, dashboard)]
    assert alts[0].startswith("Figure, 1 panel. Panel 1, 'one line': y against x") and "a line" in alts[0]
    assert alts[1].startswith("Dashboard with sliders mu = 0, sigma = 1.5. Figure, 2 panels.")
    del nb.metadata["widgets"]
    handout = HTMLExporter(template_name="handout", extra_template_basedirs=[str(HANDOUT)])
    shown = images(handout.from_notebook_node(nb)[0])
    assert shown == [(figure.data["image/png"], alts[0]), (dashboard.data["image/png"], alts[1])]
    print(f"ipywidgets {ipywidgets.__version__}: the widget view, the PNGs and their alt texts")

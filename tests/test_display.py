"""What a learner's front end receives from a dashboard, under the ipywidgets this test runs with:
8 in `make test`, 7.7.1 (Colab's) in `make test-colab`, which runs this file without conftest.py."""

import base64
import re

import ipywidgets
import nbformat
from IPython.core.formatters import DisplayFormatter
from nbclient import NotebookClient
from nbconvert import HTMLExporter

from vaelib.dashboards import l01_gaussian

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"


def test_display_is_one_bundle_of_the_live_view_and_a_png():
    """JupyterLab and Colab show the widget view; nbconvert's HTML, without widget state, the PNG."""
    dash = l01_gaussian.dashboard()
    data, metadata = DisplayFormatter().format(dash)
    assert data[WIDGET_VIEW] == {"version_major": 2, "version_minor": 0, "model_id": dash.widget.model_id}
    assert base64.b64decode(data["image/png"]) == dash.image.value
    assert metadata["image/png"] == {"width": dash.css_size[0], "height": dash.css_size[1]}
    assert data["text/plain"].startswith("Dashboard(mu, sigma)")
    dash.widget.close()
    assert WIDGET_VIEW not in DisplayFormatter().format(dash)[0]  # a closed widget has no view


def test_a_kernel_sends_the_view_of_a_live_widget_and_nbconvert_shows_the_png():
    """A kernel runs a dashboard cell: its output names the VBox the kernel opened, and the HTML
    export without widget state (the README's handout) shows the output's PNG."""
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(
        "from vaelib.dashboards import l01_gaussian\nl01_gaussian.dashboard()")])
    NotebookClient(nb, timeout=300, kernel_name="python3", store_widget_state=True).execute()
    [output] = [o for o in nb.cells[0].outputs if o.output_type in ("display_data", "execute_result")]
    state = nb.metadata.widgets[WIDGET_STATE]["state"]
    model = state[output.data[WIDGET_VIEW]["model_id"]]
    assert model["model_name"] == "VBoxModel", model["model_name"]
    assert state[model["state"]["children"][-1].removeprefix("IPY_MODEL_")]["model_name"] == "ImageModel"
    del nb.metadata["widgets"]
    html, _ = HTMLExporter().from_notebook_node(nb)
    assert re.findall(r'src="data:image/png;base64,([^"]+)"', html) == [output.data["image/png"]]
    print(f"ipywidgets {ipywidgets.__version__}: the widget view and the PNG")

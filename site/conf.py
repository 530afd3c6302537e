"""Sphinx configuration of the course's website (`make site`; tools/site.py stages the pages next to it).

The lessons are shown as they ran: myst-nb executes nothing (the executed copies come from `make test`),
prefers each dashboard's static PNG to its widget view and loads no widget JavaScript, and MathJax is
served from the site's own folder (copied from npm by tools/site.py): the site works with no network.
"""

project = "θ and φ, from one Gaussian to the VAE"
author = "the course's authors"
copyright = "2026, " + author
extensions = ["myst_nb"]
exclude_patterns = ["_build", "**.ipynb_checkpoints"]
myst_enable_extensions = ["dollarmath", "amsmath"]
myst_heading_anchors = 3
nb_execution_mode = "off"
nb_ipywidgets_js = {}  # no widget JavaScript from a CDN: dashboards show their PNG
nb_mime_priority_overrides = [("html", "application/vnd.jupyter.widget-view+json", None)]
suppress_warnings = ["mystnb.unknown_mime_type"]
mathjax_path = "mathjax/tex-chtml.js"  # relative to _static: MathJax 3 from npm, shipped with the site
html_theme = "sphinx_book_theme"
html_title = "θ and φ: from one Gaussian to the VAE"
html_static_path = ["_static"]
html_theme_options = {
    "repository_url": "https://github.com/vae-theta-phi/course",
    "repository_branch": "main",
    "path_to_docs": "",
    "use_repository_button": True,
    "launch_buttons": {"binderhub_url": "https://mybinder.org", "colab_url": "https://colab.research.google.com",
                       "notebook_interface": "jupyterlab"},
    "show_toc_level": 2,
}
html_context = {"default_mode": "light"}  # unset, the theme logs "Got invalid theme mode" as an error


# Accessible names (axe-core's label-content-name-mismatch, "serious"): two pieces of the theme's and
# myst-nb's markup give an element an aria-label that hides its visible text (the search button's
# "Search" over "Search Ctrl+K"; a collapsed cell's "Toggle hidden content" over "Show code cell
# source"). Without the aria-label the accessible name is the visible text itself.
HIDING_LABELS = ('aria-label="Toggle hidden content"', 'aria-label="Search"')
# Landmarks (axe-core's region, "moderate"): the theme's primary sidebar (the course's title, the search
# and the table of contents) is a plain div, so its title sat outside every landmark on every page.
LANDMARKS = {'<div id="pst-primary-sidebar" class=':
             '<div id="pst-primary-sidebar" role="navigation" aria-label="The course" class='}


def _accessible_markup(app, exception):
    import pathlib

    if exception is not None or app.builder.format != "html":
        return
    for page in pathlib.Path(app.outdir).rglob("*.html"):
        html = page.read_text(encoding="utf-8")
        fixed = html
        for label in HIDING_LABELS:
            fixed = fixed.replace(" " + label, "")
        for plain, landmark in LANDMARKS.items():
            fixed = fixed.replace(plain, landmark)
        if fixed != html:
            page.write_text(fixed, encoding="utf-8")


def setup(app):
    app.connect("build-finished", _accessible_markup)

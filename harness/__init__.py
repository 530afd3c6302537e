"""What the tests and the benchmarks share; not part of the course's library (vaelib).

    harness.browser_lab   a Jupyter server (the course's or the stock one) on a copy of the notebooks,
                          and a Chromium page driving it (tests/test_browser.py, tests/test_site.py,
                          benchmarks/browser_latency.py)
    harness.dashboards    a dashboard timed, re-plotted naively and read back (tests/test_widgets.py,
                          tests/test_sweep.py, benchmarks/widget_latency.py)

Installed with vaelib by the same editable install (pyproject.toml), so `import harness` works
from the tests, the benchmarks and a shell alike. Nothing is imported here: the dashboard helpers
need neither psutil nor a browser.
"""

"""Every dashboard of the course, one module per lesson (l01_gaussian.py, l02_lvm.py, ...).

Each module defines DASHBOARDS = {name: factory}, a factory being a no-argument function that
returns a vaelib.widgets.Dashboard with the lesson's defaults. `all_dashboards()` finds them all,
so the benchmark and the tests pick up a new lesson's dashboards without being edited.
"""

import importlib
import pkgutil


def all_dashboards() -> dict:
    """{name: factory} over every lesson module in this package, in lesson order."""
    found = {}
    for m in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{__name__}.{m.name}")
        for name, factory in getattr(module, "DASHBOARDS", {}).items():
            if name in found:
                raise ValueError(f"dashboard name {name!r} is defined twice (again in {m.name})")
            found[name] = factory
    return found

"""Lessons 00-05: every dashboard of the course, one module per lesson (l01_gaussian.py, l02_lvm.py,
...), and `common.py`, what they share.

Each lesson module defines DASHBOARDS = {name: factory}, a factory being a no-argument function
that returns a vaelib.widgets.Dashboard with the lesson's defaults. `all_dashboards()` finds them
all, so the benchmarks and the tests pick up a new lesson's dashboards without being edited.
"""

import importlib
import pkgutil
import re

LESSON = re.compile(r"l\d\d_")  # a lesson's module: l02_lvm.py


def lesson_modules() -> list[str]:
    """The names of the lesson modules in this package, in lesson order."""
    return sorted(m.name for m in pkgutil.iter_modules(__path__) if LESSON.match(m.name))


def all_dashboards() -> dict:
    """{name: factory} over every lesson module, in lesson order."""
    found = {}
    for name in lesson_modules():
        module = importlib.import_module(f"{__name__}.{name}")
        for title, factory in getattr(module, "DASHBOARDS", {}).items():
            if title in found:
                raise ValueError(f"dashboard name {title!r} is defined twice (again in {name})")
            found[title] = factory
    return found

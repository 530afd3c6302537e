"""Lessons 00-05: every dashboard of the course, one module per lesson (l01_gaussian.py, ...), and
common.py, what they share. `@register("NN name")` marks a factory (a function returning a
vaelib.widgets.Dashboard with the lesson's defaults); all_dashboards() finds them all, so the tests and
benchmarks pick up a new lesson's dashboards unedited.
"""

import importlib
import pkgutil
import re

LESSON = re.compile(r"l\d\d_")  # a lesson's module: l02_lvm.py


def lesson_modules() -> list[str]:
    """The names of the lesson modules in this package, in lesson order."""
    return sorted(m.name for m in pkgutil.iter_modules(__path__) if LESSON.match(m.name))


_REGISTERED: dict = {}


def register(title: str):
    """Mark a dashboard factory under `title` ("05 latent explorer"), for all_dashboards()."""

    def mark(factory):
        if _REGISTERED.get(title, factory) is not factory:
            raise ValueError(f"title: expected a name no other dashboard has, got {title!r} twice")
        _REGISTERED[title] = factory
        return factory

    return mark


def all_dashboards() -> dict:
    """{title: factory} over every lesson module, in lesson order."""
    for name in lesson_modules():
        importlib.import_module(f"{__name__}.{name}")
    return dict(sorted(_REGISTERED.items()))

"""vaelib stays a library a newcomer can read: each module in one sitting, each function on a screen.

A module over MODULE_LINES must say why in its first line ("longer because ..."); a function over
FUNCTION_LINES (its whole body, nested functions included) fails the suite.
"""

import ast
import pathlib

import pytest

VAELIB = pathlib.Path(__file__).resolve().parent.parent / "vaelib"
MODULES = sorted(VAELIB.rglob("*.py"))
MODULE_LINES, FUNCTION_LINES = 210, 32  # the house's "~200" and "~30", with a little slack


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(VAELIB)))
def test_each_module_reads_in_one_sitting(path):
    lines = path.read_text().splitlines()
    assert len(lines) <= MODULE_LINES or "longer because" in lines[0], (
        f"{path.name}: {len(lines)} lines; split it, or say in its first line why it is longer")


def long_functions(source: str) -> list[str]:
    """Every function (methods and nested ones too) over FUNCTION_LINES lines."""
    return [f"{node.name} ({node.end_lineno - node.lineno + 1} lines, line {node.lineno})"
            for node in ast.walk(ast.parse(source))
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
            and node.end_lineno - node.lineno + 1 > FUNCTION_LINES]


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(VAELIB)))
def test_each_function_fits_on_a_screen(path):
    long = long_functions(path.read_text())
    assert not long, f"{path.name}: functions over {FUNCTION_LINES} lines: {long}"


def test_the_layout_check_would_notice_a_long_method():
    source = "class A:\n    def f(self):\n" + "        x = 1\n" * 40
    assert long_functions(source) == ["f (41 lines, line 2)"]

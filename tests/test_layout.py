"""vaelib reads the way the course is taught: each module names its lesson, and a reader who follows
a call goes down, never back up through a room already passed.

No line counts: a function is one idea and its length follows the idea (AEVB's Algorithm 1 is one
function, lesson 05 shows it whole). What a length cap was meant to serve is tested instead:
- each module's first line says which lesson(s) it serves;
- the modules import each other without a cycle, imports inside functions included;
- following the model from `train.train` down to the ELBO of one minibatch, no call enters a module
  that is already on the call stack below the current one (no A -> B -> A), traced as it runs.
"""

import ast
import pathlib
import re
import sys

import pytest
import torch

from vaelib import train, vae

VAELIB = pathlib.Path(__file__).resolve().parent.parent / "vaelib"
MODULES = sorted(VAELIB.rglob("*.py"))
NAMES_ITS_LESSON = re.compile(r'^"""(vaelib: |Lessons? \d\d|Every lesson|All lessons)')


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(VAELIB)))
def test_each_module_names_its_lesson_in_its_first_line(path):
    first = path.read_text().splitlines()[0]
    assert NAMES_ITS_LESSON.match(first), f"{path.name}: {first!r}"


def imports(path: pathlib.Path) -> set[str]:
    """The vaelib modules one file imports, anywhere in it (a function's own imports too)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("vaelib"):
            found |= {node.module} | {f"{node.module}.{a.name}" for a in node.names}
        elif isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("vaelib")}
    return found


def module_name(path: pathlib.Path) -> str:
    return ".".join(("vaelib", *path.relative_to(VAELIB).with_suffix("").parts)).removesuffix(".__init__")


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    found, state = [], {}

    def visit(node, stack):
        state[node] = "open"
        for nxt in sorted(graph[node]):
            if state.get(nxt) == "open":
                found.append(stack[stack.index(nxt):] + [nxt])
            elif nxt not in state:
                visit(nxt, [*stack, nxt])
        state[node] = "done"

    for node in sorted(graph):
        if node not in state:
            visit(node, [node])
    return found


def test_the_modules_import_each_other_without_a_cycle():
    names = {module_name(p): p for p in MODULES}
    graph = {m: {i for i in imports(p) if i in names and i != m and i != "vaelib"} for m, p in names.items()}
    assert not cycles(graph), cycles(graph)


def test_the_cycle_finder_finds_one():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == [["a", "b", "c", "a"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def climbs(calls: list[tuple[str, int]]) -> list[str]:
    """Calls (module, depth of the call stack) that enter a module already on the stack below the
    caller's own module: the reader climbs back up to a room passed on the way down."""
    stack, found = [], []  # (depth, module) of the vaelib frames still running
    for module, depth in calls:
        stack = [(d, m) for d, m in stack if d < depth]
        rooms = [m for _, m in stack]
        if rooms and module != rooms[-1] and module in rooms:
            found.append(" -> ".join([*dict.fromkeys(rooms), module]))
        stack.append((depth, module))
    return found


def test_the_climb_finder_finds_one():
    assert climbs([("train", 1), ("vae", 3), ("elbo", 4), ("vae", 6)]) == ["train -> vae -> elbo -> vae"]
    assert climbs([("train", 1), ("vae", 2), ("vae", 3), ("train", 2)]) == []


def traced(run) -> list[tuple[str, int]]:
    """(vaelib module, depth) of every call into vaelib while `run` runs (argument checks left out)."""
    calls, depth = [], [0]

    def profile(frame, event, _):
        if event == "call":
            depth[0] += 1
            name = frame.f_code.co_filename
            if f"{VAELIB}/" in name and not name.endswith("validate.py"):
                calls.append((pathlib.Path(name).relative_to(VAELIB).with_suffix("").as_posix(), depth[0]))
        elif event == "return":
            depth[0] -= 1

    sys.setprofile(profile)
    try:
        run()
    finally:
        sys.setprofile(None)
    return calls


def test_following_the_model_from_train_to_the_elbo_never_climbs_back():
    model = vae.make_vae(z_dim=2, hidden=(8,), seed=0)
    X = (torch.rand(10, 64, generator=torch.Generator().manual_seed(0)) > 0.5).float()
    calls = traced(lambda: train.train(model, X, epochs=1, batch_size=10, progress=False))
    assert [m for m, _ in calls][:1] == ["train"] and {"encoder", "vae"} <= {m for m, _ in calls}
    assert not climbs(calls), climbs(calls)

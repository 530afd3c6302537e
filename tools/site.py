"""`make site`: the course as a static website, built offline (Sphinx, myst-nb, sphinx-book-theme).

    .venv/bin/python tools/site.py            # build/site/index.html, from build/executed/

1. The executed notebooks: build/executed/<path under notebooks/>.ipynb, which `make test`'s nbval run
   writes (conftest.py). A notebook with no executed copy is executed here (nbclient, a fresh kernel,
   cwd its folder) and its copy written: the site never shows a notebook that did not run.
2. The pages are staged in build/site-src/ with the repository's layout (so the theme's launch buttons
   open the same notebook on Binder and Colab): site/conf.py and site/index.md, README-free, plus
   INSTRUCTORS.md and notebooks/SOURCES.md. Each check, solution and self-check cell is shown collapsed
   (myst-nb's hide-input tag), the Colab set-up cell left out, and after each dashboard (whose PNG
   the page shows) comes one line saying it
   is live in Jupyter, with links that open the lesson on Binder and Colab.
3. MathJax 3 from npm (site/node_modules, installed by `npm ci` in site/) is copied into the site's
   _static folder: the built site loads nothing from the network.
4. sphinx-build -b html, warnings shown.
"""

import argparse
import base64
import hashlib
import html
import json
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import nbformat
from jupyter_client import KernelManager
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"
EXECUTED = ROOT / "build" / "executed"
SITE = ROOT / "site"
REPO = "vae-theta-phi/course"
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
OUT_OF_SIGHT = {"check", "solution", "self-check"}
MATHJAX_PARTS = ["tex-chtml.js", "input/tex", "output/chtml", "ui", "a11y"]  # not sre: no speech here


def notebooks() -> list[Path]:
    """Every lesson and further notebook, relative to notebooks/."""
    return sorted(p.relative_to(NOTEBOOKS) for p in NOTEBOOKS.rglob("*.ipynb")
                  if ".ipynb_checkpoints" not in p.parts)


def executed(rel: Path) -> nbformat.NotebookNode:
    """The executed copy of notebooks/<rel>, executed now if `make test` left none or left one of an
    older version of the notebook (its cells' sources differ); a page of prose only is its own copy."""
    copy = EXECUTED / rel
    nb = nbformat.read(NOTEBOOKS / rel, as_version=4)
    if copy.is_file():
        done = nbformat.read(copy, as_version=4)
        if [c.source for c in done.cells] == [c.source for c in nb.cells]:
            return done
    if any(c.cell_type == "code" for c in nb.cells):
        print(f"site: {rel} has no up-to-date executed copy in build/executed/: executing it now", flush=True)
        with tempfile.TemporaryDirectory(prefix="site-kernel-") as sockets:  # IPC, no TCP port
            km = KernelManager(kernel_name="python3", transport="ipc", ip=f"{sockets}/kernel")
            NotebookClient(nb, km=km, timeout=900,
                           resources={"metadata": {"path": str((NOTEBOOKS / rel).parent)}}).execute()
        copy.parent.mkdir(parents=True, exist_ok=True)
        tmp = copy.with_suffix(".tmp")
        nbformat.write(nb, tmp)
        tmp.replace(copy)
    return nb


def shown_at(outputs: list) -> str:
    """The sliders and the readout a dashboard's PNG was drawn at, from its alt text (Dashboard.alt_text:
    "Dashboard with sliders ... . <figure> Readout: ... ."), as a sentence of plain text."""
    alt = next((o.get("metadata", {}).get("image/png", {}).get("alt", "") for o in outputs
                if "image/png" in o.get("data", {})), "")
    found = re.match(r"Dashboard with sliders (.*?)\. .*?(?: Readout: (.*)\.)?$", alt, re.S)
    if not found:
        return ""
    said = f"Drawn at {found[1]}" + (f"; under it, the readout: {found[2]}" if found[2] else "") + ". "
    return re.sub(r"([\\`*_\[\]{}<>#|$])", r"\\\1", said)  # plain text, not markdown


def live_line(rel: Path, outputs: list) -> nbformat.NotebookNode:
    path = f"notebooks/{rel.as_posix()}"
    binder = f"https://mybinder.org/v2/gh/{REPO}/HEAD?urlpath=lab/tree/{path}"
    colab = f"https://colab.research.google.com/github/{REPO}/blob/main/{path}"
    return nbformat.v4.new_markdown_cell(
        f"{shown_at(outputs)}*This figure is live in Jupyter: its sliders move it there. Open this notebook "
        f"[on Binder]({binder}) or [on Colab]({colab}), or run `make lab` on your machine.*")


def staged(nb: nbformat.NotebookNode, rel: Path) -> nbformat.NotebookNode:
    cells = []
    readme = re.compile(r"\]\(((?:\.\./)+)README\.md")  # the README is the repository's page, not the site's
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            cell.source = readme.sub(f"](https://github.com/{REPO}/blob/main/README.md", cell.source)
        tags = set(cell.get("metadata", {}).get("tags", []))
        if cell.cell_type == "code" and "google.colab" in cell.source:  # Colab's set-up: not a page's
            cell.metadata["tags"] = sorted(tags | {"remove-cell"})
        elif tags & OUT_OF_SIGHT:
            cell.metadata["tags"] = sorted(tags | {"hide-input"})
        cells.append(cell)
        if cell.cell_type == "code" and any(WIDGET_VIEW in o.get("data", {}) for o in cell.outputs):
            cells.append(live_line(rel, cell.outputs))
    nb.cells = cells
    return nb


def stage(src: Path) -> None:
    if src.exists():
        shutil.rmtree(src)
    (src / "_static").mkdir(parents=True)
    for name in ("conf.py", "index.md"):
        shutil.copy2(SITE / name, src / name)
    instructors = (ROOT / "INSTRUCTORS.md").read_text().replace("](README.md)", "](index.md)")
    (src / "INSTRUCTORS.md").write_text(instructors)  # README's page on the site is index.md
    (src / "notebooks").mkdir()
    if (NOTEBOOKS / "SOURCES.md").is_file():
        shutil.copy2(NOTEBOOKS / "SOURCES.md", src / "notebooks" / "SOURCES.md")
    for rel in notebooks():
        target = src / "notebooks" / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(staged(executed(rel), rel), target)
    mathjax = SITE / "node_modules" / "mathjax" / "es5"
    if not mathjax.is_dir():
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund", "--silent"], cwd=SITE, check=True)
    (src / "_static" / "mathjax").mkdir()
    for part in MATHJAX_PARTS:
        copy = shutil.copytree if (mathjax / part).is_dir() else shutil.copy2
        copy(mathjax / part, src / "_static" / "mathjax" / part)


def figure_alts(src: Path) -> dict[str, str]:
    """{sha256 of a PNG: its alt text} over every staged notebook's outputs (vaelib.alt_text's)."""
    alts = {}
    for path in (src / "notebooks").rglob("*.ipynb"):
        for cell in nbformat.read(path, as_version=4).cells:
            for out in cell.get("outputs", []) if cell.cell_type == "code" else []:
                alt = out.get("metadata", {}).get("image/png", {}).get("alt")
                if alt and "image/png" in out.get("data", {}):
                    alts[hashlib.sha256(base64.b64decode(out["data"]["image/png"])).hexdigest()] = alt
    return alts


def give_figures_their_alt(out: Path, alts: dict[str, str]) -> None:
    """myst-nb names each output image by its bytes' sha256 and reads only width and height from the
    output's metadata, leaving docutils' default alt (the file's path): put the figure's own back."""
    pattern = re.compile(r'alt="[^"]*/_images/([0-9a-f]{64})\.png"')
    for page in out.rglob("*.html"):
        text = page.read_text(encoding="utf-8")
        fixed = pattern.sub(lambda m: f'alt="{html.escape(alts.get(m.group(1), ""), quote=True)}"'
                            if m.group(1) in alts else m.group(0), text)
        if fixed != text:
            page.write_text(fixed, encoding="utf-8")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "build" / "site")
    args = parser.parse_args(argv)
    src = ROOT / "build" / "site-src"
    stage(src)
    done = subprocess.run([sys.executable, "-m", "sphinx", "-b", "html", "-q", "-j", "2", str(src),
                           str(args.out)])
    if done.returncode == 0:
        give_figures_their_alt(args.out, figure_alts(src))
        pages = sorted(p.relative_to(args.out).as_posix() for p in args.out.rglob("*.html")
                       if not p.relative_to(args.out).parts[0].startswith(("_", "genindex", "search")))
        print(json.dumps({"site": str(args.out / "index.html"), "pages": len(pages)}))
    return done.returncode


if __name__ == "__main__":
    sys.exit(main())

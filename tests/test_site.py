"""The course's website (`make site`) in a real browser: Chromium on the built pages, from file://.

The site is built once for the module (tools/site.py, into a temporary folder) from the notebooks as
`make test` executed them (build/executed/, written by nbval's run; any copy missing is executed by the
build). Then every page is loaded and:
- nothing is requested outside the site's folder (no CDN: MathJax and the theme ship with it), and the
  page logs no console error and raises no page error;
- no `$...$` is left as text once MathJax has typeset the page;
- every image has an alt text that says something (not nbconvert's "No description has been provided"),
  and no two images of the site share one;
- axe-core (npm, site/node_modules), injected into the page, finds no violation of any impact;
- every link to another page of the site, and every #anchor, leads somewhere.
The counts are printed at the end of the run.
"""

import re
from collections import Counter
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlparse

import pytest
from playwright.sync_api import sync_playwright

from harness import browser_lab as lab

ROOT = Path(__file__).resolve().parents[1]
AXE = ROOT / "site" / "node_modules" / "axe-core" / "axe.min.js"
NOTEBOOKS = sorted(p.relative_to(ROOT / "notebooks") for p in (ROOT / "notebooks").rglob("[0-9][0-9]*.ipynb"))
NO_DESCRIPTION = "No description has been provided"
RESULTS = {}


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    import subprocess
    import sys

    if not AXE.is_file():  # make test installs the site's npm packages; a bare pytest does it here
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund", "--silent"], cwd=ROOT / "site", check=True)
    out = tmp_path_factory.mktemp("site")
    subprocess.run([sys.executable, str(ROOT / "tools" / "site.py"), "--out", str(out)], check=True,
                   timeout=1800)
    return out


def pages(site: Path) -> list[Path]:
    """Every page a reader can reach: the front page, each notebook's, the sources and instructors' pages."""
    return sorted(p for p in site.rglob("*.html")
                  if not p.relative_to(site).parts[0].startswith(("_", "genindex", "search")))


@pytest.fixture(scope="module")
def loaded(site):
    """Each page loaded in Chromium: what it requested, logged and showed."""
    lab.require_chromium("the site's browser checks")
    out = {}
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(lab.CHROMIUM), args=lab.CHROMIUM_ARGS)
        for path in pages(site):
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            seen = {"requests": [], "errors": []}
            page.on("request", lambda r, s=seen: s["requests"].append(r.url))
            page.on("console", lambda m, s=seen: s["errors"].append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e, s=seen: s["errors"].append(str(e)))
            page.goto(path.as_uri())
            page.wait_for_function("() => !window.MathJax || (MathJax.startup && MathJax.startup.promise)")
            page.evaluate("() => window.MathJax ? MathJax.startup.promise : null")
            seen["text"] = page.evaluate("""() => {
                const a = document.querySelector('article') || document.body;
                const c = a.cloneNode(true); c.querySelectorAll('pre, code, mjx-container, script, style')
                  .forEach(e => e.remove()); return c.innerText; }""")
            seen["alts"] = page.evaluate(
                "() => [...document.querySelectorAll('.cell_output img')].map(i => i.getAttribute('alt'))")
            page.add_script_tag(path=str(AXE))  # preload off: under file:// its CSS fetches would log errors
            seen["axe"] = page.evaluate("""async () =>
                (await axe.run(document, {resultTypes: ['violations'], preload: false}))
                .violations.map(v => ({id: v.id, impact: v.impact, nodes: v.nodes.length}))""")
            out[path.relative_to(site).as_posix()] = seen
            page.close()
        browser.close()
    RESULTS.update(out)
    return out


def test_every_notebook_has_a_page(site):
    missing = [str(n) for n in NOTEBOOKS if not (site / "notebooks" / n.with_suffix(".html")).is_file()]
    assert not missing, f"no page for {missing}"
    assert (site / "index.html").is_file()


def test_every_page_loads_from_its_folder_without_an_error(loaded):
    outside = {p: [u for u in s["requests"] if not u.startswith(("file://", "data:", "blob:"))]
               for p, s in loaded.items()}
    assert not any(outside.values()), {p: u for p, u in outside.items() if u}
    errors = {p: s["errors"] for p, s in loaded.items() if s["errors"]}
    assert not errors, errors


def test_no_math_is_left_unrendered(loaded):
    raw = {p: re.findall(r"\$[^$\n]{1,60}\$?", s["text"])[:3] for p, s in loaded.items() if "$" in s["text"]}
    assert not raw, raw


def says_something(alt) -> bool:
    """An alt text a reader can use: words, not a file name (docutils' default is the image's path)."""
    return bool(alt) and NO_DESCRIPTION not in alt and not re.search(r"\.(png|jpe?g|svg)$", alt) \
        and len(alt.split()) >= 4


def test_every_figure_says_what_it_shows_and_no_two_say_the_same(loaded):
    bad = {p: [a for a in s["alts"] if not says_something(a)] for p, s in loaded.items()}
    assert not any(bad.values()), {p: b[:2] for p, b in bad.items() if b}
    shared = [a for a, n in Counter(a for s in loaded.values() for a in s["alts"]).items() if n > 1]
    assert not shared, f"alt texts used by more than one figure: {shared[:3]}"


def test_every_dashboard_says_the_sliders_and_readout_it_was_drawn_at(loaded):
    """A static page has no live readout: the line under each dashboard's PNG (tools/site.py) gives it."""
    for page, seen in loaded.items():
        dashboards = [a for a in seen["alts"] if a.startswith("Dashboard with sliders")]
        assert seen["text"].count("Drawn at ") == len(dashboards), page
        readouts = [a.split(" Readout: ", 1)[1][:25] for a in dashboards if " Readout: " in a]
        shown = seen["text"].replace("\u2019", "'")  # Sphinx's smart quotes
        assert all(r in shown for r in readouts), (page, readouts)
    assert sum("Drawn at " in s["text"] for s in loaded.values()) >= 6  # the lessons with dashboards


def test_the_alt_text_check_can_fail():
    assert not says_something("../_images/38d1.png")
    assert not says_something(NO_DESCRIPTION + " for this image")
    assert not says_something("") and says_something("The prior and the posterior at x = 1.0")


def test_axe_finds_no_violation(loaded):
    found = {p: s["axe"] for p, s in loaded.items() if s["axe"]}  # of any impact, moderate and minor too
    assert not found, found


class _Links(HTMLParser):
    def __init__(self):
        super().__init__()
        self.hrefs, self.ids = [], set()

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if attrs.get("id"):
            self.ids.add(attrs["id"])
        if tag == "a" and attrs.get("href"):
            self.hrefs.append(attrs["href"])


def test_no_internal_link_is_broken(site):
    parsed = {}
    for page in pages(site) + sorted(site.glob("*.html")):
        p = _Links()
        p.feed(page.read_text(encoding="utf-8"))
        parsed[page.resolve()] = p
    broken = []
    for page, p in parsed.items():
        for href in p.hrefs:
            url = urlparse(href)
            if url.scheme or href.startswith(("mailto:", "javascript:")):
                continue
            target = (page.parent / unquote(url.path)).resolve() if url.path else page
            if target.is_dir():
                target = target / "index.html"
            if not target.is_file():
                broken.append(f"{page.name} -> {href}")
            elif url.fragment and target in parsed and unquote(url.fragment) not in parsed[target].ids:
                broken.append(f"{page.name} -> {href} (no such anchor)")
    assert not broken, broken[:10]


def test_site_summary(loaded, summary):
    """One line for the end of the run: pages, images, axe-core's counts by impact."""
    impacts = Counter(v["impact"] for s in loaded.values() for v in s["axe"])
    images = sum(len(s["alts"]) for s in loaded.values())
    summary(f"website: {len(loaded)} pages, {images} figures with alt text, axe-core violations "
            + (", ".join(f"{k} {n}" for k, n in sorted(impacts.items())) or "none"))

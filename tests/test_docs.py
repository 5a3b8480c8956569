"""The documentation site: it builds without a warning, reads right in a browser, and its tables
are true.

The site is built once per test worker (``sphinx -W --keep-going -n``, as ``make docs`` does, into a
temporary folder) and opened in headless Chromium through selenium, served from 127.0.0.1: the API
entry of `cosine_annealing` must show its formula rendered by MathJax (bundled with the site, no
network), and the search box must find `reduce_on_plateau`. Without Chromium, its driver or
selenium, the browser tests skip and say why (`.ci/run` installs them).

The migration page (docs/migration.md): every ``js.<name>(...)`` written in it names a real
function and real arguments, and the optax rows are compared with optax value by value.
"""

from __future__ import annotations

import ast
import functools
import http.server
import inspect
import re
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import jaxsched as js

ROOT = Path(__file__).resolve().parents[1]
MIGRATION = (ROOT / "docs" / "migration.md").read_text()
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")


# -- the build ---------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    """The built site (HTML), from the sources as they are; any warning fails the build."""
    pytest.importorskip("sphinx", reason="needs the docs extra (make docs installs it)")
    out = tmp_path_factory.mktemp("docs") / "html"
    build = subprocess.run(
        [sys.executable, "-m", "sphinx", "-b", "html", "-W", "--keep-going", "-n", "-q",
         "-d", str(out.parent / "doctrees"), str(ROOT / "docs"), str(out)],
        capture_output=True, text=True, cwd=ROOT)
    assert build.returncode == 0, build.stderr[-5000:]
    return out


def test_the_site_has_every_page_and_the_api_has_every_public_name(site):
    pages = {p.relative_to(site).as_posix() for p in site.rglob("*.html")}
    for page in ("index.html", "api.html", "migration.html", "guarantees.html",
                 "benchmarks.html", "notebooks.html", "changelog.html", "search.html"):
        assert page in pages
    assert len([p for p in pages if p.startswith("notebooks/")]) >= 4
    api = (site / "api.html").read_text()
    public = [n for n in dir(js) if not n.startswith("_")
              and getattr(getattr(js, n), "__module__", "").startswith("jaxsched")]
    missing = [n for n in public if f'id="jaxsched.{n}"' not in api]
    assert not missing and len(public) >= 30
    assert (site / "_static" / "mathjax" / "tex-chtml.js").is_file()  # offline MathJax
    assert "cdn.jsdelivr" not in (site / "api.html").read_text()


def test_the_api_page_reads_as_a_user_writes_it(site):
    """Signatures say ``ArrayLike`` (never a ``TypeAliasForwardRef(...)`` repr nor the module
    path), each part opens with a summary table, entries link to their source and Python's
    types to Python's documentation (through the bundled inventory: the build is offline)."""
    api = (site / "api.html").read_text()
    text = page_text(site / "api.html")
    assert "TypeAliasForwardRef" not in text and "jax.typing.ArrayLike" not in text
    # exponential_decay's, for one (the page puts each part of a parameter in its own element)
    assert re.search(r"end_value\s*:\s*ArrayLike\s*\|\s*None\s*=\s*None", text)
    assert api.count('class="autosummary') >= 8  # one table per part of two entries or more
    assert 'href="#jaxsched.cosine_annealing"' in api  # the table links to the entry
    assert "viewcode-link" in api and (site / "_modules").is_dir()
    assert 'href="https://docs.python.org/3/library/functions.html#int"' in api


def test_the_concept_pages_have_figures_drawn_at_build_time(site):
    """Cooldown shapes, branches, WSD cycles and extend; a plateau's cuts; an lr_find curve:
    each drawn by its page's code when the site is built (docs/conf.py, CodeFigure)."""
    for page, count in (("horizon.html", 4), ("plateau.html", 1), ("lr_find.html", 1)):
        images = re.findall(r'<img[^>]+src="(_images/[^"]+\.png)"', (site / page).read_text())
        assert len(images) >= count, (page, images)
        for image in images:
            assert (site / image).stat().st_size > 10_000  # a drawn figure, not a stub
    assert "\\sqrt{f}" in (site / "horizon.html").read_text()  # the shapes typeset as maths


def test_the_notebooks_are_rendered_with_their_figures(site):
    page = (site / "notebooks" / "04_step_decay_least_squares.html").read_text()
    assert re.search(r'<img[^>]+src="[^"]+\.png"', page), "the Ge et al. figure is missing"
    assert "step decay ends lowest" in page  # the notebook's own conclusion, printed


# -- what a reader meets: no internal references -------------------------------------------------

# Material a reader of the site does not have: the project's internal contract and tracker, and
# jaxsched's private modules. (The changelog may name issues: it is a record of them.)
_PRIVATE = "|".join(sorted(p.stem for p in (ROOT / "jaxsched").glob("_*.py")
                           if not p.stem.endswith("__")))
INTERNAL = {
    "the API contract": r"\bAPI\.md\b|\bSTYLE\.md\b|§\s*\d|\bsections? \d+[a-z]\b",
    "a private module": rf"(?<![\w/])(?:jaxsched[./])?(?:{_PRIVATE})\b(?!\()",
    "the tracker": r"\bissues? \d+\b|\bother engineers\b",
}


def page_text(page: Path) -> str:
    """What a reader sees of a page: its text without scripts, styles and tags."""
    import html

    text = re.sub(r"(?s)<(script|style)\b.*?</\1>", " ", page.read_text())
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", text)))


def test_no_page_cites_internal_material(site):
    """API.md and its sections, private modules (`_eager`), issue numbers: none on any page
    (the pages of source code that [source] links open are code, and exempt)."""
    found = []
    for page in sorted(site.rglob("*.html")):
        name = page.relative_to(site).as_posix()
        if name.startswith(("_modules/", "_static/")) or name in ("genindex.html", "search.html"):
            continue
        text = page_text(page)
        for what, pattern in INTERNAL.items():
            if what == "the tracker" and name == "changelog.html":
                continue
            found += [f"{name}: {what}: ...{text[max(m.start() - 50, 0):m.end() + 30]}..."
                      for m in re.finditer(pattern, text)]
    assert not found, "\n".join(found)


def test_skip_messages_name_nothing_outside_the_repository():
    """A skipped test says what it needs, not a path of the machine it was written on."""
    messages = []
    for path in sorted((ROOT / "tests").glob("*.py")):
        messages += re.findall(r"(?:skip|importorskip)\([^)]*?\"([^\"]+)\"", path.read_text(),
                               re.S)
    assert len(messages) >= 5
    outside = [m for m in messages if re.search(r"\.\./|/shared/|^shared/|/work/|/home/|/tmp/",
                                                m)]
    assert not outside, outside


# -- in a browser --------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def browser(site):
    """(driver, base URL): headless Chromium on the site, served from 127.0.0.1."""
    if not (CHROMIUM and CHROMEDRIVER):
        pytest.skip("Chromium and its driver are not installed "
                    "(apt-get install chromium chromium-driver; .ci/run does)")
    webdriver = pytest.importorskip("selenium.webdriver",
                                    reason="needs selenium (the docs extra)")
    from selenium.webdriver.chrome.service import Service

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(Quiet, directory=str(site)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu",
                     "--disable-dev-shm-usage", "--window-size=1200,1000"):
        options.add_argument(argument)
    driver = webdriver.Chrome(options=options, service=Service(CHROMEDRIVER))
    try:
        yield driver, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        driver.quit()
        server.shutdown()
        server.server_close()


def wait_for(driver, condition, timeout=20):
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, timeout).until(lambda d: condition(d))


def test_the_api_page_shows_the_formula_of_cosine_annealing(browser):
    driver, base = browser
    driver.get(f"{base}/api.html#jaxsched.cosine_annealing")
    # the entry: <dt id="jaxsched.cosine_annealing"> and its <dd>, where MathJax puts its output
    entry = "dt[id='jaxsched.cosine_annealing'] + dd"
    rendered = wait_for(driver, lambda d: d.find_elements(
        "css selector", f"{entry} mjx-container"))
    formula = rendered[0]
    assert formula.size["width"] > 100 and formula.size["height"] > 10  # typeset, visible
    assert formula.is_displayed()
    assert not driver.find_elements("css selector", f"{entry} mjx-merror")  # no TeX error
    assert "cos" in formula.text  # MathJax's own rendering of \cos (as CHTML glyph text)
    assert "\\frac" not in driver.find_element("css selector", entry).text  # no raw TeX left


def test_the_search_box_finds_reduce_on_plateau(browser):
    from selenium.webdriver.common.keys import Keys

    driver, base = browser
    driver.get(f"{base}/index.html")
    box = wait_for(driver, lambda d: [b for b in d.find_elements("css selector", "input[name=q]")
                                      if b.is_displayed()])[0]
    box.send_keys("reduce_on_plateau", Keys.ENTER)
    hits = wait_for(driver, lambda d: [a for a in d.find_elements(
        "css selector", "#search-results a") if "reduce_on_plateau" in a.text])
    assert any(a.get_attribute("href").endswith("api.html#jaxsched.reduce_on_plateau")
               for a in hits), [a.get_attribute("href") for a in hits]


# Every page a reader may open (the notebooks included), at the width the browser has.
MEASURE = """
const wide = [];
for (const el of document.querySelectorAll("article pre, article table")) {
  if (el.offsetParent === null) continue;  // not displayed
  if (el.scrollWidth > el.clientWidth + 1) {
    wide.push(el.tagName + " " + el.scrollWidth + " > " + el.clientWidth + ": "
              + el.textContent.trim().slice(0, 60));
  }
}
return wide;
"""


def test_no_code_block_or_table_overflows_its_column(browser, site):
    """Every ``pre`` and table of every page fits its box (scrollWidth <= clientWidth) at the
    browser's 1200 px: a reader never scrolls sideways to finish a line or see a column."""
    driver, base = browser
    pages = sorted(p.relative_to(site).as_posix() for p in site.rglob("*.html")
                   if not p.relative_to(site).as_posix().startswith(("_modules/", "_static/")))
    overflowing, measured = [], 0
    for name in pages:
        driver.get(f"{base}/{name}")
        wait_for(driver, lambda d: d.execute_script("return document.readyState") == "complete")
        measured += driver.execute_script(
            "return document.querySelectorAll('article pre, article table').length")
        overflowing += [f"{name}: {line}" for line in driver.execute_script(MEASURE)]
    assert measured > 100  # the pages were read
    assert not overflowing, "\n".join(overflowing)


def test_every_test_the_pages_cite_exists():
    """``tests/test_x.py::test_name`` (or ``::test_name`` after a file) names a real test."""
    cited = 0
    for page in sorted((ROOT / "docs").glob("*.md")):
        last = None
        for match in re.finditer(r"`(tests/[\w/]+\.py)?(?:::(\w+))?`", page.read_text()):
            path, name = match.groups()
            last = path or last
            if not (path or name):
                continue
            source = (ROOT / last).read_text()
            assert not name or re.search(rf"def {name}\b", source), (page.name, last, name)
            cited += 1
    assert cited >= 20


# -- the migration page --------------------------------------------------------------------------

def js_calls(snippet: str):
    """(name, keyword names, number of positional arguments) of each js.<name>(...) call."""
    try:
        tree = ast.parse(snippet, mode="eval")
    except SyntaxError:
        return None
    calls = []
    for node in ast.walk(tree):
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                and isinstance(node.func.value, ast.Name) and node.func.value.id == "js"):
            calls.append((node.func.attr, [k.arg for k in node.keywords], len(node.args)))
    return calls


def test_every_js_call_on_the_migration_page_is_real():
    prose = re.sub(r"```.*?```", "", MIGRATION, flags=re.S)
    snippets = [s for s in re.findall(r"`([^`]+)`", prose) if "js." in s]
    checked = 0
    for snippet in snippets:
        calls = js_calls(snippet.replace("...", "None").replace("<the above>", "None"))
        if calls is None:
            continue
        for name, keywords, positional in calls:
            assert hasattr(js, name), f"js.{name} in {snippet!r}"
            parameters = inspect.signature(getattr(js, name)).parameters
            unknown = set(keywords) - set(parameters)
            assert not unknown, f"js.{name} has no argument {unknown}: {snippet!r}"
            assert positional + len(keywords) <= len(parameters), snippet
            checked += 1
    assert checked >= 55  # the tables are parsed, not skipped


def _vectorized(schedule):
    return jax.vmap(schedule)  # some optax schedules take scalar steps only


STEPS = jnp.arange(0, 1300)
# Each row of the page's optax table: (optax, jaxsched as the row writes it). The jaxsched side
# passes the arguments whose names changed in 1.0 by position (the same positions in 0.1 and 1.0).
OPTAX_ROWS = {
    "constant": (optax.constant_schedule(0.1), js.constant(0.1)),
    "linear": (optax.linear_schedule(0.1, 0.0, 500), js.linear(0.1, 0.0, steps=500)),
    "linear, begin": (optax.linear_schedule(0.1, 0.0, 500, transition_begin=100),
                      js.join([js.constant(0.1), js.linear(0.1, 0.0, 500)], boundaries=[100])),
    "polynomial": (optax.polynomial_schedule(0.1, 0.001, 2.0, 800),
                   js.polynomial_decay(0.1, 800, power=2.0, end_value=0.001)),
    "exponential": (optax.exponential_decay(0.1, 50, 0.5, transition_begin=100, staircase=True,
                                            end_value=0.01),
                    js.exponential_decay(0.1, gamma=0.5, transition_steps=50, staircase=True,
                                         transition_begin=100, end_value=0.01)),
    "cosine": (optax.cosine_decay_schedule(0.1, 800, alpha=0.1),
               js.cosine_annealing(0.1, 800, 0.1 * 0.1)),
    "warmup cosine": (optax.warmup_cosine_decay_schedule(0.01, 0.1, 100, 1000, end_value=0.001),
                      js.warmup(js.cosine_annealing(0.1, 1000 - 100, 0.001), 100,
                                init_value=0.01)),
    "warmup exponential": (
        optax.warmup_exponential_decay_schedule(0.0, 0.1, 100, 50, 0.5, end_value=0.001),
        js.warmup(js.exponential_decay(0.1, 0.5, 50, end_value=0.001), 100, init_value=0.0)),
    "piecewise constant": (optax.piecewise_constant_schedule(0.1, {300: 0.5, 600: 0.1}),
                           js.piecewise_constant(boundaries=[300, 600],
                                                 values=[0.1, 0.1 * 0.5, 0.1 * 0.5 * 0.1])),
    "piecewise linear": (optax.piecewise_interpolate_schedule("linear", 0.1, {300: 0.5, 600: 0.1}),
                         js.piecewise_linear(boundaries=[0, 300, 600],
                                             values=[0.1, 0.1 * 0.5, 0.1 * 0.5 * 0.1])),
    "join": (optax.join_schedules([optax.linear_schedule(0.0, 0.1, 100),
                                   optax.cosine_decay_schedule(0.1, 900)], [100]),
             js.join([js.linear(0.0, 0.1, 100), js.cosine_annealing(0.1, 900)], [100])),
    "sgdr": (optax.sgdr_schedule([dict(init_value=0.0, peak_value=0.1, warmup_steps=50,
                                       decay_steps=300, end_value=0.001)] * 4),
             js.repeat(js.warmup(js.cosine_annealing(0.1, 300 - 50, 0.001), 50, init_value=0.0),
                       period=300)),
}


def test_every_optax_row_of_the_page_is_checked():
    table = MIGRATION.split("## optax", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in table.splitlines()
            if line.startswith(("| `", "| ...")) and "no exact counterpart" not in line]
    # all but contrib.reduce_on_plateau (tested below); cosine_onecycle has no counterpart
    assert len(rows) - 1 == len(OPTAX_ROWS)


@pytest.mark.parametrize("row", OPTAX_ROWS)
def test_optax_rows(row):
    theirs, ours = OPTAX_ROWS[row]
    steps = STEPS[:1200] if row == "sgdr" else STEPS  # optax's sgdr ends after its 4 cycles
    with jax.numpy_dtype_promotion("standard"):  # optax's code is not written for strict mode
        expected = np.asarray(_vectorized(theirs)(steps), np.float64)
    np.testing.assert_allclose(np.asarray(ours(steps), np.float64), expected, rtol=2e-5,
                               atol=1e-7)


def _scales(transformation, values):
    """The scale after each observation, from one compiled scan."""
    def step(state, value):
        _, state = transformation.update(jnp.zeros(1), state, value=value)
        return state, state.scale

    _, scales = jax.lax.scan(step, transformation.init(jnp.zeros(1)), jnp.asarray(values))
    return np.asarray(scales, np.float64)


@pytest.mark.parametrize("patience, cooldown, accumulation", [(1, 0, 1), (3, 0, 1), (2, 2, 1),
                                                               (2, 1, 3)])
def test_optax_reduce_on_plateau_row(patience, cooldown, accumulation):
    rng = np.random.default_rng(0)
    values = np.concatenate([np.linspace(2, 1, 20), 1 + 0.01 * rng.standard_normal(30),
                             np.linspace(1, 0.5, 10), np.full(40, 0.5)]).astype(np.float32)
    theirs = optax.contrib.reduce_on_plateau(factor=0.5, patience=patience, rtol=1e-4,
                                             cooldown=cooldown, accumulation_size=accumulation,
                                             min_scale=0.01)
    ours = js.reduce_on_plateau(factor=0.5, patience=patience - 1, threshold=1e-4,
                                cooldown=cooldown, accumulation_steps=accumulation,
                                min_scale=0.01)
    with jax.numpy_dtype_promotion("standard"):  # optax's code is not written for strict mode
        expected = _scales(theirs, values)
    got = _scales(ours, values)
    assert got.min() < 1  # the sequence does trigger reductions
    np.testing.assert_allclose(got, expected, rtol=1e-6)

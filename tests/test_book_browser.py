"""The built book as readers see it: every page in headless Chromium.

The book is built (or a fresh build reused), ``_build/html`` is served on
localhost and each page is opened in Debian's ``chromium`` driven by
Playwright. For every page: HTTP 200, no console errors, no request leaves
localhost (the book must read offline), MathJax has typeset every formula,
every ``<img>`` loads, no cell output shows a traceback or an uncaught error,
the sidebar links to every chapter of ``_toc.yml``, internal links (anchors
included) resolve, and every widget explorer has its static figure. The
first screen of the landing page and of each chapter is saved under
``_build/screenshots/`` for a person to look at.

Run alone with ``pytest -m browser``.
"""

from __future__ import annotations

import functools
import html.parser
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
from _toc import toc_documents

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[1]
BUILD = ROOT / "_build"
HTML = BUILD / "html"
SHOTS = BUILD / "screenshots"
STAMP = BUILD / ".browser-test-built"
CHROMIUM = os.environ.get("TAYLORNET_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--no-first-run", "--disable-sync", "--disable-quic",
]
VIEWPORT = {"width": 1280, "height": 900}
TIMEOUT_MS = 60_000
QUASI_NEWTON = "chapters/06_quasi_newton"  # the search check looks for "BFGS" here
WIDGET_VIEW = 'script[type="application/vnd.jupyter.widget-view+json"]'


# --------------------------------------------------------------------- the toc
DOCS = toc_documents()
ROOT_DOC = DOCS[0]
CHAPTERS = DOCS[1:]


def source_of(doc):
    for suffix in (".md", ".ipynb", ".rst"):
        if (ROOT / f"{doc}{suffix}").exists():
            return ROOT / f"{doc}{suffix}"
    raise FileNotFoundError(f"_toc.yml names {doc!r} but no source file exists")


def page_of(doc):
    return HTML / f"{doc}.html"


def prose(text):
    """A MyST source without its fenced blocks (code cells, directives)."""
    return re.sub(r"^(```|~~~).*?^\1", "", text, flags=re.S | re.M)


# ----------------------------------------------------------------- the build
def build_inputs():
    """Files whose change makes the HTML stale: sources, config, toc, included files."""
    files = [ROOT / "_config.yml", ROOT / "_toc.yml", ROOT / "references.bib"]
    for doc in DOCS:
        src = source_of(doc)
        files.append(src)
        for inc in re.findall(r"^```\{(?:include|literalinclude)\}\s+(\S+)", src.read_text(), re.M):
            files.append((src.parent / inc).resolve())
    return [f for f in files if f.exists()]


def stale_reason():
    if not (HTML / "index.html").exists():
        return "no _build/html"
    for doc in DOCS:
        if not page_of(doc).exists():
            return f"{doc} has no page"
        if page_of(doc).stat().st_mtime < source_of(doc).stat().st_mtime:
            return f"{doc} changed since it was built"
    built = max(p.stat().st_mtime for p in (HTML / ".buildinfo", STAMP) if p.exists())
    newer = [f for f in build_inputs() if f.stat().st_mtime > built]
    return f"{newer[0].relative_to(ROOT)} changed since the build" if newer else None


@pytest.fixture(scope="session")
def book():
    """A fresh _build/html: reused when newer than every input, else rebuilt."""
    reason = stale_reason()
    if reason:
        jb = Path(sys.executable).with_name("jupyter-book")
        cmd = [str(jb) if jb.exists() else "jupyter-book", "build", str(ROOT),
               "--warningiserror", "--keep-going", "--quiet"]
        print(f"building the book ({reason})")
        # as `make book`: widgets send nothing while executing (taylornet/explorers.py)
        env = {**os.environ, "TAYLORNET_HEADLESS_WIDGETS": "1"}
        run = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, env=env)
        if run.returncode:
            pytest.fail(f"book build failed ({' '.join(cmd)}):\n"
                        f"{(run.stdout + run.stderr)[-6000:]}")
        BUILD.mkdir(exist_ok=True)
        STAMP.touch()
    return HTML


# ---------------------------------------------------------------- the server
class QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture(scope="session")
def site(book):
    """_build/html served on a free localhost port; yields its base URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0),
                                 functools.partial(QuietHandler, directory=str(book)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


# --------------------------------------------------------------- the browser
def is_local(url):
    parts = urlsplit(url)
    if parts.scheme in ("data", "blob", "about"):
        return True
    return parts.hostname in ("127.0.0.1", "localhost")


class Browser:
    """One Chromium context; records console errors and every request."""

    def __init__(self, context):
        self.context = context
        self.page = context.new_page()
        self.page.set_default_timeout(TIMEOUT_MS)
        self.console, self.requests, self.bad_responses = [], [], []
        self.page.on("console", self._on_console)
        self.page.on("pageerror", lambda exc: self.console.append(f"uncaught: {exc}"))
        context.on("request", lambda req: self.requests.append(req.url))
        context.on("response", self._on_response)
        # Every page is judged as a first visit: nothing kept from the page before.
        context.add_init_script(
            "try { localStorage.clear(); sessionStorage.clear(); } catch (e) {}")
        # Anything not on localhost is recorded above and never leaves the machine.
        context.route(lambda url: not is_local(url), lambda route: route.abort())

    def _on_console(self, msg):
        if msg.type == "error":
            self.console.append(f"{msg.text} ({msg.location.get('url', '')})")

    def _on_response(self, resp):
        if resp.status >= 400:
            self.bad_responses.append(f"{resp.status} {resp.url}")

    def reset(self):
        self.console.clear()
        self.requests.clear()
        self.bad_responses.clear()


@pytest.fixture(scope="session")
def browser(site):
    if not Path(CHROMIUM).exists():
        msg = (f"chromium not found at {CHROMIUM}: install Debian's package "
               "(apt-get install chromium); `make test` does so on CI")
        if os.environ.get("CI"):
            pytest.fail(msg)
        pytest.skip(msg)
    if os.environ.get("CI"):
        from playwright.sync_api import sync_playwright
    else:
        sync_playwright = pytest.importorskip(
            "playwright.sync_api", reason="playwright is not installed (pip install -e '.[test]')"
        ).sync_playwright
    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, headless=True,
                                      args=CHROMIUM_ARGS)
        context = chromium.new_context(viewport=VIEWPORT, service_workers="block")
        yield Browser(context)
        context.close()
        chromium.close()


# ------------------------------------------------------------- page checks
WAIT_FOR_MATHJAX = """async () => {
  if (!document.querySelector('.math')) return 'no math';
  const t0 = Date.now();
  while (!(window.MathJax && MathJax.startup && MathJax.startup.promise)) {
    if (Date.now() - t0 > 30000) return 'MathJax never started';
    await new Promise(r => setTimeout(r, 50));
  }
  await MathJax.startup.promise;
  return 'typeset';
}"""

WAIT_FOR_IMAGES = """async () => {
  const imgs = Array.from(document.images);
  imgs.forEach(img => { img.loading = 'eager'; });
  await Promise.all(imgs.map(img => img.decode().catch(() => null)));
  return imgs.length;
}"""

INSPECT = """(widgetSel) => {
  const skip = 'pre, code, script, style, textarea, mjx-container, .highlight';
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  const raw = [];
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    if (n.parentElement && n.parentElement.closest(skip)) continue;
    if (['$$', '\\\\begin{', '\\\\(', '\\\\['].some(t => n.textContent.includes(t))) {
      raw.push(n.textContent.trim().slice(0, 120));
    }
  }
  const math = Array.from(document.querySelectorAll('.math'));
  const widgets = Array.from(document.querySelectorAll(widgetSel)).map(w => {
    const cell = w.closest('.cell');
    const section = cell ? cell.closest('section') : null;
    const heading = section ? section.querySelector('h1,h2,h3,h4') : null;
    // a static figure: an image after the widget's cell in its section, in a cell's
    // output or in a figure (myst-nb's glue:figure)
    const later = section ? Array.from(section.querySelectorAll('.cell_output img, figure img'))
        .filter(img => !cell.contains(img)
            && (cell.compareDocumentPosition(img) & Node.DOCUMENT_POSITION_FOLLOWING)) : [];
    const figures = later.filter(img => img.complete && img.naturalWidth > 0);
    return {section: heading ? heading.textContent.replace('#', '').trim() : '?',
            static_figures: figures.length};
  });
  return {
    raw_tex: raw,
    math: math.length,
    untypeset: math.filter(m => !m.querySelector('mjx-container'))
                   .map(m => m.textContent.trim().slice(0, 80)),
    mjx: document.querySelectorAll('mjx-container').length,
    // TeX errors: <merror>; undefined macros: MathJax's noundefined shows them in red.
    mjx_errors: Array.from(document.querySelectorAll('mjx-merror'))
                   .map(e => e.getAttribute('data-mjx-error') || e.textContent)
                   .concat(Array.from(document.querySelectorAll(
                       'mjx-assistive-mml mtext[mathcolor="red"]'))
                   .filter(e => e.textContent.startsWith('\\\\'))
                   .map(e => 'undefined macro ' + e.textContent)),
    broken_images: Array.from(document.images)
                   .filter(img => !(img.complete && img.naturalWidth > 0))
                   .map(img => img.getAttribute('src')),
    images: document.images.length,
    outputs: Array.from(document.querySelectorAll('.cell_output')).map(o => {
      const cell = o.closest('.cell');
      const input = cell ? cell.querySelector('.cell_input') : null;
      return {text: o.innerText,
              traceback: !!o.querySelector('.traceback, .output.error, .output.stderr'),
              quotes: !!cell && cell.classList.contains('tag_quotes-grader-messages'),
              source: input ? input.innerText : ''};
    }),
    sidebar: Array.from(document.querySelectorAll('.bd-sidenav a[href]')).map(a => a.href),
    links: Array.from(document.querySelectorAll('a[href]')).map(a => a.href),
    widgets: widgets,
  };
}"""


class IdParser(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.ids = set()

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            if name in ("id", "name") and value:
                self.ids.add(value)


@functools.cache
def ids_in(path):
    parser = IdParser()
    parser.feed(path.read_text(encoding="utf-8", errors="replace"))
    return frozenset(parser.ids)


def target_file(path):
    """The file a URL path of the site points to (None when outside _build/html)."""
    target = (HTML / unquote(path).lstrip("/")).resolve()
    if not target.is_relative_to(HTML.resolve()):
        return None
    return target / "index.html" if target.is_dir() else target


def link_problems(links, site):
    problems = []
    for href in sorted(set(links)):
        if not href.startswith(site):
            continue  # another site: a link for the reader, not a request of the page
        parts = urlsplit(href)
        target = target_file(parts.path)
        if target is None or not target.is_file():
            problems.append(f"broken link {href}")
        elif parts.fragment and target.suffix == ".html":
            if unquote(parts.fragment) not in ids_in(target):
                problems.append(f"link to a missing anchor {href}")
    return problems


ERROR_WORD = re.compile(r"\b\w*Error\b")


def output_problems(outputs):
    """Tracebacks anywhere; an ``...Error`` only where the cell catches it on purpose,
    or quotes a grader's messages as data (a cell tagged ``quotes-grader-messages``)."""
    problems = []
    for out in outputs:
        text = out["text"]
        if out["traceback"] or "Traceback (most recent call last)" in text:
            problems.append(f"cell output with a traceback: {text.strip()[:300]!r}")
        elif out.get("quotes"):
            continue
        elif ERROR_WORD.search(text) and not re.search(r"\bexcept\b", out["source"]):
            problems.append(f"cell output shows an error its cell does not catch: "
                            f"{text.strip()[:300]!r}")
    return problems


def open_page(browser, url):
    """Load a page, wait for MathJax and the images; returns (status, problems)."""
    browser.reset()
    resp = browser.page.goto(url, wait_until="load")
    status = resp.status if resp else None
    mathjax = browser.page.evaluate(WAIT_FOR_MATHJAX)
    browser.page.evaluate(WAIT_FOR_IMAGES)
    problems = [] if status == 200 else [f"HTTP {status} for {url}"]
    if mathjax == "MathJax never started":
        problems.append("the page has math but MathJax never started")
    return problems


def common_problems(browser, site, info):
    problems = []
    problems += [f"console error: {c}" for c in browser.console]
    problems += [f"HTTP error: {r}" for r in browser.bad_responses]
    problems += [f"request left localhost: {u}" for u in browser.requests if not is_local(u)]
    problems += [f"raw TeX in the text: {t!r}" for t in info["raw_tex"]]
    problems += [f"formula not typeset: {t!r}" for t in info["untypeset"]]
    problems += [f"MathJax error: {e!r}" for e in info["mjx_errors"]]
    problems += [f"image did not load: {src}" for src in info["broken_images"]]
    problems += output_problems(info["outputs"])
    problems += link_problems(info["links"], site)
    problems += [f"widget in '{w['section']}' has no static figure after it"
                 for w in info["widgets"] if not w["static_figures"]]
    return problems


def screenshot_name(doc):
    return doc.replace("/", "__") + ".png"


# --------------------------------------------------------------------- tests
def test_toc_documents_have_sources():
    assert CHAPTERS, "_toc.yml lists no chapters"
    for doc in DOCS:
        source_of(doc)


def test_index_redirects_to_the_landing_page(browser, site):
    browser.reset()
    resp = browser.page.goto(site + "index.html")
    assert resp is not None and resp.status == 200
    browser.page.wait_for_url(f"{site}{ROOT_DOC}.html")
    assert not browser.console
    assert not [u for u in browser.requests if not is_local(u)]


@pytest.mark.parametrize("doc", DOCS)
def test_page(doc, browser, site):
    url = f"{site}{doc}.html"
    problems = open_page(browser, url)
    SHOTS.mkdir(parents=True, exist_ok=True)
    browser.page.screenshot(path=SHOTS / screenshot_name(doc))
    info = browser.page.evaluate(INSPECT, WIDGET_VIEW)
    problems += common_problems(browser, site, info)

    source = prose(source_of(doc).read_text())
    if re.search(r"\$[^$\n]+\$", source) and not info["mjx"]:
        problems.append("the source has math but the page has no typeset formula")

    sidebar = {urlsplit(h).path for h in info["sidebar"]}
    problems += [f"the sidebar does not link to {c}" for c in CHAPTERS
                 if f"/{c}.html" not in sidebar]

    explorers = len(re.findall(r"widgets\.interactive\(|interact\(", source_of(doc).read_text()))
    if explorers and len(info["widgets"]) < explorers:
        problems.append(f"{explorers} widget explorer(s) in the source, "
                        f"{len(info['widgets'])} in the page")
    assert not problems, f"{doc}:\n  " + "\n  ".join(problems)


def test_other_pages(book, browser, site):
    """The pages Sphinx adds (index of proofs, general index, search, ...)."""
    skip = {"_static", "_sources", "_images", ".pytest_cache"}
    pages = sorted(p.relative_to(book).as_posix() for p in book.rglob("*.html")
                   if not skip & set(p.relative_to(book).parts))
    others = [p for p in pages if p[:-5] not in DOCS and p != "index.html"]
    assert "search.html" in others and "genindex.html" in others
    failures = []
    for rel in others:
        problems = open_page(browser, site + rel)
        info = browser.page.evaluate(INSPECT, WIDGET_VIEW)
        problems += common_problems(browser, site, info)
        if problems:
            failures.append(f"{rel}:\n  " + "\n  ".join(problems))
    assert not failures, "\n".join(failures)


def test_search_finds_bfgs_on_the_quasi_newton_chapter(browser, site):
    if QUASI_NEWTON not in DOCS:
        pytest.skip(f"{QUASI_NEWTON} is not in _toc.yml yet")
    problems = open_page(browser, site + "search.html?q=BFGS")
    t0 = time.monotonic()
    browser.page.wait_for_function(
        """() => {
          const s = document.querySelector('#search-results .search-summary');
          return s && /Search finished|did not match/.test(s.textContent);
        }""")
    hits = browser.page.eval_on_selector_all(
        "#search-results ul.search li a", "links => links.map(a => a.href)")
    pages = {urlsplit(h).path for h in hits}
    assert not problems
    assert f"/{QUASI_NEWTON}.html" in pages, (
        f"search for BFGS (took {time.monotonic() - t0:.1f} s) lists {sorted(pages)}")
    assert not [u for u in browser.requests if not is_local(u)]

"""The documentation site as `make docs` builds it without Quarto (nbdev's processors, then MkDocs), and the README.

Checks: no "NoneType" left in any page; every exported name (and every public or `__call__` method) has the anchor its
`_modidx.py` doc link points to; the FaceService and Store pages show a signature and a parameter table for every
method, a table of contents and a search box; and search, in headless Chromium, finds `verify`.
Set FEMVERIFY_SCREENSHOTS=<folder> to keep the two pages' screenshots (benchmarks/results/ holds the committed ones)."""
import functools, http.server, importlib, os, re, subprocess, sys, threading
from pathlib import Path
import pytest
from conftest import ROOT

FLAGS = ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run', '--disable-sync']


@pytest.fixture(scope='module')
def site(tmp_path_factory):
    out = tmp_path_factory.mktemp('docs')
    r = subprocess.run([sys.executable, 'tools/docs.py', str(out)], cwd=ROOT, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr[-3000:]
    return out


def documented() -> dict:
    "{module page link: symbol} for every name the docs must show: each module's __all__, and their public and __call__ methods."
    from femverify._modidx import d
    out = {}
    for mod, syms in d['syms'].items():
        public = set(getattr(importlib.import_module(mod), '__all__', []))
        for sym, (link, _) in syms.items():
            parts = sym[len(mod) + 1:].split('.')
            if parts[0] in public and (len(parts) == 1 or not parts[1].startswith('_') or parts[1] == '__call__'): out[link] = sym
    return out


def test_pages_are_rendered_and_every_exported_name_resolves(site):
    pages = {p.name: p.read_text() for p in site.glob('*.html')}
    assert {'index.html', 'store.html', 'service.html', 'search.html', 'verify.html'} <= set(pages)
    for name, html in pages.items():
        assert 'NoneType' not in html, f'{name}: "NoneType" rendered'
        assert '#| export' not in html and 'def _repr_markdown_' not in html, name
    missing = []
    for link, sym in documented().items():
        page, anchor = link.split('#')
        if page not in pages or f'id="{anchor}"' not in pages[page]: missing.append(f'{sym} → {link}')
    assert not missing, f'{len(missing)} doc links do not resolve: {missing[:10]}'
    assert 'id="embedder.__call__"' in pages['verify.html'] and 'id="facefinder.__call__"' in pages['gate.html']
    assert '\r' not in pages['detect.html'] and '\r' not in pages['annotate.html'] and '\r' not in pages['gate.html']  # tqdm's carriage returns collapsed


@pytest.mark.parametrize('page,cls', [('service.html', 'FaceService'), ('store.html', 'Store')])
def test_every_method_has_signature_and_parameter_table(site, page, cls):
    html = (site / page).read_text()
    methods = sorted({s.split('.')[-1] for s in documented().values() if re.fullmatch(rf'femverify\.\w+\.{cls}\.\w+', s)})
    assert len(methods) >= 5, methods
    for m in methods:
        i = html.find(f'id="{cls.lower()}.{m.lower()}"'); assert i >= 0, m
        block = html[i:html.find('<hr', i + 10) if html.find('<hr', i + 10) > 0 else None]
        assert 'class="highlight"' in block, f'{cls}.{m}: no signature'
        params = re.search(rf'{cls}\.{m}\((.*?)\)', re.sub('<[^>]+>', '', block), re.S)
        if params and params.group(1).strip(): assert '<table' in block and 'Details' in block, f'{cls}.{m}: no parameter table'


@pytest.fixture(scope='module')
def served(site):
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(site))
    handler.log_message = lambda *a: None
    srv = http.server.ThreadingHTTPServer(('127.0.0.1', 0), handler)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    yield f'http://127.0.0.1:{srv.server_port}'
    srv.shutdown()


def test_browser_shows_toc_and_search_finds_verify(served, tmp_path):
    from playwright.sync_api import sync_playwright
    keep = Path(os.environ['FEMVERIFY_SCREENSHOTS']) if os.environ.get('FEMVERIFY_SCREENSHOTS') else tmp_path
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path='/usr/bin/chromium', headless=True, args=FLAGS)
        pg = b.new_page(viewport={'width': 1400, 'height': 1000})
        for page, cls in (('service.html', 'FaceService'), ('store.html', 'Store')):
            pg.goto(f'{served}/{page}#{cls.lower()}.verify' if cls == 'FaceService' else f'{served}/{page}#store.enroll')
            assert pg.locator('nav.md-nav--secondary').count() >= 1, 'no table of contents'
            assert pg.locator('input.md-search__input').count() == 1, 'no search box'
            assert pg.locator('table').count() >= 8
            shown = pg.eval_on_selector_all('.jp-InputPrompt, .jp-OutputPrompt', 'es => es.filter(e => e.offsetParent !== null).length')
            assert shown == 0, f'{page}: {shown} In [ ]/Out[ ] prompts visible'
            pg.screenshot(path=str(keep / f'docs-{cls.lower()}.png'))
        pg.locator('input.md-search__input').click()
        pg.keyboard.type('verify')  # typed, as a reader would: the search listens to key events
        pg.wait_for_selector('.md-search-result__item', timeout=20000)
        hits = pg.locator('.md-search-result__item').all_inner_texts()
        pg.screenshot(path=str(keep / 'docs-search.png'))
        b.close()
    assert any('verify' in h.lower() for h in hits), hits[:5]


BASE = '/femverify/'  # the site's path where it is published (settings.ini: doc_baseurl)


def links(html: str) -> list:
    "The href of every <a> in a page."
    return re.findall(r'<a\b[^>]*?\bhref="([^"]*)"', html)


def test_no_internal_link_is_broken(site):
    "Every link from one page of the site to another (or to an anchor) lands: the file exists and has that id."
    pages = {p.relative_to(site).as_posix(): p.read_text() for p in site.rglob('*.html')}
    ids = {name: set(re.findall(r'\bid="([^"]+)"', html)) for name, html in pages.items()}
    broken = []
    for name, html in pages.items():
        for href in links(html):
            if name == '404.html' and href.startswith(BASE): href = href[len(BASE):]  # served from any depth: absolute links
            if re.match(r'^[a-z]+:|^//', href) or href.startswith('data:'): continue  # external (or inline)
            path, _, anchor = href.partition('#')
            target = (Path(name).parent / path).as_posix() if path else name
            target = os.path.normpath(target).replace(os.sep, '/')
            if target.endswith('/') or target == '.': target = (target.rstrip('/') + '/index.html').lstrip('./')
            if target not in pages:
                if not (site / target).exists(): broken.append(f'{name} → {href}')
            elif anchor and anchor not in ids[target]: broken.append(f'{name} → {href} (no such anchor)')
    assert not broken, f'{len(broken)} broken links, e.g. ' + '; '.join(broken[:12])


def test_readme_is_generated_from_index():
    r = subprocess.run([sys.executable, 'tools/readme.py', '--check'], cwd=ROOT, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert 'make test' in (ROOT / 'README.md').read_text()


def _plain(html: str) -> str:
    "A page's visible text, whitespace collapsed."
    import html as h
    return ' '.join(h.unescape(re.sub(r'<[^>]+>', ' ', re.sub(r'<(script|style)\b.*?</\1>', ' ', html, flags=re.S))).split())


def _intro(nb: Path) -> str:
    "The opening words of a notebook's introduction: the first markdown cell after its title cell, links and code marks removed."
    import json
    md = [''.join(c['source']) for c in json.loads(nb.read_text())['cells'] if c['cell_type'] == 'markdown']
    assert re.fullmatch(r'# [^\n]+\n\n> [^\n]+\n?', md[0]), f'{nb.name}: the title cell holds more than "# Title" and "> summary"'
    text = re.sub(r'\[([^\]]+)\]\([^)]+\)', r'\1', md[1]); text = re.sub(r'[`*_]', '', text)
    return ' '.join(text.split()[:10])


def test_every_page_keeps_its_introduction_and_the_home_page_its_diagram(site):
    sys.path.insert(0, str(ROOT / 'tools'))
    from docs import page_name
    for nb in sorted((ROOT / 'nbs').glob('*.ipynb')):
        page = 'index.html' if nb.stem == 'index' else f'{page_name(nb)}.html'
        words = _intro(nb)
        squash = lambda t: re.sub(r'\s+', '', t)  # the page's markup splits text where the notebook's doesn't
        assert squash(words) in squash(_plain((site / page).read_text())), f'{page}: the introduction ("{words}…") is not on the page'
    home = (site / 'index.html').read_text()
    assert 'one clear face?' in _plain(home) and '<table' in home and 'a live person' in _plain(home)

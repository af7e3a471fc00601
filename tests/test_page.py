"""The web page in headless Chromium (Debian's, driven by Playwright): upload grace_hopper.jpg, read the answer off the page."""
import threading
import pytest
from werkzeug.serving import make_server
from playwright.sync_api import sync_playwright
from api import create_app
from conftest import API_KEY, HOPPER, FakeDetector, make_service

FLAGS = ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run', '--disable-sync']


@pytest.fixture
def server(tmp_path):
    app = create_app({'TESTING': True, 'API_KEYS': (API_KEY,)}, service=make_service(tmp_path, detector=FakeDetector(0.9), embedder='dlib'))  # the real packaged face model
    srv = make_server('127.0.0.1', 0, app, threaded=True)
    t = threading.Thread(target=srv.serve_forever, daemon=True); t.start()
    yield f'http://127.0.0.1:{srv.server_port}'
    srv.shutdown()


@pytest.fixture
def page():
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path='/usr/bin/chromium', headless=True, args=FLAGS)
        pg = browser.new_page(bypass_csp=True)  # Playwright's waits evaluate strings; the page's own CSP is checked in test_abuse
        yield pg
        browser.close()


def test_upload_detect_register_verify(server, page, tmp_path):
    page.goto(server + '/')
    page.set_input_files('#photo', str(HOPPER))
    page.wait_for_function("document.body.dataset.detected !== undefined", timeout=60_000)
    assert page.inner_text('#quality') == 'ok'
    assert page.inner_text('#gender') == 'female'
    # the box was drawn: the canvas has the photo's aspect and green pixels of the box
    w, h = page.eval_on_selector('#canvas', 'c => [c.width, c.height]')
    assert abs(w / h - 512 / 600) < 0.01
    green = page.eval_on_selector('#canvas', """c => { const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        let n = 0; for (let i = 0; i < d.length; i += 4) if (d[i+1] > 100 && d[i] < 60 && d[i+2] < 80) n++; return n; }""")
    assert green > 200
    page.screenshot(path=str(tmp_path / 'page.png'))

    page.fill('#reg-user', 'grace'); page.fill('#reg-key', API_KEY)
    page.set_input_files('#reg-photos', str(HOPPER)); page.click('#register')
    page.wait_for_function("document.getElementById('reg-result').textContent !== ''", timeout=60_000)
    assert page.inner_text('#reg-result') == 'enrolled'

    page.fill('#ver-user', 'grace'); page.set_input_files('#ver-photo', str(HOPPER)); page.click('#verify')
    page.wait_for_function("document.getElementById('ver-result').textContent !== ''", timeout=60_000)
    assert page.inner_text('#ver-result') == 'same person (model dlib:resnet_v1+flip)'
    page.wait_for_function("!document.getElementById('models').textContent.includes('loading')", timeout=60_000)
    assert 'identity: dlib:resnet_v1+flip' in page.inner_text('#models') and 'faces counted by mtcnn' in page.inner_text('#models')


def test_not_an_image_shows_the_error(server, page, tmp_path):
    bad = tmp_path / 'notes.jpg'; bad.write_text('hello')
    page.goto(server + '/')
    page.set_input_files('#photo', str(bad))
    page.wait_for_function("document.getElementById('quality').textContent.startsWith('bad_image')", timeout=60_000)
    assert 'not an image' in page.inner_text('#quality')


def test_a_cross_site_page_cannot_lock_a_member_out(tmp_path, page):
    "Another site's page fires no-cors POSTs of junk at her verify route: all refused unread (403), nothing counted, no 429 after."
    svc = make_service(tmp_path, embedder='dlib', gender_check=False)
    app = create_app({'TESTING': True, 'API_KEYS': (API_KEY,)}, service=svc)
    api = make_server('127.0.0.1', 0, app, threaded=True)
    threading.Thread(target=api.serve_forever, daemon=True).start()
    target = f'http://127.0.0.1:{api.server_port}/api/v1/users/ana/verify'
    evil = f"""<script>window.done = (async () => {{ for (let i = 0; i < 8; i++) {{
        const f = new FormData(); f.append('image', new Blob([new Uint8Array([1, 2, 3, 4])]), 'x.jpg');
        await fetch('{target}', {{method: 'POST', mode: 'no-cors', body: f}}); }} return 8; }})();</script>"""
    def site(environ, start):
        start('200 OK', [('Content-Type', 'text/html')]); return [evil.encode()]
    other = make_server('127.0.0.1', 0, site, threaded=True)  # another port: another origin
    threading.Thread(target=other.serve_forever, daemon=True).start()
    try:
        c = app.test_client()
        assert c.post('/api/v1/users', data={'user': 'ana', 'photos': [(open(HOPPER, 'rb'), 'g.jpg')]}, headers={'X-API-Key': API_KEY}).status_code == 201
        page.goto(f'http://127.0.0.1:{other.server_port}/')
        assert page.evaluate('window.done') == 8
        assert svc.store.attempts('ana') == []  # refused before anything was read or counted
        r = c.post('/api/v1/users/ana/verify', data={'image': (open(HOPPER, 'rb'), 'g.jpg')})
        assert r.status_code == 200 and r.get_json()['match'] is True
    finally: api.shutdown(); other.shutdown()

"""The moderator's page in headless Chromium (Debian's, driven by Playwright), used with the keyboard only.

A registration of a face already enrolled under another id waits as a case; the moderator signs in, opens the queue,
sees her audit frame beside the member's, and approves with the key `a`; she is then enrolled and verifies.
The screenshot goes to tmp_path, or with FEMVERIFY_SCREENSHOTS=1 to benchmarks/results/moderate.png (the README's).
"""
import io, os, threading
import pytest
from werkzeug.serving import make_server
from playwright.sync_api import sync_playwright
from api import create_app
from conftest import API_KEY, HOPPER, ROOT, FakeDetector, make_service
from test_page import FLAGS

MOD_KEY = 'moderator-key-0123456789'


@pytest.fixture
def server(tmp_path):
    svc = make_service(tmp_path, detector=FakeDetector(0.9), embedder='dlib', gender_head_path=tmp_path / 'no-head.json')
    app = create_app({'TESTING': True, 'API_KEYS': (API_KEY,), 'MODERATOR_KEYS': (MOD_KEY,)}, service=svc)
    c = app.test_client()
    for user in ('ana', 'bea'):
        data = {'consent': 'terms-v1', 'user': user, 'photos': [(io.BytesIO(HOPPER.read_bytes()), 'g.jpg')]}
        c.post('/api/v1/users', data=data, headers={'X-API-Key': API_KEY})
    srv = make_server('127.0.0.1', 0, app, threaded=True)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    yield f'http://127.0.0.1:{srv.server_port}', c
    srv.shutdown()


def test_a_moderator_approves_a_case_with_the_keyboard(server, tmp_path):
    url, c = server
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path='/usr/bin/chromium', headless=True, args=FLAGS)
        page = browser.new_page(bypass_csp=True, viewport={'width': 1200, 'height': 900})
        page.goto(url + '/moderate')
        page.focus('#mod-key')
        page.keyboard.type(MOD_KEY)
        page.keyboard.press('Tab')
        page.keyboard.type('mo.lu')
        page.keyboard.press('Enter')  # submits the form: the queue loads and its first case takes the focus
        page.wait_for_function("document.body.dataset.queue === '1'", timeout=30_000)
        assert 'possible_duplicate · bea' in page.inner_text('#queue')
        page.keyboard.press('Enter')
        page.wait_for_function("document.body.dataset.caseShown !== undefined", timeout=30_000)
        page.wait_for_function("[...document.querySelectorAll('#case img')].every(i => i.complete && i.naturalWidth > 0)")
        assert page.eval_on_selector_all('#frames img, #matched img', 'els => els.length') == 2  # her frame beside the member's
        assert 'user:ana' in page.inner_text('#matched-caption') and 'resembles' in page.inner_text('#scores')
        shots = ROOT / 'benchmarks' / 'results' if os.environ.get('FEMVERIFY_SCREENSHOTS') == '1' else tmp_path
        page.screenshot(path=str(shots / 'moderate.png'), full_page=True)
        page.keyboard.press('n')
        page.keyboard.type('sisters, checked on a video call')
        page.keyboard.press('Escape')  # out of the note, back to the case's keys
        page.keyboard.press('a')
        page.wait_for_function("document.body.dataset.decided === 'approve'", timeout=30_000)
        assert page.inner_text('#decision-result') == 'approved: bea is enrolled' and page.inner_text('#count') == '(0)'
        assert 'X-API-Key' not in page.content()
        browser.close()
    v = c.post('/api/v1/users/bea/verify', data={'image': (io.BytesIO(HOPPER.read_bytes()), 'a.jpg')}, headers={'X-API-Key': API_KEY})
    assert v.get_json()['match'] is True
    log = c.application.extensions['femverify'].store.decisions('bea')
    assert (log[-1]['outcome'], log[-1]['actor'], log[-1]['note']) == ('approve', 'moderator:mo.lu', 'sisters, checked on a video call')

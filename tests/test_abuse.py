"""Abuse and edge cases through the API (Flask's test client): each case is a defect an outside test found, now fixed.

Small and thin photos, formats outside the allow-list, ids with a trailing newline, deleting a non-member, a verify
racing a delete, file paths in answers, precise distances, missing security headers, a world-readable database.
"""
import io, os
import pytest
from PIL import Image
from api import create_app
from conftest import API_KEY, make_service

KEY = {'X-API-Key': API_KEY}


def blob(w, h, fmt='PNG'):
    b = io.BytesIO(); Image.new('RGB', (w, h), (120, 100, 90)).save(b, fmt); return b.getvalue()


def up(b, name='p.jpg'): return (io.BytesIO(b), name)


@pytest.mark.parametrize('w, h', [(19, 19), (1, 1), (640, 19), (2000, 60), (40000, 1)])
def test_small_and_thin_photos_get_an_answer(client, photos, w, h):
    r = client.post('/api/v1/detect', data={'image': up(blob(w, h))})
    assert r.status_code in (200, 400), r.get_json()
    assert r.get_json().get('quality') == 'no_face' or r.get_json()['error']['code'] == 'bad_image'
    r = client.post('/api/v1/users', data={'consent': 'terms-v1', 'user': 'ana', 'photos': [up(photos['one']), up(blob(w, h))]}, headers=KEY)
    reasons = [p['reason'] for p in r.get_json()['photos']]
    assert r.status_code < 500 and reasons[1] in ('unreadable', 'no_face'), r.get_json()


@pytest.mark.parametrize('fmt', ['TIFF', 'BMP', 'GIF', 'ICO', 'PCX', 'TGA'])
def test_formats_outside_the_allow_list_are_bad_images(client, fmt):
    r = client.post('/api/v1/detect', data={'image': up(blob(64, 64, fmt))})
    assert r.status_code == 400 and r.get_json()['error']['code'] == 'bad_image' and 'accepted format' in r.get_json()['error']['message']


def test_webp_is_accepted(client, photos):
    b = io.BytesIO(); Image.open(io.BytesIO(photos['one'])).save(b, 'WEBP')
    assert client.post('/api/v1/detect', data={'image': up(b.getvalue())}).get_json()['quality'] == 'ok'


def test_trailing_newline_and_case_in_ids(client, photos):
    r = client.post('/api/v1/users', data={'consent': 'terms-v1', 'user': 'ana1\n', 'photos': [up(photos['one'])]}, headers=KEY)
    assert r.status_code == 400 and r.get_json()['error']['code'] == 'bad_request'
    assert client.post('/api/v1/users', data={'consent': 'terms-v1', 'user': 'Ana1', 'photos': [up(photos['one'])]}, headers=KEY).get_json()['user'] == 'ana1'
    r = client.post('/api/v1/users', data={'consent': 'terms-v1', 'user': 'ANA1', 'photos': [up(photos['one'])]}, headers=KEY)
    assert r.status_code == 409  # the same member, whatever the case


def test_delete_of_a_non_member_is_404_even_with_failed_attempts(client, photos):
    client.post('/api/v1/users/ghost/verify', data={'image': up(photos['one'])})  # a failed attempt on an unknown id
    r = client.delete('/api/v1/users/ghost', headers=KEY)
    assert r.status_code == 404 and r.get_json()['error']['code'] == 'unknown_user'


def test_verify_racing_a_delete_is_404_and_leaves_no_row(tmp_path, photos):
    svc = make_service(tmp_path, gender_check=False)
    c = create_app({'TESTING': True, 'API_KEYS': (API_KEY,)}, service=svc).test_client()
    assert c.post('/api/v1/users', data={'consent': 'terms-v1', 'user': 'ana', 'photos': [up(photos['one'])]}, headers=KEY).status_code == 201
    analyse = svc.embedder.analyse
    def analyse_then_delete(*a, **k):  # the member is erased while her photo is being embedded
        out = analyse(*a, **k); svc.store.delete('ana'); return out
    svc.embedder.analyse = analyse_then_delete
    r = c.post('/api/v1/users/ana/verify', data={'image': up(photos['one'])}, headers=KEY)  # the app's backend: told the truth
    assert r.status_code == 404 and r.get_json()['error']['code'] == 'unknown_user'
    assert svc.store.attempts('ana') == []
    r = c.post('/api/v1/users/ana/verify', data={'image': up(photos['one'])})  # anyone else: a stranger's id looks like a mismatch
    assert r.status_code == 200 and r.get_json() == dict(match=False, reason='different_person', user='ana', model=svc.embedder.model, frames_used=1)
    assert svc.store.attempts('ana') == []


def test_no_paths_in_answers_and_distances_only_with_a_key(tmp_path, photos):
    svc = make_service(tmp_path, embedder='facenet', facenet='vggface2', gender_check=False)  # no such weights: reasons name folders
    c = create_app({'TESTING': True, 'API_KEYS': (API_KEY,)}, service=svc).test_client()
    assert str(tmp_path) in svc.health()['models']['embedder']['reason']  # the service knows the path (for the log) ...
    for r in (c.get('/api/v1/health'), c.post('/api/v1/users/ana/verify', data={'image': up(photos['one'])})):
        assert str(tmp_path) not in r.get_data(as_text=True) and '/root/' not in r.get_data(as_text=True)  # ... clients don't
    svc2 = make_service(tmp_path / 'b', gender_check=False); (tmp_path / 'b').mkdir(exist_ok=True)
    c2 = create_app({'TESTING': True, 'API_KEYS': (API_KEY,)}, service=svc2).test_client()
    c2.post('/api/v1/users', data={'consent': 'terms-v1', 'user': 'ana', 'photos': [up(photos['one'])]}, headers=KEY)
    assert 'distance' not in c2.post('/api/v1/users/ana/verify', data={'image': up(photos['mirrored'])}).get_json()  # no score without a key
    d = c2.post('/api/v1/users/ana/verify', data={'image': up(photos['mirrored'])}, headers=KEY).get_json()['distance']
    assert d == round(d, 4)


def test_security_headers_and_private_database(client, service):
    r = client.get('/')
    assert "frame-ancestors 'none'" in r.headers['Content-Security-Policy'] and r.headers['X-Frame-Options'] == 'DENY'
    assert r.headers['X-Content-Type-Options'] == 'nosniff'
    assert oct(os.stat(service.store.path).st_mode & 0o777) == '0o600'


def verify_as(c, user, photo, addr):
    return c.post(f'/api/v1/users/{user}/verify', data={'image': up(photo)}, environ_base={'REMOTE_ADDR': addr})


def test_strangers_cannot_lock_a_member_out_but_brute_force_is_throttled(tmp_path, photos, other_woman):
    svc = make_service(tmp_path, gender_check=False, embedder='dlib')
    c = create_app({'TESTING': True, 'API_KEYS': (API_KEY,)}, service=svc).test_client()
    assert c.post('/api/v1/users', data={'consent': 'terms-v1', 'user': 'ana', 'photos': [up(photos['one'])]}, headers=KEY).status_code == 201
    assert verify_as(c, 'ana', photos['one'], '10.0.0.7').get_json()['match']  # her phone, once
    for i in range(30):  # another woman's face from many addresses (junk is not even counted: see test_women_gate)
        verify_as(c, 'ana', other_woman, f'203.0.113.{i % 7}')
    assert verify_as(c, 'ana', photos['one'], '10.0.0.7').get_json()['match']  # she still gets in
    r = verify_as(c, 'ana', photos['one'], '198.51.100.1')  # a new address is refused while the attack lasts
    assert r.status_code == 429 and 'user limit' in r.get_json()['error']['message']
    for _ in range(5): verify_as(c, 'ana', other_woman, '198.51.100.2')  # brute force from one address ...
    assert verify_as(c, 'ana', photos['one'], '198.51.100.2').status_code == 429  # ... is throttled


def test_parallel_failures_do_not_overshoot_the_limit(tmp_path, photos, other_woman):
    from concurrent.futures import ThreadPoolExecutor
    svc = make_service(tmp_path, gender_check=False, embedder='dlib', max_inflight=4)
    app = create_app({'TESTING': True, 'API_KEYS': (API_KEY,)}, service=svc)
    assert app.test_client().post('/api/v1/users', data={'consent': 'terms-v1', 'user': 'ana', 'photos': [up(photos['one'])]}, headers=KEY).status_code == 201
    with ThreadPoolExecutor(6) as ex:
        codes = list(ex.map(lambda _: verify_as(app.test_client(), 'ana', other_woman, '192.0.2.9').status_code, range(12)))
    assert codes.count(200) == 5 and codes.count(429) == 7, codes
    assert len([a for a in svc.store.attempts('ana') if a['client'] == '192.0.2.9']) == 5


def test_behind_a_trusted_proxy_each_client_has_its_own_limit(tmp_path, photos, other_woman):
    svc = make_service(tmp_path, gender_check=False, embedder='dlib')
    c = create_app({'TESTING': True, 'API_KEYS': (API_KEY,), 'TRUSTED_PROXIES': 1}, service=svc).test_client()
    assert c.post('/api/v1/users', data={'consent': 'terms-v1', 'user': 'ana', 'photos': [up(photos['one'])]}, headers=KEY).status_code == 201
    def via_proxy(addr, photo=other_woman):
        return c.post('/api/v1/users/ana/verify', data={'image': up(photo)}, headers={'X-Forwarded-For': addr}, environ_base={'REMOTE_ADDR': '127.0.0.1'})
    for _ in range(5): via_proxy('198.51.100.3')
    assert via_proxy('198.51.100.3', photos['one']).status_code == 429 and via_proxy('198.51.100.4', photos['one']).get_json()['match']


def test_detect_has_a_per_client_budget(tmp_path, photos):
    svc = make_service(tmp_path, request_budget=3)
    c = create_app({'TESTING': True}, service=svc).test_client()
    codes = [c.post('/api/v1/detect', data={'image': up(photos['blank'])}, environ_base={'REMOTE_ADDR': '192.0.2.1'}).status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    assert c.post('/api/v1/detect', data={'image': up(photos['blank'])}, environ_base={'REMOTE_ADDR': '192.0.2.2'}).status_code == 200


def test_a_full_worker_answers_503_with_retry_after(tmp_path, photos):
    svc = make_service(tmp_path, max_inflight=1, queue_timeout=0.2)
    c = create_app({'TESTING': True}, service=svc).test_client()
    with svc._slot():  # a heavy photo holds the only model slot
        r = c.post('/api/v1/detect', data={'image': up(photos['one'])})
        assert r.status_code == 503 and r.get_json()['error']['code'] == 'busy' and int(r.headers['Retry-After']) > 0
        assert c.get('/api/v1/health').status_code == 200  # health needs no model slot
        assert c.post('/api/v1/users/ana/verify', data={'image': up(photos['one'])}).status_code == 503
    assert svc.store.attempts('ana') == []  # a busy answer is not a failed guess: nothing counts towards a limit
    assert c.post('/api/v1/detect', data={'image': up(photos['one'])}).status_code == 200


def test_after_failed_verifies_a_member_and_a_stranger_answer_alike(tmp_path, photos, other_woman):
    "Five wrong faces from one address: the sixth is refused 429 whether the id is a member's or nobody's (no enumeration)."
    svc = make_service(tmp_path, embedder='dlib', gender_check=False)
    c = create_app({'TESTING': True, 'API_KEYS': (API_KEY,)}, service=svc).test_client()
    assert c.post('/api/v1/users', data={'consent': 'terms-v1', 'user': 'ana', 'photos': [up(photos['one'])]}, headers=KEY).status_code == 201
    answers = {}
    for user, address in (('ana', '10.0.0.1'), ('nobody', '10.0.0.2')):
        rs = [c.post(f'/api/v1/users/{user}/verify', data={'image': up(other_woman)}, environ_base={'REMOTE_ADDR': address}) for _ in range(6)]
        answers[user] = [(r.status_code, (r.get_json().get('error') or {}).get('code') or r.get_json()['reason']) for r in rs]
    assert answers['ana'] == answers['nobody'] == [(200, 'different_person')] * 5 + [(429, 'rate_limited')], answers

"""Every route and error path of /api/v1 through Flask's test client, with the real service (random FaceNet weights)."""
import io
import pytest
from api import create_app
from conftest import API_KEY, FakeDetector, assert_no_biometrics, make_service

KEY = {'X-API-Key': API_KEY}


def up(b, name='photo.jpg'): return (io.BytesIO(b), name)


def register(client, user, *photos, headers=KEY):
    return client.post('/api/v1/users', data={'consent': 'terms-v1', 'user': user, 'photos': [up(p) for p in photos]}, headers=headers)


def check_error(r, status, code):
    body = r.get_json()
    assert r.status_code == status, (r.status_code, body)
    assert set(body) == {'error'} and body['error']['code'] == code and body['error']['message'], body
    return body


# --- detect
def test_detect_one_face(client, photos):
    r = client.post('/api/v1/detect', data={'image': up(photos['one'])})
    b = r.get_json()
    assert r.status_code == 200 and b['quality'] == 'ok' and b['faces'] == 1 and len(b['box']) == 4
    assert b['gender']['answer'] is None and 'detector' in b['gender']['reason']
    assert_no_biometrics(b)


@pytest.mark.parametrize('name, quality, n', [('blank', 'no_face', 0), ('two', 'multiple_faces', 2)])
def test_detect_zero_and_two_faces(client, photos, name, quality, n):
    b = client.post('/api/v1/detect', data={'image': up(photos[name])}).get_json()
    assert (b['quality'], b['faces']) == (quality, n)


def test_detect_no_file(client):
    check_error(client.post('/api/v1/detect', data={}), 400, 'bad_request')
    check_error(client.post('/api/v1/detect', data={'photo': up(b'x')}), 400, 'bad_request')


@pytest.mark.parametrize('payload, match', [(b'just some text', 'not an image'), (b'', 'empty'), (b'\xff\xd8\xff\xe0' + b'\x00' * 50, 'not an image')])
def test_detect_not_an_image(client, payload, match):
    assert match in check_error(client.post('/api/v1/detect', data={'image': up(payload)}), 400, 'bad_image')['error']['message']


def test_detect_truncated(client, photos):
    check_error(client.post('/api/v1/detect', data={'image': up(photos['one'][:15000])}), 400, 'bad_image')


def test_oversized_body(client):
    check_error(client.post('/api/v1/detect', data={'image': up(b'0' * (3 * 2**20))}), 413, 'request_entity_too_large')


# --- register
def test_register_enrols_and_refuses_duplicates(client, photos):
    r = register(client, 'ana', photos['one'], photos['mirrored'])
    assert r.status_code == 201 and r.get_json()['status'] == 'enrolled' and r.get_json()['enrolled_photos'] == 2
    assert_no_biometrics(r.get_json())
    check_error(register(client, 'ana', photos['one']), 409, 'user_exists')


@pytest.mark.parametrize('headers, status, code', [({}, 401, 'unauthorized'), ({'X-API-Key': 'wrong'}, 401, 'unauthorized'),
                                                   ({'X-API-Key': API_KEY[:-1]}, 401, 'unauthorized')])
def test_register_needs_the_key(client, photos, headers, status, code):
    check_error(register(client, 'ana', photos['one'], headers=headers), status, code)


def test_register_refused_when_no_keys_configured(service, photos):
    c = create_app({'TESTING': True, 'API_KEYS': ()}, service=service).test_client()
    check_error(register(c, 'ana', photos['one']), 403, 'forbidden')


@pytest.mark.parametrize('user', ['', 'a b', '../x', 'x' * 65, '-x'])
def test_register_bad_user_id(client, photos, user):
    check_error(register(client, user, photos['one']), 400, 'bad_request')


def test_register_photo_count(client, photos):
    check_error(client.post('/api/v1/users', data={'consent': 'terms-v1', 'user': 'ana'}, headers=KEY), 400, 'bad_request')
    check_error(register(client, 'ana', *[photos['one']] * 6), 400, 'bad_request')


@pytest.mark.parametrize('name, reason', [('blank', 'no_face'), ('two', 'multiple_faces')])
def test_register_refuses_zero_and_two_faces(client, photos, name, reason):
    b = check_error(register(client, 'ana', photos[name]), 422, 'no_usable_photo')
    assert [p['reason'] for p in b['error']['photos']] == [reason]


def test_register_bad_photo_among_good(client, photos):
    r = register(client, 'ana', photos['one'], b'not a photo')
    assert r.status_code == 201
    assert [p['reason'] for p in r.get_json()['photos']] == ['ok', 'unreadable']


@pytest.mark.parametrize('p_female, status, outcome', [(0.9, 201, 'enrolled'), (0.5, 202, 'review'), (0.1, 422, 'not_female')])
def test_register_gender_outcomes(tmp_path, photos, p_female, status, outcome):
    svc = make_service(tmp_path, detector=FakeDetector(p_female))
    c = create_app({'TESTING': True, 'API_KEYS': (API_KEY,)}, service=svc).test_client()
    r = register(c, 'ana', photos['one'], photos['mirrored'])
    assert r.status_code == status
    b = r.get_json()
    assert (b['status'] if status < 300 else b['error']['code']) == outcome
    rows = b['photos'] if status < 300 else b['error']['photos']
    assert [p['gender']['answer'] for p in rows] == [{'enrolled': 'female', 'review': 'review', 'not_female': 'not_female'}[outcome]] * 2
    assert (svc.store.users() == ['ana']) == (outcome == 'enrolled')
    g = c.post('/api/v1/detect', data={'image': up(photos['one'])}).get_json()['gender']
    assert g['answer'] == {'enrolled': 'female', 'review': 'review', 'not_female': 'not_female'}[outcome]


# --- verify
def test_verify_match_and_audit(client, service, photos):
    register(client, 'ana', photos['one'])
    r = client.post('/api/v1/users/ana/verify', data={'image': up(photos['one'])}, headers=KEY)  # the app's backend sees the scores
    b = r.get_json()
    assert r.status_code == 200 and b['match'] is True and b['distance'] < 1e-3 and b['threshold'] == service.threshold
    assert_no_biometrics(b)
    assert [a['decision'] for a in service.store.attempts('ana')] == ['match']


def test_verify_unknown_user(client, photos):
    check_error(client.post('/api/v1/users/nobody/verify', data={'image': up(photos['one'])}, headers=KEY), 404, 'unknown_user')
    b = client.post('/api/v1/users/nobody/verify', data={'image': up(photos['one'])}).get_json()  # without a key: a mismatch
    assert b == {'user': 'nobody', 'match': False, 'reason': 'different_person', 'frames_used': 1, 'model': b['model']}


def test_verify_bad_user_id_and_no_file(client, photos):
    check_error(client.post('/api/v1/users/a%20b/verify', data={'image': up(photos['one'])}), 400, 'bad_request')
    register(client, 'ana', photos['one'])
    check_error(client.post('/api/v1/users/ana/verify', data={}), 400, 'bad_request')


def test_verify_no_face_is_a_refusal_not_an_error(client, photos):
    register(client, 'ana', photos['one'])
    b = client.post('/api/v1/users/ana/verify', data={'image': up(photos['blank'])}, headers=KEY).get_json()
    assert (b['match'], b['reason'], b['distance'], b['frames_used']) == (False, 'no_face', None, 0)


@pytest.fixture
def dlib_client(tmp_path):
    "A client on the real packaged face model (dlib), so that another woman's face is a real failed guess."
    return create_app({'TESTING': True, 'API_KEYS': (API_KEY,)}, service=make_service(tmp_path, embedder='dlib')).test_client()


def test_rate_limit_hit(dlib_client, photos, other_woman):
    c = dlib_client; register(c, 'ana', photos['one'])
    for _ in range(6):  # an unusable photo is not a guess: never counted
        assert c.post('/api/v1/users/ana/verify', data={'image': up(photos['two'])}).get_json()['reason'] == 'multiple_faces'
    for _ in range(5):
        assert c.post('/api/v1/users/ana/verify', data={'image': up(other_woman)}).get_json()['reason'] == 'different_person'
    r = c.post('/api/v1/users/ana/verify', data={'image': up(photos['one'])})
    check_error(r, 429, 'rate_limited')
    assert int(r.headers['Retry-After']) > 0


def test_rate_limit_per_client_spans_users(dlib_client, photos, other_woman):
    assert register(dlib_client, 'ana', photos['one']).status_code == register(dlib_client, 'bea', other_woman).status_code == 201
    wrong = {'ana': other_woman, 'bea': photos['one']}  # each member's photo is the other's wrong guess
    for u in ('ana', 'bea', 'ana', 'bea', 'ana'): dlib_client.post(f'/api/v1/users/{u}/verify', data={'image': up(wrong[u])})
    check_error(dlib_client.post('/api/v1/users/ana/verify', data={'image': up(photos['one'])}), 429, 'rate_limited')


# --- delete
def test_delete(client, service, photos):
    register(client, 'ana', photos['one'])
    check_error(client.delete('/api/v1/users/ana'), 401, 'unauthorized')
    r = client.delete('/api/v1/users/ana', headers=KEY)
    assert r.status_code == 200 and r.get_json() == {'user': 'ana', 'deleted': True}
    assert service.store.users() == []
    check_error(client.delete('/api/v1/users/ana', headers=KEY), 404, 'unknown_user')
    check_error(client.post('/api/v1/users/ana/verify', data={'image': up(photos['one'])}, headers=KEY), 404, 'unknown_user')


# --- missing models
def test_missing_models_503_but_detection_works(tmp_path, photos):
    svc = make_service(tmp_path, embedder='facenet', facenet='vggface2')  # FaceNet asked for by name, no such weights here
    c = create_app({'TESTING': True, 'API_KEYS': (API_KEY,)}, service=svc).test_client()
    h = c.get('/api/v1/health', headers=KEY).get_json()
    assert h['status'] == 'degraded' and not h['models']['embedder']['loaded'] and 'vggface2' in h['models']['embedder']['reason']
    assert 'FEMVERIFY_ALLOW_DOWNLOAD' in check_error(register(c, 'ana', photos['one']), 503, 'model_unavailable')['error']['message']
    check_error(c.post('/api/v1/users/ana/verify', data={'image': up(photos['one'])}), 503, 'model_unavailable')
    assert c.post('/api/v1/detect', data={'image': up(photos['one'])}).get_json()['quality'] == 'ok'


# --- the document
def test_openapi_matches_routes(app, client):
    spec = client.get('/api/v1/openapi.json').get_json()
    assert spec['openapi'].startswith('3.')
    routes = {(r.rule.replace('<', '{').replace('>', '}'), m.lower()) for r in app.url_map.iter_rules()
              if r.rule.startswith('/api/v1') for m in r.methods - {'HEAD', 'OPTIONS'}}
    documented = {(p, m) for p, ops in spec['paths'].items() for m in ops}
    assert routes == documented
    for p, ops in spec['paths'].items():
        for m, op in ops.items():
            if 'security' in op: assert '401' in op['responses']

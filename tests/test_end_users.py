"""Limits per end user (#31): a backend's key names its end user in X-End-User, and limits apply to her, never to the app.

Through one key, six end users each fail five verifications of member A within a minute; member B, and member A from
her own end-user id, still verify, and the backend is never refused for other end users' failures. Without
X-End-User a keyed backend is one client with an app's limits (`app_rate_limit`, `app_request_budget`); an unkeyed
caller can't choose its end user. It lives here because it is the API's behaviour across many requests.
"""
import io
from api import create_app
from conftest import API_KEY, make_service

KEY = {'X-API-Key': API_KEY}


def verify(c, user, photo, end_user=None, headers=KEY):
    h = dict(headers, **({'X-End-User': end_user} if end_user else {}))
    return c.post(f'/api/v1/users/{user}/verify', data={'image': (io.BytesIO(photo), 'a.jpg')}, headers=h)


def register(c, user, photo):
    return c.post('/api/v1/users', data={'consent': 'terms-v1', 'user': user, 'photos': [(io.BytesIO(photo), 'p.jpg')]},
                  headers=dict(KEY, **{'X-End-User': f'signup-{user}'}))


def test_other_end_users_failures_never_lock_a_member_or_the_app_out(tmp_path, photos, other_woman):
    svc = make_service(tmp_path, embedder='dlib', gender_check=False)  # the packaged face model tells the two apart
    c = create_app({'TESTING': True, 'API_KEYS': (API_KEY,)}, service=svc).test_client()
    assert register(c, 'ana', photos['one']).status_code == register(c, 'bea', other_woman).status_code == 201
    for k in range(6):  # six end users of one app each fail five verifications of ana: another woman's face
        for _ in range(5):
            r = verify(c, 'ana', other_woman, f'session-{k}')
            assert (r.status_code, r.get_json()['reason']) == (200, 'different_person'), r.get_json()
    assert verify(c, 'ana', other_woman, 'session-0').status_code == 429  # that end user, and only she, waits a minute
    for user, photo, end_user in (('bea', other_woman, 'session-bea'), ('ana', photos['one'], 'session-ana')):
        r = verify(c, user, photo, end_user)
        assert (r.status_code, r.get_json()['match']) == (200, True), r.get_json()
    r = verify(c, 'ana', photos['one'])  # the backend itself, naming nobody: an app's limits, not one person's
    assert (r.status_code, r.get_json()['match']) == (200, True)


def test_a_backend_without_x_end_user_has_an_apps_limits(tmp_path, photos, other_woman):
    svc = make_service(tmp_path, embedder='dlib', gender_check=False, app_rate_limit=8)
    c = create_app({'TESTING': True, 'API_KEYS': (API_KEY,)}, service=svc).test_client()
    assert register(c, 'ana', photos['one']).status_code == 201
    codes = [verify(c, 'ana', other_woman).status_code for _ in range(9)]
    assert codes == [200] * 8 + [429]  # app_rate_limit (8 here; 300 by default), stated in the README
    assert verify(c, 'ana', other_woman, 'a-new-session').status_code == 200  # her own end user is another client


def test_an_unkeyed_caller_cannot_pick_its_end_user_and_a_bad_one_is_refused(tmp_path, photos, other_woman):
    svc = make_service(tmp_path, embedder='dlib', gender_check=False)
    c = create_app({'TESTING': True, 'API_KEYS': (API_KEY,)}, service=svc).test_client()
    assert register(c, 'ana', photos['one']).status_code == 201
    for k in range(5): verify(c, 'ana', other_woman, f'fake-{k}', headers={})  # ignored without a key: one address
    assert verify(c, 'ana', other_woman, 'fake-9', headers={}).status_code == 429
    r = verify(c, 'ana', photos['one'], 'has space')
    assert (r.status_code, r.get_json()['error']['code']) == (400, 'bad_request')


def test_a_challenge_is_bound_to_the_end_user_it_was_fetched_for(tmp_path):
    svc = make_service(tmp_path, embedder='dlib', gender_check=False, liveness='register')
    c = create_app({'TESTING': True, 'API_KEYS': (API_KEY,)}, service=svc).test_client()
    anna, bob = (dict(KEY, **{'X-End-User': u}) for u in ('anna', 'bob'))
    ch = c.post('/api/v1/challenges', headers=anna).get_json()
    frames = [(io.BytesIO(b'not yet read'), f'f{i}.jpg') for i in range(24)]
    r = c.post('/api/v1/users', data={'consent': 'terms-v1', 'user': 'x', 'challenge': ch['id'], 'frames': frames}, headers=bob)
    assert (r.status_code, r.get_json()['error']['code']) == (400, 'challenge_foreign')  # another end user's challenge

"""Property-based: random bodies, files, ids and headers never make the API answer 5xx or a non-JSON error."""
import io
from hypothesis import HealthCheck, given, settings, strategies as st
from conftest import API_KEY, assert_no_biometrics

ids = st.text(st.characters(codec='utf-8', exclude_characters='/?#%\x00'), max_size=70)
blobs = st.one_of(st.binary(max_size=3000), st.sampled_from([b'', b'GIF89a', b'\x89PNG\r\n\x1a\n' + b'\x00' * 40, b'\xff\xd8\xff' + b'\x01' * 100]))
SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def ok(r):
    assert r.status_code < 500, (r.status_code, r.data[:300])
    body = r.get_json()
    assert body is not None, r.data[:200]
    if r.status_code >= 400: assert set(body['error']) >= {'code', 'message'}
    assert_no_biometrics(body)


@SETTINGS
@given(blob=blobs, field=st.sampled_from(['image', 'photo', 'photos']))
def test_detect_fuzz(client, blob, field):
    ok(client.post('/api/v1/detect', data={field: (io.BytesIO(blob), 'x.jpg')}))


@SETTINGS
@given(user=ids, blobs=st.lists(blobs, max_size=7), key=st.sampled_from([API_KEY, '', 'nope']), replace=st.sampled_from(['true', 'x']))
def test_register_fuzz(client, user, blobs, key, replace):
    ok(client.post('/api/v1/users', data={'user': user, 'replace': replace, 'photos': [(io.BytesIO(b), 'p.jpg') for b in blobs]}, headers={'X-API-Key': key}))


@SETTINGS
@given(user=ids.filter(lambda s: s.strip('.') != ''), blob=blobs, method=st.sampled_from(['post', 'delete', 'get', 'put']))
def test_user_routes_fuzz(client, user, blob, method):
    from urllib.parse import quote
    url = f'/api/v1/users/{quote(user, safe="")}' + ('/verify' if method == 'post' else '')
    kw = dict(data={'image': (io.BytesIO(blob), 'p.jpg')}) if method == 'post' else {}
    ok(getattr(client, method)(url, headers={'X-API-Key': API_KEY}, **kw))

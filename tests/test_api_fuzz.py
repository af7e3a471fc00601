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
    ok(client.post('/api/v1/users', data={'consent': 'terms-v1', 'user': user, 'replace': replace, 'photos': [(io.BytesIO(b), 'p.jpg') for b in blobs]}, headers={'X-API-Key': key}))


@SETTINGS
@given(user=ids.filter(lambda s: s.strip('.') != ''), blob=blobs, method=st.sampled_from(['post', 'delete', 'get', 'put']))
def test_user_routes_fuzz(client, user, blob, method):
    from urllib.parse import quote
    url = f'/api/v1/users/{quote(user, safe="")}' + ('/verify' if method == 'post' else '')
    kw = dict(data={'image': (io.BytesIO(blob), 'p.jpg')}) if method == 'post' else {}
    ok(getattr(client, method)(url, headers={'X-API-Key': API_KEY}, **kw))


def image_bytes(w, h, fmt, seed):
    "A real image file of w×h pixels: noise with a bright blob, in JPEG/PNG/WebP."
    import numpy as np
    from PIL import Image
    a = np.random.default_rng(seed).integers(0, 255, (h, w, 3), dtype=np.uint8)
    b = io.BytesIO(); Image.fromarray(a).save(b, fmt); return b.getvalue()


sizes = st.one_of(st.tuples(st.integers(1, 64), st.integers(1, 64)),  # tiny photos, 1x1 to 64x64
                  st.tuples(st.integers(1, 30), st.integers(200, 4000)), st.tuples(st.integers(200, 4000), st.integers(1, 30)))  # thin strips


@SETTINGS
@given(size=sizes, fmt=st.sampled_from(['JPEG', 'PNG', 'WEBP']), seed=st.integers(0, 9), route=st.sampled_from(['detect', 'register', 'verify']))
def test_small_and_thin_images_fuzz(client, photos, size, fmt, seed, route):
    blob = image_bytes(*size, fmt, seed)
    if route == 'detect': r = client.post('/api/v1/detect', data={'image': (io.BytesIO(blob), 'p.jpg')})
    elif route == 'register':  # one bad photo among good ones is a per-photo reason, never a 500
        r = client.post('/api/v1/users', data={'consent': 'terms-v1', 'user': f'u{seed}', 'replace': 'true', 'photos': [(io.BytesIO(photos['one']), 'a.jpg'), (io.BytesIO(blob), 'b.jpg')]}, headers={'X-API-Key': API_KEY})
    else: r = client.post('/api/v1/users/nobody/verify', data={'image': (io.BytesIO(blob), 'p.jpg')})
    ok(r)

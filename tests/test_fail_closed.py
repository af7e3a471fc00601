"""A threshold file that is asked for but missing, unreadable or made for another model must never let a stranger in:
verification and registration answer 503 `uncalibrated` and /health says why (through the API, with dlib's real model)."""
import io, json
import pytest
from api import create_app
from femverify.core import Config
from femverify.service import FaceService
from conftest import API_KEY, HOPPER, TEMPLATE_KEY


@pytest.mark.parametrize('bad', ['missing', 'unreadable', 'other_model'])
def test_an_unusable_threshold_file_fails_closed(tmp_path, bad, no_network):
    p = tmp_path / 'threshold.json'
    if bad == 'unreadable': p.write_text('{not json')
    if bad == 'other_model': p.write_text(json.dumps(dict(threshold=0.9, model='facenet:vggface2')))
    svc = FaceService(Config(template_key=TEMPLATE_KEY, liveness='off', db_path=tmp_path / 'f.db', embedder='dlib', threshold_path=p, gender_check=False))
    assert svc.threshold is None and svc.health()['verify_threshold']['problem']
    c = create_app({'TESTING': True, 'API_KEYS': (API_KEY,)}, service=svc).test_client()
    r = c.post('/api/v1/users/ann/verify', data={'image': (io.BytesIO(HOPPER.read_bytes()), 'a.jpg')})
    assert r.status_code == 503 and 'uncalibrated' in r.get_json()['error']['message']
    r = c.post('/api/v1/users', data={'consent': 'terms-v1', 'user': 'ann', 'photos': (io.BytesIO(HOPPER.read_bytes()), 'a.jpg')}, headers={'X-API-Key': API_KEY})
    assert r.status_code == 503 and svc.store.users() == []

"""The Flask app through its test client: health, the OpenAPI route, JSON errors."""
from conftest import API_KEY, TEMPLATE_KEY
import pytest
from api import create_app
from femverify.core import Config
from femverify.service import FaceService


@pytest.fixture(scope='module')
def client(tmp_path_factory):
    w = tmp_path_factory.mktemp('w')
    svc = FaceService(Config(template_key=TEMPLATE_KEY, weights_dir=w, detector_path=w / 'no-detector.pt', db_path=tmp_path_factory.mktemp('db') / 'f.db'))
    return create_app({'TESTING': True, 'API_KEYS': (API_KEY,)}, service=svc).test_client()


def test_health_reports_each_model(client):
    r = client.get('/api/v1/health', headers={'X-API-Key': API_KEY})  # the details: only with a key
    assert r.status_code == 200
    body = r.get_json()
    assert body['version'] == __import__('femverify').__version__
    assert body['models']['face_finder']['loaded'] is True
    e = body['models']['embedder']  # no FaceNet weights here: auto falls back to dlib's packaged model, and says why
    assert e['loaded'] is True and e['name'] == 'dlib' and 'FaceNet is not used' in e['reason']
    assert body['models']['detector']['loaded'] is False and body['models']['detector']['reason']  # pointed at a missing file in this test
    assert body['status'] == 'degraded'


def test_unknown_route_is_json_404(client):
    r = client.get('/api/v1/nothing-here')
    assert r.status_code == 404 and r.get_json()['error']['code'] == 'not_found'


def test_wrong_method_is_json_405(client):
    r = client.delete('/api/v1/health')
    assert r.status_code == 405 and set(r.get_json()['error']) == {'code', 'message'}

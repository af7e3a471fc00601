"""The Flask app through its test client: health, the OpenAPI route, JSON errors."""
import pytest
from api import create_app
from femverify.core import Config
from femverify.service import FaceService


@pytest.fixture(scope='module')
def client(tmp_path_factory):
    svc = FaceService(Config(weights_dir=tmp_path_factory.mktemp('w'), detector_path=None))
    return create_app({'TESTING': True}, service=svc).test_client()


def test_health_reports_each_model(client):
    r = client.get('/api/v1/health')
    assert r.status_code == 200
    body = r.get_json()
    assert body['version'] == __import__('femverify').__version__
    assert body['models']['face_finder']['loaded'] is True
    for name in ('embedder', 'detector'):  # nothing to load them from in this test
        assert body['models'][name]['loaded'] is False and body['models'][name]['reason']
    assert body['status'] == 'degraded'


def test_unknown_route_is_json_404(client):
    r = client.get('/api/v1/nothing-here')
    assert r.status_code == 404 and r.get_json()['error']['code'] == 'not_found'


def test_wrong_method_is_json_405(client):
    r = client.delete('/api/v1/health')
    assert r.status_code == 405 and set(r.get_json()['error']) == {'code', 'message'}

"""Verification with a real face-recognition network, offline: dlib's packaged model on photos that installed packages ship.

Lives in tests/ because it goes through the Flask API and the store together, with the network blocked:
the same person matches, another person doesn't, a template of another model is refused, and `auto` picks
FaceNet only when its weights file is there.
"""
import io
import pytest
import torch
from PIL import Image
from skimage.data import astronaut
from api import create_app
from conftest import API_KEY, HOPPER, jpeg, make_service

KEY = {'X-API-Key': API_KEY}


@pytest.fixture(scope='module')
def faces():
    "Grace Hopper, a rescaled and shifted copy of her on a larger canvas, and Eileen Collins (scikit-image's astronaut)."
    h = Image.open(HOPPER).convert('RGB')
    moved = Image.new('RGB', (900, 700), (70, 90, 110)); moved.paste(h.resize((int(h.width * .8), int(h.height * .8))), (310, 90))
    return dict(hopper=jpeg(h), moved=jpeg(moved), collins=jpeg(Image.fromarray(astronaut())))


def client_for(tmp_path, **cfg):
    svc = make_service(tmp_path, **{'embedder': 'dlib', 'gender_check': False, **cfg})
    return create_app({'TESTING': True, 'API_KEYS': (API_KEY,)}, service=svc).test_client(), svc


def register(c, user, photo):
    return c.post('/api/v1/users', data={'consent': 'terms-v1', 'user': user, 'photos': [(io.BytesIO(photo), 'p.jpg')]}, headers=KEY)


def verify(c, user, photo):
    return c.post(f'/api/v1/users/{user}/verify', data={'image': (io.BytesIO(photo), 'p.jpg')}, headers=KEY)


def test_health_names_dlib_and_why_not_facenet(tmp_path, no_network):
    c, svc = client_for(tmp_path, embedder='auto', facenet='vggface2')
    e = c.get('/api/v1/health', headers=KEY).get_json()['models']['embedder']
    assert e['loaded'] and e['name'] == 'dlib' and e['dim'] == 128 and 'FaceNet is not used' in e['reason']
    assert svc.threshold_source.startswith('calibrated among women')  # the shipped threshold: benchmarks/calibrate_women.py


def test_same_person_matches_other_person_does_not(tmp_path, faces, no_network):
    c, svc = client_for(tmp_path)
    assert register(c, 'grace', faces['hopper']).get_json()['status'] == 'enrolled'
    same = verify(c, 'grace', faces['moved']).get_json()
    other = verify(c, 'grace', faces['collins']).get_json()
    assert same['match'] is True and same['reason'] == 'ok', same
    assert other['match'] is False and other['reason'] == 'different_person', other
    assert same['distance'] < svc.threshold < other['distance']


def test_template_of_another_model_is_refused(tmp_path, faces, no_network):
    c, _ = client_for(tmp_path)
    assert register(c, 'grace', faces['hopper']).get_json()['status'] == 'enrolled'
    c2, _ = client_for(tmp_path, embedder='facenet', facenet='random')  # the same database, another model
    r = verify(c2, 'grace', faces['hopper'])
    body = r.get_json()
    assert r.status_code == 409 and body['error']['code'] == 'template_model_mismatch', body
    assert 'register again' in body['error']['message']


def test_auto_picks_facenet_when_its_weights_are_there(tmp_path, no_network, monkeypatch):
    from facenet_pytorch import InceptionResnetV1
    from femverify.core import WEIGHTS
    from femverify.verify import get_embedder
    monkeypatch.setenv('TORCH_HOME', str(tmp_path / 'torch'))
    assert get_embedder('auto', weights_dir=tmp_path).name == 'dlib'
    torch.manual_seed(3); torch.save(InceptionResnetV1(pretrained=None, classify=True, num_classes=8631).state_dict(), tmp_path / WEIGHTS['vggface2'].filename)
    e = get_embedder('auto', weights_dir=tmp_path)
    assert e.name == 'facenet' and e.model == 'facenet:vggface2' and 'weights found' in e.reason


def test_one_face_two_accounts_goes_to_review_and_a_banned_face_is_refused(tmp_path, faces, no_network):
    c, svc = client_for(tmp_path)
    assert register(c, 'ana', faces['hopper']).status_code == 201
    assert register(c, 'eileen', faces['collins']).status_code == 201  # another person: no match
    r = register(c, 'bea', faces['moved'])  # Grace again, under a new id
    body = r.get_json()
    assert r.status_code == 202 and (body['status'], body['reason']) == ('review', 'possible_duplicate'), body
    assert 'ana' not in r.get_data(as_text=True)  # the client is never told which account matched ...
    assert svc.store.flags()[0]['matched'] == 'user:ana'  # ... the moderators' record is
    assert svc.store.users() == ['ana', 'eileen']  # nothing stored for 'bea'
    r = c.delete('/api/v1/users/ana?ban=true', headers=KEY)
    assert r.status_code == 200 and r.get_json()['banned'] is True
    r = register(c, 'cy', faces['moved'])
    assert r.status_code == 422 and r.get_json()['error']['code'] == 'banned', r.get_json()
    assert 'ana' not in r.get_data(as_text=True) and svc.store.users() == ['eileen']


def test_a_stricter_search_threshold_lets_a_near_duplicate_through(tmp_path, faces, no_network):
    "FEMVERIFY_SEARCH_THRESHOLD sets the 1:N bar apart from the 1:1 one: below the moved copy's distance, Grace registers twice."
    c, svc = client_for(tmp_path, search_threshold=1e-6)
    assert register(c, 'ana', faces['hopper']).status_code == 201
    r = register(c, 'bea', faces['moved'])
    assert r.status_code == 201 and svc.store.flags() == [], r.get_json()
    assert c.post('/api/v1/users/ana/verify', data={'image': (io.BytesIO(faces['moved']), 'p.jpg')}).get_json()['match'] is True  # 1:1 unchanged

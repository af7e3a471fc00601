"""The women-only promise under attack (issue #20): the calibration among women, multi-frame verify, bans and duplicates
searched whatever the gender answer, complete erasure, no enumeration, no cross-site or stranger lockout, keyed details."""
import dataclasses, io, json
import pytest
import skimage.data
from PIL import Image
from api import create_app
from femverify.service import shipped_threshold
from conftest import API_KEY, HOPPER, cross_site, jpeg, make_service, new_database, open_target, TEMPLATE_KEY

KEY = {'X-API-Key': API_KEY}


def up(data, name='p.jpg'): return (io.BytesIO(data), name)


@pytest.fixture(scope='module')
def faces():
    "grace_hopper, a crop and a mirror of her, and another woman (scikit-image's astronaut)."
    h = Image.open(HOPPER).convert('RGB')
    return dict(grace=jpeg(h), crop=jpeg(h.crop((40, 20, 480, 560))), mirror=jpeg(h.transpose(Image.FLIP_LEFT_RIGHT)),
                other=jpeg(Image.fromarray(skimage.data.astronaut())), junk=b'\x01\x02\x03\x04')


def api(tmp_path, **cfg):
    svc = make_service(tmp_path, embedder='dlib', gender_check=False, **cfg)
    return svc, create_app({'TESTING': True, 'API_KEYS': (API_KEY,)}, service=svc).test_client()


def test_the_shipped_calibration_is_chosen_among_women():
    cal = json.loads(shipped_threshold('dlib').read_text())
    assert cal['population'].startswith('women') and cal['target_far'] <= 1e-4 and cal['model'] == 'dlib:resnet_v1+flip'
    t = {tuple(map(int, k.split('x'))): v for k, v in cal['thresholds'].items()}
    assert set(t) == {(k, m) for k in range(1, 6) for m in range(1, 6)}
    assert all(t[(k, m)] <= t[(i, j)] for (k, m) in t for (i, j) in t if i <= k and j <= m)  # averaging never loosens it
    assert cal['threshold'] == t[(1, 1)] < cal['lfw_view1_threshold'] and cal['search_threshold'] < cal['threshold']
    three = next(r for r in cal['women']['sizes'] if (r['template_photos'], r['probe_frames']) == (3, 3))
    assert three['tar']['value'] >= 0.95  # the goal, measured by benchmarks/calibrate_women.py


def test_threshold_follows_template_and_frames(tmp_path):
    svc = make_service(tmp_path, embedder='dlib')
    assert svc.threshold_for(1, 1) == svc.threshold and svc.threshold_for(3, 3) < svc.threshold
    assert svc.threshold_for(9, 15) == svc.threshold_for(5, 5)  # beyond the calibrated sizes: the strictest
    assert 'women' in svc.health()['verify_threshold']['source']


def test_no_calibration_refuses_with_its_own_code_unless_a_threshold_is_set(tmp_path, faces):
    from femverify.core import Config
    from femverify.service import FaceService
    svc = FaceService(Config(template_key=TEMPLATE_KEY, liveness='off', facenet='random', gender_check=False, db_path=tmp_path / 'a.db', weights_dir=tmp_path, detector_path=tmp_path / 'x.pt'))
    c = create_app({'TESTING': True, 'API_KEYS': (API_KEY,)}, service=svc).test_client()
    r = c.post('/api/v1/users/ana/verify', data={'image': up(faces['grace'])}, headers=KEY)
    assert r.status_code == 503 and r.get_json()['error']['code'] == 'uncalibrated'
    assert 'no calibration file' in svc.health()['verify_threshold']['problem']
    set_ = FaceService(Config(template_key=TEMPLATE_KEY, liveness='off', facenet='random', gender_check=False, db_path=tmp_path / 'b.db', weights_dir=tmp_path, detector_path=tmp_path / 'x.pt', verify_threshold=0.3))
    assert set_.threshold == 0.3 and 'FEMVERIFY_VERIFY_THRESHOLD' in set_.health()['verify_threshold']['source']


def test_multi_frame_verify_and_a_two_person_sequence(tmp_path, faces):
    svc, c = api(tmp_path)
    assert c.post('/api/v1/users', data={'consent': 'terms-v1', 'user': 'grace', 'photos': [up(faces['grace']), up(faces['mirror'])]}, headers=KEY).status_code == 201
    r = c.post('/api/v1/users/grace/verify', data={'image': [up(faces['crop']), up(faces['mirror']), up(faces['grace'])]}, headers=KEY).get_json()
    assert r['match'] and r['frames_used'] == 3 and r['threshold'] == svc.threshold_for(2, 3)
    r = c.post('/api/v1/users/grace/verify', data={'image': [up(faces['grace']), up(faces['other'])]}, headers=KEY).get_json()
    assert not r['match'] and r['reason'] == 'frames_disagree'


def review_genders(svc, answer):
    "Every photo's gender answer becomes `answer` (the ordering of checks is under test, not the models)."
    svc.config = dataclasses.replace(svc.config, gender_check=True)
    svc._genders = lambda ims, boxes, emb=None: [dict(answer=answer, p_female=0.7)] * len(ims)


def test_a_banned_face_is_refused_as_banned_while_the_gender_answer_is_review(tmp_path, faces):
    svc, c = api(tmp_path)
    review_genders(svc, 'female')
    assert c.post('/api/v1/users', data={'consent': 'terms-v1', 'user': 'ana', 'photos': [up(faces['grace'])]}, headers=KEY).status_code == 201
    assert c.delete('/api/v1/users/ana?ban=true', headers=KEY).get_json()['banned']
    review_genders(svc, 'review')
    r = c.post('/api/v1/users', data={'consent': 'terms-v1', 'user': 'bea', 'photos': [up(faces['crop'])]}, headers=KEY)
    assert r.status_code == 422 and r.get_json()['error']['code'] == 'banned'
    assert [f['reason'] for f in svc.store.flags() if f['user'] == 'bea'] == ['banned']
    review_genders(svc, 'not_female')  # banned is said first, before the gender refusal
    assert c.post('/api/v1/users', data={'consent': 'terms-v1', 'user': 'cat', 'photos': [up(faces['mirror'])]}, headers=KEY).get_json()['error']['code'] == 'banned'


def test_a_duplicate_under_review_is_still_flagged(tmp_path, faces):
    svc, c = api(tmp_path)
    review_genders(svc, 'female')
    assert c.post('/api/v1/users', data={'consent': 'terms-v1', 'user': 'ana', 'photos': [up(faces['grace'])]}, headers=KEY).status_code == 201
    review_genders(svc, 'review')
    r = c.post('/api/v1/users', data={'consent': 'terms-v1', 'user': 'eve', 'photos': [up(faces['mirror'])]}, headers=KEY)
    assert r.status_code == 202 and r.get_json()['reason'] == 'possible_duplicate'
    assert [(f['user'], f['matched']) for f in svc.store.flags()] == [('eve', 'user:ana')]


@pytest.mark.parametrize('kind', ['sqlite', 'postgresql'])
def test_erasure_leaves_no_row_that_names_her(tmp_path, faces, kind, request):
    target = str(tmp_path / 's.db') if kind == 'sqlite' else new_database(request.getfixturevalue('pg_cluster'))
    cfg = dict(db_path=tmp_path / 's.db') if kind == 'sqlite' else dict(db_url=target)
    svc, c = api(tmp_path, **cfg)
    review_genders(svc, 'female')
    assert c.post('/api/v1/users', data={'consent': 'terms-v1', 'user': 'ana', 'photos': [up(faces['grace'])]}, headers=KEY).status_code == 201
    assert c.post('/api/v1/users', data={'consent': 'terms-v1', 'user': 'eve', 'photos': [up(faces['mirror'])]}, headers=KEY).status_code == 202  # a flag naming ana
    c.post('/api/v1/users/ana/verify', data={'image': up(faces['other'])}); assert svc.store.attempts('ana')
    assert c.delete('/api/v1/users/ana', headers=KEY).status_code == 200
    c.post('/api/v1/users/ana/verify', data={'image': up(faces['grace'])})  # a verify after the delete
    c.post('/api/v1/users/ana/verify', data={'image': up(faces['grace'])}, headers=KEY)
    s = open_target(target)
    assert s.attempts('ana') == [] and not [f for f in s.flags() if 'ana' in (f['user'], f['matched'].split(':', 1)[-1])]


def test_no_enumeration_and_unusable_uploads_are_not_guesses(tmp_path, faces):
    svc, c = api(tmp_path)
    assert c.post('/api/v1/users', data={'consent': 'terms-v1', 'user': 'ana', 'photos': [up(faces['grace'])]}, headers=KEY).status_code == 201
    member, stranger = (c.post(f'/api/v1/users/{u}/verify', data={'image': up(faces['junk'])}) for u in ('ana', 'nobody'))
    assert member.status_code == stranger.status_code == 400 and member.get_json() == stranger.get_json()
    member, stranger = (c.post(f'/api/v1/users/{u}/verify', data={'image': up(faces['other'])}).get_json() for u in ('ana', 'nobody'))
    assert member == dict(stranger, user='ana') and 'distance' not in member
    for _ in range(12): c.post('/api/v1/users/ana/verify', data={'image': up(faces['junk'])}, environ_base={'REMOTE_ADDR': '198.51.100.7'})
    assert c.post('/api/v1/users/ana/verify', data={'image': up(faces['grace'])}, environ_base={'REMOTE_ADDR': '198.51.100.7'}).get_json()['match']


def test_strangers_cannot_lock_out_the_members_backend(tmp_path, faces):
    svc, c = api(tmp_path, user_rate_limit=4)
    assert c.post('/api/v1/users', data={'consent': 'terms-v1', 'user': 'ana', 'photos': [up(faces['grace'])]}, headers=KEY).status_code == 201
    for i in range(4): c.post('/api/v1/users/ana/verify', data={'image': up(faces['other'])}, environ_base={'REMOTE_ADDR': f'203.0.113.{i}'})
    r = c.post('/api/v1/users/ana/verify', data={'image': up(faces['grace'])}, environ_base={'REMOTE_ADDR': '203.0.113.99'})
    assert r.status_code == 429  # a keyless new device is slowed down ...
    r = c.post('/api/v1/users/ana/verify', data={'image': up(faces['grace'])}, headers=KEY, environ_base={'REMOTE_ADDR': '203.0.113.99'})
    assert r.status_code == 200 and r.get_json()['match']  # ... the app's backend, which vouches for her, is not


def test_cross_site_requests_are_refused_unread(tmp_path, faces):
    svc, c = api(tmp_path)
    r = cross_site(c).post('/api/v1/users/ana/verify', data={'image': up(faces['grace'])})
    assert r.status_code == 403 and r.get_json()['error']['code'] == 'cross_site_request'
    assert cross_site(c).get('/api/v1/health').status_code == 200


def test_health_details_and_route_messages(tmp_path, faces):
    svc, c = api(tmp_path, request_budget=1)
    public, keyed = c.get('/api/v1/health').get_json(), c.get('/api/v1/health', headers=KEY).get_json()
    assert 'verify_threshold' not in public and 'gender_band' not in json.dumps(public) and public['models']['embedder']['loaded']
    assert keyed['verify_threshold']['value'] == svc.threshold
    c.post('/api/v1/detect', data={'image': up(faces['grace'])})
    r = c.post('/api/v1/detect', data={'image': up(faces['grace'])})
    assert r.status_code == 429 and 'requests to detect' in r.get_json()['error']['message'] and 'verification' not in r.get_json()['error']['message']


def test_digit_only_api_keys_stay_strings(tmp_path, monkeypatch, faces):
    monkeypatch.setenv('FEMVERIFY_API_KEYS', '12345')
    svc = make_service(tmp_path, embedder='dlib', gender_check=False)
    c = create_app({'TESTING': True}, service=svc).test_client()
    assert c.post('/api/v1/users', data={'consent': 'terms-v1', 'user': 'ana', 'photos': [up(faces['grace'])]}, headers={'X-API-Key': '12345'}).status_code == 201
    assert c.delete('/api/v1/users/ana', headers={'X-API-Key': '12345'}).status_code == 200


def test_a_killed_workers_pending_attempts_stop_counting(tmp_path):
    from femverify.store import LimitReached, open_store
    s = open_store(tmp_path / 'p.db')
    for _ in range(5): s.begin_attempt('ana', 'c', limit=5)  # five in flight: a sixth must wait
    with pytest.raises(LimitReached): s.begin_attempt('ana', 'c', limit=5)
    with s._tx() as db: db.execute('UPDATE attempts SET time = time - 40')  # ... but their worker was killed 40 s ago
    assert s.begin_attempt('ana', 'c', limit=5)


def test_templates_are_sealed_at_rest(tmp_path, faces):
    import sqlite3
    from femverify.core import Config
    from femverify.service import FaceService
    from femverify.store import TemplateKeyError, open_store
    svc, c = api(tmp_path)
    assert c.post('/api/v1/users', data={'consent': 'terms-v1', 'user': 'ana', 'photos': [up(faces['grace'])]}, headers=KEY).status_code == 201
    assert c.post('/api/v1/users', data={'consent': 'terms-v1', 'user': 'bea', 'photos': [up(faces['other'])]}, headers=KEY).status_code == 201
    db = sqlite3.connect(svc.store.path)
    blob = db.execute("SELECT template FROM users WHERE id='ana'").fetchone()[0]
    t = svc.store.template('ana')
    assert t.astype('float32').tobytes() not in blob and len(blob) != 4 * len(t)  # not the float32 vector
    with pytest.raises(TemplateKeyError, match='open the store with its key'): open_store(svc.store.path).template('ana')  # the file alone
    db.execute("UPDATE users SET template=(SELECT template FROM users WHERE id='bea') WHERE id='ana'"); db.commit()  # bea's face into ana's row
    with pytest.raises(TemplateKeyError, match='fails authentication'): svc.store.template('ana')
    with pytest.raises(TemplateKeyError, match='no template key'):  # the service refuses to start without one
        FaceService(Config(embedder='dlib', db_path=tmp_path / 'k.db', weights_dir=tmp_path))


def test_decoding_that_cannot_be_abused(tmp_path, faces):
    from femverify.core import ImageError, load_image
    svc, c = api(tmp_path, request_budget=6)
    h = Image.open(HOPPER).convert('RGB')
    prog = io.BytesIO(); h.save(prog, 'JPEG', progressive=True); prog = prog.getvalue()
    assert prog.count(b'\xff\xda') == 10 and load_image(prog, max_scans=40).size == h.size  # a real progressive photo passes
    bomb = prog[:2] + b''.join(b'\xff\xfe\x00\x04\xff\xda' for _ in range(41)) + prog[2:]  # 41 more SOS markers: counted, never decoded
    with pytest.raises(ImageError, match='51 scans'): load_image(bomb, max_scans=40)
    r = c.post('/api/v1/detect', data={'image': up(bomb)})
    assert r.status_code == 400 and 'scans' in r.get_json()['error']['message']
    big = io.BytesIO(); Image.new('RGB', (5000, 4000), (90, 90, 90)).save(big, 'PNG')  # 20 MP in ~60 KB
    r = c.post('/api/v1/detect', data={'image': up(big.getvalue(), 'p.png')})
    assert r.status_code == 400 and 'decoded in full' in r.get_json()['error']['message']
    large = jpeg(Image.new('RGB', (6000, 4000), (90, 90, 90)))  # 24 MP, decoded at 1/2 (3000x2000, 6 MP): 2 requests' worth
    codes = [c.post('/api/v1/detect', data={'image': up(large)}, environ_base={'REMOTE_ADDR': '192.0.2.77'}).status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    svc.config = dataclasses.replace(svc.config, detect_side=4000)  # decoded whole: 24 MP, 7 requests' worth
    codes = [c.post('/api/v1/detect', data={'image': up(large)}, environ_base={'REMOTE_ADDR': '192.0.2.78'}).status_code for _ in range(2)]
    assert codes == [200, 429]  # the first is answered (its cost already paid), the next waits

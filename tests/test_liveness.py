"""The live head-turn challenge through the API: single use, expiry, the setting, and the attacks a photo makes.

The attacks are made here from photos that ship with matplotlib and scikit-image (`femverify.liveness.print_attack`).
No genuine head-turn video can be made offline from packaged photos, so the genuine case uses LFW's real photos when
FEMVERIFY_DATA has them (skipped otherwise; `benchmarks/liveness.py` measures it on hundreds of sequences).
"""
import io, threading
import numpy as np
import pytest
from PIL import Image
from api import create_app
from femverify.core import Config
from femverify.liveness import FRAMES, MOVES, follow, head_pose, print_attack
from femverify.store import ChallengeRefused
from conftest import API_KEY, HOPPER, FakeDetector, jpeg, make_service, open_target

SPEAKER = '127.0.0.1'  # the test client's address: the client a challenge is issued to


def live_app(tmp_path, **cfg):
    "A real service (dlib's packaged face model, a stand-in gender detector) with liveness on, and its test client."
    svc = make_service(tmp_path, detector=FakeDetector(0.9), embedder='dlib', **{'liveness': 'register', **cfg})
    return svc, create_app({'TESTING': True, 'API_KEYS': (API_KEY,)}, service=svc).test_client()


def challenge(client) -> dict:
    r = client.post('/api/v1/challenges'); assert r.status_code == 201, r.get_json(); return r.get_json()


def form(c, frames, **extra) -> dict:
    return dict(challenge=c['id'] if isinstance(c, dict) else c, frames=[(io.BytesIO(b), f'f{i}.jpg') for i, b in enumerate(frames)], **extra)


def printed(photo, moves, seed=0) -> list:
    "JPEG frames of `photo` held up to the camera as a print, tilted to follow `moves`."
    return [jpeg(f) for f in print_attack(Image.open(photo).convert('RGB') if not isinstance(photo, Image.Image) else photo, moves, np.random.default_rng(seed))]


def register(client, c, frames, user='ana'):
    return client.post('/api/v1/users', data=form(c, frames, user=user, consent='terms-v1'), headers={'X-API-Key': API_KEY})


@pytest.fixture
def astronaut():
    import skimage.data
    return Image.fromarray(skimage.data.astronaut())


def test_a_challenge_is_random_single_use_and_says_what_to_do(tmp_path):
    svc, client = live_app(tmp_path)
    c = challenge(client)
    assert len(c['moves']) == 2 and len(set(c['moves'])) == 2 and set(c['moves']) <= set(MOVES)
    assert c['expires_in'] == 30 and c['frames'] == dict(min=FRAMES[0], max=FRAMES[1], seconds=10.0)
    assert [i['move'] for i in c['instructions']] == c['moves'] and all(i['text'] and i['arrow'] for i in c['instructions'])
    assert len({tuple(challenge(client)['moves']) for _ in range(30)}) > 3  # drawn at random
    frames = printed(HOPPER, tuple(c['moves']))
    assert register(client, c, frames).status_code == 422  # used (and refused: a print)
    r = register(client, c, frames)
    assert r.status_code == 400 and r.get_json()['error']['code'] == 'challenge_used'


def test_test_mode_pins_the_moves_only_under_the_published_test_key(tmp_path):
    "FEMVERIFY_TEST_MOVES: every challenge asks those moves and says test_mode; with any other key the server refuses to start."
    from femverify.fakecam import TEST_TEMPLATE_KEY, TestModeRefused
    from femverify.store import new_key
    svc = make_service(tmp_path, liveness='register', test_moves='up,left', template_key=TEST_TEMPLATE_KEY)
    c = create_app({'TESTING': True, 'API_KEYS': (API_KEY,)}, service=svc).test_client()
    for _ in range(3):
        r = c.post('/api/v1/challenges').get_json()
        assert r['moves'] == ['up', 'left'] and r['test_mode'] is True
    assert c.get('/api/v1/health').get_json()['liveness']['test_mode'] is True  # said to anyone, key or not
    for bad in (dict(template_key=new_key()), dict(template_key='', template_key_file=tmp_path / 'k')):
        with pytest.raises(TestModeRefused, match='test template key'):
            make_service(tmp_path / 'prod', liveness='register', test_moves='up,left', **bad)
    with pytest.raises(TestModeRefused, match='two different'):
        make_service(tmp_path / 'typo', liveness='register', test_moves='up', template_key=TEST_TEMPLATE_KEY)
    assert make_service(tmp_path / 'plain', liveness='register').challenge('x').get('test_mode') is None


def test_expired_unknown_and_foreign_challenges_are_refused_with_their_own_codes(tmp_path):
    svc, client = live_app(tmp_path)
    frames = printed(HOPPER, ('left', 'up'))
    old = svc.store.issue_challenge(('left', 'up'), ttl=-1, client=SPEAKER)
    theirs = svc.store.issue_challenge(('left', 'up'), client='10.0.0.9')
    for c, code in ((old, 'challenge_expired'), ('made-up-id', 'challenge_unknown'), (theirs, 'challenge_foreign')):
        r = client.post('/api/v1/users/ana/verify', data=form(c, frames))
        assert r.status_code == 400 and r.get_json()['error']['code'] == code
    r = client.post('/api/v1/users/ana/verify', data=form(challenge(client), frames[:3]))  # too few frames: refused before it is used
    assert r.status_code == 400 and r.get_json()['error']['code'] == 'bad_request' and 'frames' in r.get_json()['error']['message']


def test_registration_without_a_challenge_is_refused_under_register(tmp_path, photos):
    svc, client = live_app(tmp_path)
    r = client.post('/api/v1/users', data=dict(consent='terms-v1', user='ana', photos=[(io.BytesIO(photos['one']), 'a.jpg')]), headers={'X-API-Key': API_KEY})
    assert r.status_code == 400 and r.get_json()['error']['code'] == 'liveness_required'
    assert svc.store.users() == []
    h = client.get('/api/v1/health').get_json()['liveness']
    assert h['mode'] == 'register' and h['loaded'] and 'injected camera streams' in h['does_not_stop']
    r = client.post('/api/v1/users/ana/verify', data=dict(image=(io.BytesIO(photos['one']), 'a.jpg')))
    assert r.status_code == 200  # under `register`, a photo still verifies (she is unknown: no match)


def test_frames_of_one_tilted_photo_are_refused_as_a_flat_picture(tmp_path):
    svc, client = live_app(tmp_path)
    for seed in range(3):
        c = challenge(client)
        r = register(client, c, printed(HOPPER, tuple(c['moves']), seed))
        e = r.get_json()['error']
        assert r.status_code == 422 and e['code'] in ('no_head_movement', 'flat_picture'), e
        assert 'flat_picture' in e['liveness']['failed'] and e['liveness']['checks']['depth']['parallax'] < svc.liveness['parallax']
    assert svc.store.users() == []


def test_a_two_person_sequence_is_refused(tmp_path, astronaut):
    svc, client = live_app(tmp_path)
    c = challenge(client); mv = tuple(c['moves'])
    frames = printed(HOPPER, mv)[:4] + printed(astronaut, mv)[4:]
    r = register(client, c, frames)
    e = r.get_json()['error']
    assert r.status_code == 422 and e['code'] == 'frames_disagree' and not e['liveness']['checks']['same_person']['ok']
    c = challenge(client)
    v = client.post('/api/v1/users/ana/verify', data=form(c, frames)).get_json()  # without a key: the reasons, not the values
    assert v['match'] is False and v['liveness']['reason'] == 'frames_disagree' and 'checks' not in v['liveness']


def test_failed_challenges_count_against_the_client(tmp_path):
    "A backend fetches and answers challenges for its end user (X-End-User): her failed challenges count against her."
    svc, client = live_app(tmp_path, rate_limit=3)
    her = {'X-API-Key': API_KEY, 'X-End-User': 'her-session'}
    def attempt(i, user):
        c = client.post('/api/v1/challenges', headers=her).get_json()
        return client.post('/api/v1/users', data=form(c, printed(HOPPER, tuple(c['moves']), i), user=user, consent='terms-v1'), headers=her)
    assert [attempt(i, f'u{i}').status_code for i in range(3)] == [422] * 3
    r = attempt(0, 'u9')
    assert r.status_code == 429 and r.get_json()['error']['code'] == 'rate_limited'


def test_always_needs_a_challenge_to_verify_and_off_takes_photos(tmp_path, photos):
    _, always = live_app(tmp_path / 'a', liveness='always')
    r = always.post('/api/v1/users/ana/verify', data=dict(image=(io.BytesIO(photos['one']), 'a.jpg')))
    assert r.status_code == 400 and r.get_json()['error']['code'] == 'liveness_required'
    svc, off = live_app(tmp_path / 'o', liveness='off')
    r = off.post('/api/v1/users', data=dict(consent='terms-v1', user='grace', photos=[(io.BytesIO(photos['one']), 'a.jpg')]), headers={'X-API-Key': API_KEY})
    assert r.status_code == 201, r.get_json()
    assert off.get('/api/v1/health').get_json()['liveness']['mode'] == 'off'
    with pytest.raises(ValueError, match='FEMVERIFY_LIVENESS'): make_service(tmp_path / 'x', liveness='sometimes')


def test_without_its_limits_liveness_fails_closed(tmp_path):
    svc, client = live_app(tmp_path, liveness_path=tmp_path / 'missing.json')
    r = client.post('/api/v1/challenges')
    assert r.status_code == 503 and r.get_json()['error']['code'] == 'model_unavailable'
    health = client.get('/api/v1/health', headers={'X-API-Key': API_KEY}).get_json()
    assert health['liveness']['loaded'] is False and 'liveness.py --write' in health['liveness']['reason']
    c = svc.store.issue_challenge(('left', 'up'), client=SPEAKER)
    r = register(client, c, printed(HOPPER, ('left', 'up')))
    assert r.status_code == 503 and svc.store.users() == []


def test_one_challenge_is_accepted_once_among_ten_racing_uses(store_target):
    store = open_target(store_target)
    c = store.issue_challenge(('left', 'up'), client='a')
    go, out = threading.Barrier(10), []
    def use():
        go.wait()
        try: out.append(store.use_challenge(c['id'], 'a'))
        except ChallengeRefused as e: out.append(e.reason)
    ts = [threading.Thread(target=use) for _ in range(10)]
    for t in ts: t.start()
    for t in ts: t.join()
    assert sorted(map(str, out)) == sorted(["('left', 'up')"] + ['challenge_used'] * 9)
    store.close()


def test_ten_racing_requests_with_one_challenge_through_the_api(tmp_path):
    svc, client = live_app(tmp_path)
    c = challenge(client); frames = printed(HOPPER, tuple(c['moves']))
    go, codes = threading.Barrier(10), []
    def post():
        cl = client.application.test_client(); go.wait()
        r = cl.post('/api/v1/users/ana/verify', data=form(c, frames))
        codes.append(r.get_json().get('error', {}).get('code', 'answered'))
    ts = [threading.Thread(target=post) for _ in range(10)]
    for t in ts: t.start()
    for t in ts: t.join()
    assert sorted(codes) == ['answered'] + ['challenge_used'] * 9


# --- a genuine sequence: real photos of one woman at the poses the challenge asks for (LFW, when it is here) ---

def lfw_person(name):
    d = Config.from_env().data_dir / 'lfw' / 'images' / name
    if not d.is_dir(): pytest.skip(f'LFW not found at {d.parent}: the genuine case is measured by benchmarks/liveness.py')
    return sorted(d.glob('*.jpg'))


def genuine_frames(svc, files, moves) -> list:
    "JPEG bytes of 6 of her photos whose estimated pose follows `moves` (`femverify.liveness.follow`)."
    rows = svc.embedder.analyse([Image.open(f).convert('RGB') for f in files], svc.config)
    ok = [i for i, r in enumerate(rows) if r['reason'] == 'ok']
    return [files[ok[i]].read_bytes() for i in follow([head_pose(rows[i]['landmarks']) for i in ok], moves, svc.liveness)]


def test_a_genuine_sequence_registers_and_verifies(tmp_path, monkeypatch):
    files = lfw_person('Jennifer_Capriati')
    svc, client = live_app(tmp_path)
    monkeypatch.setattr('femverify.service.new_moves', lambda n=2: ('left', 'right'))
    frames = genuine_frames(svc, files, ('left', 'right'))
    r = register(client, challenge(client), frames, user='jennifer')
    assert r.status_code == 201, r.get_json()
    body = r.get_json(); assert body['liveness']['passed'] and body['enrolled_photos'] == 3
    again = client.post('/api/v1/users/jennifer/verify', data=form(challenge(client), frames)).get_json()
    assert again['match'] is False and again['reason'] == 'frame_reused'  # the same frames: a replay
    other = genuine_frames(svc, [f for f in files if f.read_bytes() not in frames], ('left', 'right'))  # other photos of her
    v = client.post('/api/v1/users/jennifer/verify', data=form(challenge(client), other), headers={'X-API-Key': API_KEY}).get_json()
    assert v['match'] and v['liveness']['passed'] and v['frames_used'] == 5, v


def test_replayed_frames_are_refused_across_challenges(tmp_path, store_target):
    "Frames that passed once answer no later challenge with the same moves (frame_reused), for any member, on both stores."
    from femverify.fakecam import TEST_TEMPLATE_KEY, answer_frames
    where = dict(db_url=store_target) if store_target.startswith('postgresql://') else dict(db_path=store_target)
    svc, client = live_app(tmp_path, test_moves='left,right', template_key=TEST_TEMPLATE_KEY, **where)
    frames = answer_frames(HOPPER, ('left', 'right'))
    r = register(client, challenge(client), frames, user='grace')
    assert r.status_code == 201, r.get_json()
    verify = lambda fr: client.post('/api/v1/users/grace/verify', data=form(challenge(client), fr)).get_json()
    again = verify(frames)  # the same frames, a new challenge with the same two moves
    assert again['match'] is False and again['reason'] == 'frame_reused', again
    r = register(client, challenge(client), frames, user='eve')  # nor do they enrol anyone else
    assert r.status_code == 422 and r.get_json()['error']['code'] == 'frame_reused' and svc.store.users() == ['grace']
    fresh = verify(answer_frames(HOPPER, ('left', 'right'), seed=1))  # a new capture of her: other noise, new frames
    assert fresh['match'] is True, fresh

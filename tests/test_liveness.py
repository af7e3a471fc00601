"""The live head-turn challenge through the API: single use, expiry, the setting, and the attacks a photo makes.

The attacks are made here from photos that ship with matplotlib and scikit-image (`femverify.liveness.print_attack`).
No genuine head-turn video can be made offline from packaged photos, so the genuine case uses LFW's real photos when
FEMVERIFY_DATA has them (skipped otherwise; `benchmarks/liveness_limits.py` measures it on hundreds of sequences).
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
    assert c['expires_in'] == 30 and c['frames'] == dict(min=FRAMES[0], max=FRAMES[1], seconds=10.0, fps=5)
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
        assert r.status_code == 422 and e['code'] in ('no_head_movement', 'wrong_movement', 'flat_picture'), e
        assert 'flat_picture' in e['liveness']['failed'] and e['liveness']['checks']['depth']['parallax'] < svc.liveness['parallax']
    assert svc.store.users() == []


def test_a_two_person_sequence_is_refused(tmp_path, astronaut):
    svc, client = live_app(tmp_path)
    c = challenge(client); mv = tuple(c['moves'])
    frames = printed(HOPPER, mv)[:15] + printed(astronaut, mv)[15:]
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
    assert health['liveness']['loaded'] is False and 'liveness_limits.py --write' in health['liveness']['reason']
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


def collection_frames(svc, files, moves, per=5, seed=0) -> list:
    """A burst made of 6 of her photos whose estimated pose follows `moves` (`femverify.liveness.follow`), each held
    for `per` frames with a camera's noise: the photo-collection attack."""
    rows = svc.embedder.analyse([Image.open(f).convert('RGB') for f in files], svc.config)
    ok = [i for i, r in enumerate(rows) if r['reason'] == 'ok']
    rng, out = np.random.default_rng(seed), []
    for i in follow([head_pose(rows[i]['landmarks']) for i in ok], moves, svc.liveness):
        a = np.asarray(Image.open(files[ok[i]]).convert('RGB'), np.float32)
        out += [jpeg(Image.fromarray(np.clip(a + rng.normal(0, 3, a.shape), 0, 255).astype(np.uint8))) for _ in range(per)]
    return out


def test_a_victims_photo_collection_is_refused_by_continuity(tmp_path, monkeypatch):
    "Six real photos of one woman ordered by pose (LFW), each held for 5 frames: the burst shows the cuts between them."
    files = lfw_person('Jennifer_Capriati')
    svc, client = live_app(tmp_path)
    monkeypatch.setattr('femverify.service.new_moves', lambda n=2: ('left', 'right'))
    r = register(client, challenge(client), collection_frames(svc, files, ('left', 'right')), user='jennifer')
    e = r.get_json()['error']
    assert r.status_code == 422 and 'frames_cut' in e['liveness']['failed'], e
    assert e['liveness']['checks']['burst']['largest'] > svc.liveness['cut'] and svc.store.users() == []


def renders(photo, moves, **kw) -> list:
    from femverify.fakecam import answer_frames
    return answer_frames(photo, moves, **kw)


def test_a_two_photo_sequence_is_refused_by_continuity(tmp_path):
    "The burst of one photo's render, then another photo of her (another background): the cut between them refuses it."
    from femverify.fakecam import TEST_TEMPLATE_KEY
    svc, client = live_app(tmp_path, test_moves='left,right', template_key=TEST_TEMPLATE_KEY, gender_check=False)
    im = Image.open(HOPPER).convert('RGB')
    x0, y0, x1, y1 = svc.finder([im])[0].boxes[0]
    a = np.asarray(im).copy()
    a[:, :int(x0 - 0.1 * (x1 - x0))] = (200, 180, 150); a[:, int(x1 + 0.1 * (x1 - x0)):] = (40, 60, 90)
    other = Image.fromarray(a)
    turns = [(-25, 0), (25, 0)]  # both photos turned alike
    one = renders(HOPPER, ('left', 'right'), turns=turns)
    assert svc.check_capture(one, ('left', 'right'))['checks']['burst']['ok']  # one photo's burst: no cut
    frames = one[:22] + renders(other, ('left', 'right'), turns=turns)[22:]
    r = register(client, challenge(client), frames, user='grace')
    e = r.get_json()['error']
    assert r.status_code == 422 and e['liveness']['checks']['burst']['at'] == 22, e
    assert 'frames_cut' in e['liveness']['failed'] and e['liveness']['checks']['burst']['largest'] > svc.liveness['cut'], e
    assert svc.store.users() == []


def test_a_cylinder_animated_packaged_photo_is_refused(tmp_path):
    "Grace Hopper's photo wrapped on a cylinder and turned 45 degrees each way: far enough, parallax enough, but not a face's depth."
    from femverify.fakecam import TEST_TEMPLATE_KEY
    svc, client = live_app(tmp_path, test_moves='left,right', template_key=TEST_TEMPLATE_KEY, gender_check=False)
    frames = renders(HOPPER, ('left', 'right'), shape='cylinder', turns=[(-45, 0), (45, 0)])
    r = register(client, challenge(client), frames, user='grace')
    e = r.get_json()['error']
    assert r.status_code == 422 and 'flat_face' in e['liveness']['failed'], e  # (the random frames read may miss a turn)
    assert e['liveness']['checks']['depth']['ok'], e  # parallax enough: the check before #32 let it in
    assert e['liveness']['checks']['shape']['depth'] < svc.liveness['face_depth'] and svc.store.users() == []
    r = register(client, challenge(client), renders(HOPPER, ('left', 'right')), user='grace')  # her face-shaped render
    assert r.status_code in (201, 202) and r.get_json()['liveness']['passed'], r.get_json()  # a face-shaped render is not told from a head (see #32)


def reencoded(frames:list) -> list:
    "Each JPEG frame decoded, rescaled by 2%, darkened, and saved again at quality 80: what dodges an exact hash."
    out = []
    for f in frames:
        im = Image.open(io.BytesIO(f)).convert('RGB')
        im = im.resize((round(im.width * 1.02), round(im.height * 1.02))).resize(im.size).point(lambda v: int(v * 0.9))
        b = io.BytesIO(); im.save(b, 'JPEG', quality=80); out.append(b.getvalue())
    return out


def test_replayed_frames_are_refused_across_challenges(tmp_path, store_target):
    """Frames that passed once answer no later challenge with the same moves (frame_reused), re-encoded or not, for
    any member, on both stores; a new capture of her still matches."""
    from femverify.fakecam import TEST_TEMPLATE_KEY, answer_frames
    where = dict(db_url=store_target) if store_target.startswith('postgresql://') else dict(db_path=store_target)
    svc, client = live_app(tmp_path, test_moves='left,right', template_key=TEST_TEMPLATE_KEY, gender_check=False, **where)
    frames = answer_frames(HOPPER, ('left', 'right'))
    r = register(client, challenge(client), frames, user='grace')
    assert r.status_code == 201, r.get_json()
    verify = lambda fr: client.post('/api/v1/users/grace/verify', data=form(challenge(client), fr)).get_json()
    again = verify(frames)  # the same frames, a new challenge with the same two moves
    assert again['match'] is False and again['reason'] == 'frame_reused', again
    r = register(client, challenge(client), frames, user='eve')  # nor do they enrol anyone else
    assert r.status_code == 422 and r.get_json()['error']['code'] == 'frame_reused' and svc.store.users() == ['grace']
    copy = verify(reencoded(frames))  # decoded, rescaled, re-encoded: new bytes, new pixels, the same motion
    assert copy['match'] is False and copy['reason'] == 'frame_reused', copy
    fresh = verify(answer_frames(HOPPER, ('left', 'right'), seed=1))  # a new capture of her: other noise, new frames
    assert fresh['match'] is True, fresh


def test_a_doubtful_answer_goes_to_a_person(tmp_path):
    """Nothing failed but the depth is in the doubtful band: the registration is a moderator's case (202), the case
    holds the liveness verdict, and approving it enrols her; a doubtful verification is no match."""
    from femverify.fakecam import TEST_TEMPLATE_KEY
    svc, client = live_app(tmp_path, test_moves='left,right', template_key=TEST_TEMPLATE_KEY, gender_check=False)
    svc.liveness = dict(svc.liveness, doubt_depth=5.0)  # every real depth is under it: the band covers this render
    r = register(client, challenge(client), renders(HOPPER, ('left', 'right')), user='grace')
    body = r.get_json()
    assert r.status_code == 202 and (body['status'], body['reason']) == ('review', 'liveness_doubtful'), body
    assert body['liveness']['verdict'] == 'doubtful' and body['liveness']['doubts'] == ['shallow_face']
    case = svc.case(body['case']['id'])
    assert case['reason'] == 'liveness_doubtful' and case['details']['liveness']['verdict'] == 'doubtful', case
    assert len(case['frames']) >= 1 and svc.store.users() == []
    assert svc.decide(body['case']['id'], 'approve', 'moderator1')['outcome'] == 'approve' and svc.store.users() == ['grace']
    v = client.post('/api/v1/users/grace/verify', data=form(challenge(client), renders(HOPPER, ('left', 'right'), seed=3)))
    v = v.get_json()
    assert v['match'] is False and v['reason'] == 'shallow_face' and v['liveness']['verdict'] == 'doubtful', v


def test_live_review_all_sends_every_live_registration_to_a_person(tmp_path):
    """FEMVERIFY_LIVE_REVIEW=all: a registration that passes every check is a moderator's case (liveness_review) whose
    audit frames show her turns, not three frontal frames; approving it enrols her. An unknown value refuses to start."""
    from femverify.fakecam import TEST_TEMPLATE_KEY
    from femverify.liveness import reach
    svc, client = live_app(tmp_path, test_moves='left,right', template_key=TEST_TEMPLATE_KEY, gender_check=False,
                           live_review='all')
    r = register(client, challenge(client), renders(HOPPER, ('left', 'right')), user='grace')
    body = r.get_json()
    assert r.status_code == 202 and (body['status'], body['reason']) == ('review', 'liveness_review'), body
    assert body['liveness']['verdict'] == 'pass' and svc.store.users() == []
    case = svc.case(body['case']['id'])
    assert case['reason'] == 'liveness_review' and case['details']['liveness']['moves'] == ['left', 'right'], case
    from base64 import b64decode
    faces = svc.finder([Image.open(io.BytesIO(b64decode(f.split(',', 1)[1]))).convert('RGB') for f in case['frames']])
    d = np.array([head_pose(f.landmarks[0]) for f in faces]); d = d - d[0]
    assert len(faces) == 3 and [round(float(reach(d[i:i + 1], m, svc.liveness)[0]), 1) >= 0.5  # she turns in frames 2, 3
                                for i, m in ((1, 'left'), (2, 'right'))] == [True, True], d
    assert svc.decide(body['case']['id'], 'approve', 'moderator1')['outcome'] == 'approve' and svc.store.users() == ['grace']
    with pytest.raises(ValueError, match='FEMVERIFY_LIVE_REVIEW'):
        live_app(tmp_path / 'other', live_review='sometimes')

"""Review and appeal through the API (#29): cases, moderators' decisions, appeals, roles, the decision log, retention.

These cross the API, the service, the store and the console's `audit verify`, on SQLite and on a real PostgreSQL, so
they live here rather than in a notebook. The faces are packaged photos; FakeDetector sets the gender answer.
"""
import io, subprocess, sys, time
from pathlib import Path
import pytest
from api import create_app
from conftest import API_KEY, FakeDetector, assert_no_biometrics, make_service

MOD_KEY = 'moderator-key-0123456789'
KEY, MOD = {'X-API-Key': API_KEY}, {'X-Moderator-Key': MOD_KEY}
FEMVERIFY = str(Path(sys.executable).parent / 'femverify')
DAY = 86400


def app_for(tmp_path, target, p_female=0.9, **cfg):
    """An app with app and moderator keys over a real service on `target` (a SQLite path or a postgresql:// URL).

    The packaged face model (dlib) tells faces apart; the gender answer is FakeDetector's `p_female` alone (no gender head).
    """
    db = dict(db_url=target) if target.startswith('postgresql://') else dict(db_path=Path(target))
    svc = make_service(tmp_path, detector=FakeDetector(p_female), embedder='dlib', gender_head_path=tmp_path / 'no-head.json',
                       **db, **cfg)
    return create_app({'TESTING': True, 'API_KEYS': (API_KEY,), 'MODERATOR_KEYS': (MOD_KEY,)}, service=svc), svc


def register(c, user, photo, headers=KEY, **extra):
    data = {'consent': 'terms-v1', 'user': user, 'photos': [(io.BytesIO(photo), 'p.jpg')], **extra}
    return c.post('/api/v1/users', data=data, headers=headers)


def verify(c, user, photo, headers=KEY):
    return c.post(f'/api/v1/users/{user}/verify', data={'image': (io.BytesIO(photo), 'a.jpg')}, headers=headers)


def decide(c, cid, decision, moderator='mo.lu', note=''):
    return c.post(f'/api/v1/cases/{cid}/decision', json=dict(decision=decision, moderator=moderator, note=note), headers=MOD)


def audit(target) -> int:
    "The exit code of `femverify audit verify TARGET`, as an operator runs it."
    return subprocess.run([FEMVERIFY, 'audit', 'verify', target], capture_output=True, text=True, timeout=300).returncode


def test_a_duplicate_flag_becomes_a_case_that_a_moderator_approves(tmp_path, store_target, photos):
    app, svc = app_for(tmp_path, store_target)
    c = app.test_client()
    assert register(c, 'ana', photos['one']).status_code == 201
    r = register(c, 'bea', photos['one'])  # the same face under a new id: held for a person, not a dead end
    body = r.get_json()
    assert (r.status_code, body['status'], body['reason']) == (202, 'review', 'possible_duplicate'), body
    cid = body['case']['id']
    assert [x['id'] for x in c.get('/api/v1/cases', headers=MOD).get_json()['items']] == [cid]
    assert c.get('/api/v1/cases?reason=not_female', headers=MOD).get_json()['cases'] == 0
    one = c.get(f'/api/v1/cases/{cid}', headers=MOD).get_json()
    assert one['details']['matched'] == 'user:ana' and one['details']['photos'][0]['gender']['answer'] == 'female'
    assert len(one['frames']) == 1 and len(one['matched_frames']) == 1 and one['frames'][0].startswith('data:image/jpeg;base64,')
    assert verify(c, 'bea', photos['one']).status_code == 404  # not a member until a person says so
    d = decide(c, cid, 'approve', note='sisters: checked on a video call')
    assert d.status_code == 200 and d.get_json()['outcome'] == 'approve'
    assert decide(c, cid, 'refuse').get_json()['error']['code'] == 'case_not_pending'
    v = verify(c, 'bea', photos['one']).get_json()
    assert (v['match'], v['reason']) == (True, 'ok'), v
    assert svc.gallery.search(svc.store.template('bea'), k=3)[0][1] < 1e-4  # in the 1:N index too, as a clean registration
    log = svc.store.decisions('bea')
    assert [(x['outcome'], x['actor'], x['reasons']) for x in log] == [
        ('review', 'femverify', ['possible_duplicate']), ('approve', 'moderator:mo.lu', ['possible_duplicate'])]
    assert log[1]['note'] == 'sisters: checked on a video call'
    assert audit(store_target) == 0
    with svc.store._tx() as db: db.execute("UPDATE decisions SET outcome='refuse' WHERE seq=?", (log[1]['seq'],))
    assert audit(store_target) == 1  # an edited row breaks the chain
    assert svc.store.verify_log()['broken_at'] == log[1]['seq']


def test_a_not_female_refusal_is_appealed_and_approved_and_an_unappealed_one_expires(tmp_path, store_target, photos, other_woman):
    app, svc = app_for(tmp_path, store_target, p_female=0.1)
    c = app.test_client()
    refused = {}
    for user, photo in (('ana', photos['one']), ('bea', other_woman)):
        r = register(c, user, photo)
        e = r.get_json()['error']
        assert (r.status_code, e['code']) == (422, 'not_female') and e['appeal']['expires_at'] > time.time() + 13 * DAY
        refused[user] = e['appeal']['id']
    assert c.get('/api/v1/cases', headers=MOD).get_json()['cases'] == 0  # refusals wait for an appeal, not in the queue
    a = c.post(f"/api/v1/cases/{refused['ana']}/appeal", headers=KEY)
    assert a.status_code == 202 and a.get_json()['state'] == 'pending'
    assert c.post(f"/api/v1/cases/{refused['ana']}/appeal", headers=KEY).get_json()['error']['code'] == 'not_appealable'
    assert [x['user'] for x in c.get('/api/v1/cases', headers=MOD).get_json()['items']] == ['ana']
    assert decide(c, refused['ana'], 'approve', note='a woman: the model was wrong').status_code == 200
    assert verify(c, 'ana', photos['one']).get_json()['match'] is True
    later = time.time() + (svc.config.appeal_days + 1) * DAY  # bea never appealed: her window ends
    assert svc.purge(now=later)['cases'] == 1
    assert c.post(f"/api/v1/cases/{refused['bea']}/appeal", headers=KEY).get_json()['error']['code'] == 'unknown_case'
    assert [(x['outcome'], x['actor'], x['reasons']) for x in svc.store.decisions('bea')] == [
        ('refused', 'femverify', ['not_female']), ('erased', 'retention', ['not_appealed'])]
    assert svc.store.record('ana')['member'] is True and svc.store.verify_log()['ok']


def test_not_female_review_sends_it_to_a_person(tmp_path, photos):
    app, svc = app_for(tmp_path, str(tmp_path / 'f.db'), p_female=0.1, not_female='review')
    c = app.test_client()
    r = register(c, 'ana', photos['one'])
    assert (r.status_code, r.get_json()['reason']) == (202, 'not_female') and 'appeal' not in r.get_json()
    assert [x['reason'] for x in c.get('/api/v1/cases', headers=MOD).get_json()['items']] == ['not_female']
    assert svc.health()['cases']['not_female'] == 'review' and svc.health()['cases']['pending'] == 1


def test_roles_are_separate(tmp_path, photos):
    app, svc = app_for(tmp_path, str(tmp_path / 'f.db'))
    c = app.test_client()
    assert register(c, 'ana', photos['one']).status_code == 201
    cid = register(c, 'bea', photos['one']).get_json()['case']['id']
    for route in ('/api/v1/cases', f'/api/v1/cases/{cid}'):  # no key sees nothing; an app key sees no case
        assert c.get(route).status_code == 401 and c.get(route, headers=KEY).status_code == 401
    r = c.post(f'/api/v1/cases/{cid}/decision', json=dict(decision='approve', moderator='x'), headers=KEY)
    assert r.status_code == 401  # the backend can't decide
    for h in (MOD, {'X-API-Key': MOD_KEY}):  # a moderator key can't register or verify, in either header
        assert register(c, 'cy', photos['one'], headers=h).get_json()['error']['code'] == 'wrong_role'
        assert verify(c, 'ana', photos['one'], headers=h).get_json()['error']['code'] == 'wrong_role'
        assert c.delete('/api/v1/users/ana', headers=h).status_code == 403
    assert c.post(f'/api/v1/cases/{cid}/appeal', headers=MOD).status_code == 401  # appeals come from the app
    assert c.get('/api/v1/users/ana/record').status_code == 401
    assert decide(c, cid, 'approve ').status_code == 400  # only approve, refuse or ban
    assert decide(c, 'no-such-case', 'approve').get_json()['error']['code'] == 'unknown_case'
    assert register(c, 'dee', photos['one'], consent='').get_json()['error']['code'] == 'consent_required'
    plain = create_app({'TESTING': True, 'API_KEYS': (API_KEY,)}, service=svc).test_client()
    assert plain.get('/api/v1/cases', headers=MOD).status_code == 403  # no moderator keys configured: deciding is off
    with pytest.raises(ValueError, match='both an app key and a moderator key'):
        create_app({'TESTING': True, 'API_KEYS': (API_KEY,), 'MODERATOR_KEYS': (API_KEY,)}, service=svc)


def test_no_template_and_no_frame_reach_an_app_key(tmp_path, photos):
    app, svc = app_for(tmp_path, str(tmp_path / 'f.db'))
    c = app.test_client()
    answers = [register(c, 'ana', photos['one']), register(c, 'bea', photos['one']), verify(c, 'ana', photos['one']),
               c.get('/api/v1/users/ana/record', headers=KEY), c.get('/api/v1/users/bea/record', headers=KEY),
               c.get('/api/v1/health', headers=KEY), c.get('/api/v1/health')]
    for r in answers:
        assert r.status_code in (200, 201, 202), r.get_json()
        assert_no_biometrics(r.get_json())
        assert 'data:image' not in r.get_data(as_text=True) and 'template' not in r.get_data(as_text=True)
    rec = answers[3].get_json()
    assert (rec['member'], rec['audit_frames'], rec['consents'][0]['version']) == (True, 1, 'terms-v1')
    assert answers[4].get_json()['cases'][0]['reason'] == 'possible_duplicate'
    assert c.get('/api/v1/users/nobody/record', headers=KEY).status_code == 404


def test_purge_erases_exactly_what_the_schedule_says(tmp_path, store_target, photos, other_woman):
    app, svc = app_for(tmp_path, store_target, ban_days=200.0)
    c = app.test_client()
    assert register(c, 'ana', photos['one']).status_code == 201
    pending = register(c, 'bea', photos['one']).get_json()['case']['id']  # 30 days to be decided
    assert verify(c, 'ana', other_woman, headers={}).status_code == 200  # an attempt (kept 90 days)
    assert register(c, 'eve', other_woman).status_code == 201
    c.delete('/api/v1/users/eve?ban=true', headers=KEY)  # a ban that lapses after ban_days
    s, t0 = svc.store, time.time()
    n = lambda days: svc.purge(now=t0 + days * DAY)
    rows = lambda: len(s.decisions())
    before = rows()
    assert not any(n(1).values()) and rows() == before  # nothing due: nothing erased, nothing logged
    assert n(31)['cases'] == 1 and pending not in [x['id'] for x in s.cases()]
    assert rows() == before + 2  # the case by its id, and one row of counts
    k = n(91)
    assert (k['attempts'] >= 1, k['requests'] >= 1, k['flags'], k['members'], k['bans']) == (True, True, 1, 0, 0), k
    with s._connect() as db: assert db.execute('SELECT COUNT(*) FROM attempts').fetchone()[0] == 0
    assert s.users() == ['ana'] and n(201)['bans'] == 1
    assert n(3 * 365 + 1)['members'] == 1 and s.users() == []  # three years without a verification
    last = s.decisions()[-1]
    assert (last['subject'], last['outcome'], last['actor'], 'members=1' in last['reasons']) == ('purge', 'purged', 'retention', True)
    assert s.verify_log()['ok'] and not any(n(3 * 365 + 2).values())  # a second run finds nothing: safe from cron


V6 = """
CREATE TABLE users (id TEXT PRIMARY KEY, created REAL NOT NULL, dim INTEGER NOT NULL, template BLOB NOT NULL,
    model TEXT NOT NULL DEFAULT 'unknown', gkey INTEGER);
CREATE TABLE embeddings (id INTEGER PRIMARY KEY, user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    vector BLOB NOT NULL, created REAL NOT NULL, quality REAL);
CREATE TABLE attempts (id INTEGER PRIMARY KEY, time REAL NOT NULL, user_id TEXT NOT NULL, client TEXT, decision TEXT NOT NULL, distance REAL);
CREATE TABLE requests (time REAL NOT NULL, client TEXT NOT NULL, route TEXT NOT NULL);
CREATE TABLE bans (id INTEGER PRIMARY KEY, created REAL NOT NULL, model TEXT NOT NULL, template BLOB NOT NULL, note TEXT, gkey INTEGER);
CREATE TABLE flags (id INTEGER PRIMARY KEY, time REAL NOT NULL, user_id TEXT NOT NULL, reason TEXT NOT NULL, matched TEXT NOT NULL, distance REAL);
CREATE TABLE gallery_log (seq INTEGER PRIMARY KEY, ref INTEGER);
CREATE TABLE challenges (id TEXT PRIMARY KEY, created REAL NOT NULL, expires REAL NOT NULL, client TEXT, moves TEXT NOT NULL, used REAL);
INSERT INTO users VALUES ('old', 0, 2, x'0000803f00000000', 'm', 1); INSERT INTO gallery_log (seq) VALUES (1);
INSERT INTO bans VALUES (1, 0, 'm', x'0000803f00000000', 'spam', 2); INSERT INTO gallery_log (seq) VALUES (2);
PRAGMA user_version = 6;"""


def test_a_version_6_store_is_migrated_with_its_members_and_bans(tmp_path):
    "The schema of the last release, migrated in place: members and bans kept, cases, frames, consents and the log added."
    import sqlite3
    import numpy as np
    from femverify.store import SCHEMA_VERSION, Store
    old = sqlite3.connect(tmp_path / 'v6.db')
    old.executescript(V6)
    old.close()
    s = Store(tmp_path / 'v6.db')
    with s._connect() as db: assert db.execute('PRAGMA user_version').fetchone()[0] == SCHEMA_VERSION == 9  # through 7 (cases), 8 (frames_seen), 9 (motions)
    assert s.users() == ['old'] and s.record('old')['last_verified'] is None and s.claim_frames(['k']) == 1
    c = s.open_case('new', 'possible_ban', 'pending', 'm', np.ones(2), np.ones((1, 2)), [b'jpeg'], dict(matched='ban:1'))
    assert s.case(c['id'])['matched_frames'] == []  # a ban from before version 7 kept no frame
    assert s.decide(c['id'], 'ban', 'mo')['ban_id'] == 2 and s.verify_log()['ok']
    assert s.purge(now=time.time() + 4 * 365 * DAY)['members'] == 1  # created at 0, never verified: erased

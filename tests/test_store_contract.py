"""The store's contract, run on both stores: SQLite (the default) and PostgreSQL (a cluster the tests start themselves).

Every behaviour the service relies on — enrolment all-or-nothing, model checks, the audit, atomic rate limits and
budgets, erasure, bans, the gallery's change feed — must hold the same on both."""
import threading, time
import numpy as np
import pytest
from femverify.store import LimitReached, ModelMismatch, PgStore, SCHEMA_VERSION, Store, UnknownUser, UserExists
from conftest import open_target

V = np.eye(8, dtype=np.float32)


@pytest.fixture
def store(store_target):
    s = open_target(store_target)
    yield s
    s.close()


def test_kind_and_schema_version(store, store_target):
    assert isinstance(store, PgStore) == store_target.startswith('postgresql://')
    with store._connect() as db:
        v = db.execute('SELECT MAX(version) FROM schema_version' if isinstance(store, PgStore) else 'PRAGMA user_version').fetchone()[0]
    assert v == SCHEMA_VERSION
    store.close(); reopened = open_target(store_target)  # opening an up-to-date store again changes nothing
    assert reopened.users() == []; reopened.close()


def test_enrol_get_template_replace(store):
    assert store.enroll('ana', V[0], [V[0], V[1]], [30.0, 40.0], model='m') == 2
    got = store.get('ana')
    assert got['embeddings'].shape == (2, 8) and np.allclose(got['template'], V[0]) and got['model'] == 'm'
    assert np.allclose(store.template('ana', model='m'), V[0])
    with pytest.raises(ModelMismatch): store.template('ana', model='other')
    with pytest.raises(UserExists): store.enroll('ana', V[2], [V[2]], model='m')
    assert store.enroll('ana', V[2], [V[2]], model='m', replace=True) == 1
    assert np.allclose(store.template('ana'), V[2]) and store.get('ana')['embeddings'].shape == (1, 8)
    with pytest.raises(UnknownUser): store.get('nobody')
    with pytest.raises(UnknownUser): store.template('nobody')
    assert store.users() == ['ana']


def test_an_enrolment_that_fails_midway_leaves_nothing(store):
    def broken():
        yield V[0]; yield V[1]; raise OSError('the upload broke')
    with pytest.raises(OSError): store.enroll('bo', V[0], broken(), model='m')
    assert store.users() == [] and store.gallery_since('m')['added'] == []
    with pytest.raises(OSError): store.enroll('bo', V[0], broken(), model='m')  # the store is still usable, and still empty
    assert store.users() == []


def log(store, user, decision, distance=None, client=None):
    "One finished attempt, as the service records it (begin, then end), with the limits lifted."
    store.end_attempt(store.begin_attempt(user, client, limit=10**6, user_limit=None), decision, distance, enrolled=False)


def failures(store, user=None, client=None) -> int:
    "Failed attempts recorded for `user` or `client`: what the rate limits count."
    col, val = ('user_id', user) if user is not None else ('client', client)
    with store._connect() as db:
        return db.execute(f"SELECT COUNT(*) FROM attempts WHERE {col}=? AND decision!='match'", (val,)).fetchone()[0]


def test_audit_and_failures(store):
    store.enroll('ana', V[0], [V[0]], model='m')
    log(store, 'ana', 'match', 0.1, '1.2.3.4'); log(store, 'ana', 'different_person', 0.9, '1.2.3.4')
    log(store, 'ana', 'no_face', None, None)
    assert (failures(store, user='ana'), failures(store, client='1.2.3.4')) == (2, 1)
    assert [a['decision'] for a in store.attempts('ana')] == ['match', 'different_person', 'no_face']
    with pytest.raises(UnknownUser): store.end_attempt(store.begin_attempt('ghost'), 'no_face')  # not enrolled: no row
    assert store.attempts('ghost') == []


def test_rate_limits_are_checked_and_recorded_at_once(store):
    store.enroll('ana', V[0], [V[0]], model='m')
    for _ in range(5): store.end_attempt(store.begin_attempt('ana', 'stranger'), 'different_person', 0.9)
    with pytest.raises(LimitReached) as e: store.begin_attempt('ana', 'stranger')
    assert e.value.who == 'client'
    store.end_attempt(store.begin_attempt('ana', 'phone'), 'match', 0.1)  # another client isn't locked out
    # the user limit applies to clients not trusted; no-client (None) attempts are one client
    for _ in range(3): store.end_attempt(store.begin_attempt('ana', None, user_limit=8), 'no_face')
    assert failures(store, user='ana') == 8


def test_parallel_failures_record_exactly_the_limit(store_target):
    s = open_target(store_target); s.enroll('ana', V[0], [V[0]], model='m')
    ok, refused, lock = [], [], threading.Lock()

    def attempt():
        st = open_target(store_target)  # its own store object, as another worker would have
        try: row = st.begin_attempt('ana', 'burst')
        except LimitReached:
            with lock: refused.append(1)
        else:
            time.sleep(0.05); st.end_attempt(row, 'different_person', 0.9)
            with lock: ok.append(1)
        finally: st.close()
    ts = [threading.Thread(target=attempt) for _ in range(12)]
    for t in ts: t.start()
    for t in ts: t.join(60)
    assert (len(ok), len(refused), failures(s, client='burst')) == (5, 7, 5)
    s.close()


def test_request_budget(store):
    assert [store.spend('1.2.3.4', 'detect', limit=3) for _ in range(3)] == [2, 1, 0]
    with pytest.raises(LimitReached): store.spend('1.2.3.4', 'detect', limit=3)
    assert store.spend('1.2.3.4', 'register', limit=3) == 2 and store.spend('5.6.7.8', 'detect', limit=3) == 2


def test_end_attempt_of_an_erased_user_drops_the_row(store):
    store.enroll('ana', V[0], [V[0]], model='m'); row = store.begin_attempt('ana', 'c')
    assert store.delete('ana')
    with pytest.raises(UnknownUser): store.end_attempt(row, 'match', 0.1)
    assert store.attempts('ana') == []


def test_erasure_removes_every_row(store):
    store.enroll('ana', V[0], [V[0], V[1]], model='m'); log(store, 'ana', 'match', 0.1, 'c')
    assert store.delete('ana') is True and store.delete('ana') is False
    with store._connect() as db:
        counts = [db.execute(f'SELECT COUNT(*) FROM {t}').fetchone()[0] for t in ('users', 'embeddings', 'attempts')]
    assert counts == [0, 0, 0]
    log(store, 'never', 'unknown_user'); assert store.delete('never') is False  # not a member: nothing to erase


def test_bans_flags_and_the_gallery_feed(store):
    c0 = store.changes()
    store.enroll('ana', V[0], [V[0]], model='m'); store.enroll('bo', V[1], [V[1]], model='m'); store.enroll('cy', V[2], [V[2]], model='x')
    g0 = store.gallery_since('m')
    assert [l for _, l, _ in g0['added']] == ['user:ana', 'user:bo'] and g0['removed'] == []
    b = store.ban('bo', note='fake profile')
    g1 = store.gallery_since('m', g0['seq'])
    assert [l for _, l, _ in g1['added']] == [f'ban:{b}'] and g1['removed'] == [g0['added'][1][0]] and np.allclose(g1['added'][0][2], V[1])
    assert store.users() == ['ana', 'cy'] and store.attempts('bo') == [] and store.changes() - c0 == 5
    with pytest.raises(UnknownUser): store.ban('bo')
    keys = [k for k, _, _ in g0['added'] + g1['added']]
    assert {l for l, _ in store.templates(keys).values()} == {'user:ana', f'ban:{b}'} and store.templates([]) == {}
    store.flag('dee', 'banned', f'ban:{b}', 0.05); assert store.flags()[0]['matched'] == f'ban:{b}'
    assert (store.unban(b), store.unban(b)) == (True, False)
    assert [l for _, l, _ in store.gallery_since('m')['added']] == ['user:ana']
    g2 = store.gallery_since('m', g1['seq']); assert g2['removed'] == [g1['added'][0][0]]
    assert store.gallery_since('m', g2['seq']) == dict(seq=g2['seq'], added=[], removed=[])


def test_replacing_an_enrolment_moves_its_gallery_key(store):
    store.enroll('ana', V[0], [V[0]], model='m'); g0 = store.gallery_since('m')
    store.enroll('ana', V[3], [V[3]], model='m', replace=True)
    g1 = store.gallery_since('m', g0['seq'])
    assert g1['removed'] == [g0['added'][0][0]] and [l for _, l, _ in g1['added']] == ['user:ana'] and np.allclose(g1['added'][0][2], V[3])


def test_a_change_on_one_store_object_reaches_another_quickly(store_target):
    "Two store objects on one database (two servers): the second sees the first's enrolment in its change number within a second."
    a, b = open_target(store_target), open_target(store_target)
    before = b.changes(); a.enroll('ana', V[0], [V[0]], model='m')
    deadline = time.time() + 1.0
    while b.changes() == before and time.time() < deadline: time.sleep(0.01)
    assert b.changes() > before
    assert [l for _, l, _ in b.gallery_since('m', before)['added']] == ['user:ana']
    a.close(); b.close()


def test_sqlite_file_is_private(tmp_path):
    Store(tmp_path / 'x' / 'f.db')
    assert oct((tmp_path / 'x' / 'f.db').stat().st_mode & 0o777) == '0o600'


@pytest.mark.parametrize('exact_below', [10_000, 50])  # exact search, and the sketch index
def test_gallery_on_another_server_finds_a_new_enrolment_within_a_second(store_target, exact_below):
    "Server A enrols; server B's gallery (built before, kept current by the change counter / LISTEN-NOTIFY) finds her within 1 s."
    from femverify.search import Gallery, unit
    rng = np.random.default_rng(0)
    x = unit(np.c_[np.ones((120, 1)), rng.standard_normal((120, 127)) * 0.04])
    a, b = open_target(store_target), open_target(store_target)
    for i, t in enumerate(x[:100]): a.enroll(f'u{i}', t, [t], model='m')
    g = Gallery(b, 'm', exact_below=exact_below)
    assert (g.index is None) == (exact_below > 100) and len(g) == 100
    dup = unit(x[110] + rng.standard_normal(128) * 0.003)
    assert g.search(dup)[0][0] != 'user:new'
    a.enroll('new', x[110], [x[110]], model='m'); t0 = time.time()
    while g.search(dup)[0][0] != 'user:new' and time.time() - t0 < 1.0: time.sleep(0.01)
    assert g.search(dup)[0][0] == 'user:new', f'not found within {time.time() - t0:.2f} s'
    a.delete('new'); t0 = time.time()
    while g.search(dup)[0][0] == 'user:new' and time.time() - t0 < 1.0: time.sleep(0.01)
    assert g.search(dup)[0][0] != 'user:new'
    a.close(); b.close()


def test_a_postgresql_outage_is_store_unavailable_and_the_api_says_503(pg_cluster, tmp_path):
    "The database going away is a clear, retryable error: StoreUnavailable in the package, 503 store_unavailable from the API."
    import io
    from femverify.store import StoreUnavailable
    from femverify.testing import temp_postgres
    from api import create_app
    from conftest import HOPPER, make_service
    with temp_postgres() as url:
        s = PgStore(url, timeout=2); s.enroll('ana', V[0], [V[0]], model='m')
    with pytest.raises(StoreUnavailable): s.users()  # the cluster is gone
    svc = make_service(tmp_path); svc.store = s
    r = create_app({'TESTING': True}, service=svc).test_client().post('/api/v1/users/ana/verify', data={'image': (io.BytesIO(HOPPER.read_bytes()), 'p.jpg')})
    assert r.status_code == 503 and r.get_json()['error']['code'] == 'store_unavailable' and r.headers['Retry-After'] == '5', r.get_json()
    assert 'postgresql://' not in r.get_data(as_text=True)
    s.close()


def test_a_store_that_could_not_be_opened_is_tried_again(tmp_path):
    "A worker that started while its database was unreachable does not stay degraded: a later request opens it."
    from femverify.service import ModelUnavailable, UnknownUser
    from conftest import make_service
    blocker = tmp_path / 'var'; blocker.write_text('a file where the folder should be')
    svc = make_service(tmp_path, db_path=blocker / 'f.db')
    assert svc.store is None and 'store' in svc.problems
    with pytest.raises(ModelUnavailable): svc.delete('ana')  # tried again only every 5 s
    blocker.unlink(); svc._store_tried = 0.0  # the database is back, and 5 s have passed
    with pytest.raises(UnknownUser): svc.delete('ana')  # opened: a real answer
    assert svc.store is not None and svc.gallery is not None and 'store' not in svc.problems

"""Both stores under several processes and under SIGKILL: needs real processes, so it lives in pytest."""
import random, signal, subprocess, sys, time
from femverify.store import PgStore
from conftest import ROOT, open_target

WORKER = [sys.executable, str(ROOT / 'tests' / 'store_worker.py')]


def counts(target):
    "{user: embeddings} and the number of orphan embeddings, read through the store's own connection."
    s = open_target(target)
    with s._connect() as db:
        users = {u: 0 for (u,) in db.execute('SELECT id FROM users').fetchall()}
        for u, n in db.execute('SELECT user_id, COUNT(*) FROM embeddings GROUP BY user_id').fetchall(): users[u] = n
        orphans = db.execute('SELECT COUNT(*) FROM embeddings WHERE user_id NOT IN (SELECT id FROM users)').fetchone()[0]
        if not isinstance(s, PgStore): assert db.execute('PRAGMA integrity_check').fetchone()[0] == 'ok'
    s.close()
    return users, orphans


def test_four_processes_enrolling_and_verifying_lose_nothing(store_target):
    open_target(store_target).close()
    procs = [subprocess.Popen(WORKER + [store_target, f'p{i}', '25', '0'], stdout=subprocess.PIPE, text=True) for i in range(4)]
    outs = [p.communicate(timeout=240)[0].split() for p in procs]
    assert [p.returncode for p in procs] == [0] * 4
    users, orphans = counts(store_target)
    assert len(users) == 100 and set(users.values()) == {5} and orphans == 0
    assert sorted(users) == sorted(u for o in outs for u in o)
    s = open_target(store_target)
    assert all(len(s.attempts(u)) == 1 for u in users)
    assert len(s.gallery_since('unknown')['added']) == 100  # every enrolment reached the gallery's feed
    s.close()


def test_sigkill_mid_enrolment_leaves_it_whole_or_absent(store_target):
    open_target(store_target).close()
    rng = random.Random(0)
    for k in range(20):
        p = subprocess.Popen(WORKER + [store_target, f'k{k}', '3', '0.05'], stdout=subprocess.PIPE, text=True)
        time.sleep(rng.uniform(0.5, 1.2))  # start-up takes ~0.4 s; each enrolment then spends ~0.25 s inside its transaction
        p.send_signal(signal.SIGKILL); p.wait(timeout=30)
        users, orphans = counts(store_target)
        assert orphans == 0, f'run {k}: embeddings without a user'
        partial = {u: n for u, n in users.items() if n != 5}
        assert not partial, f'run {k}: partial enrolments {partial}'
    # the kills did land inside transactions at least sometimes: some runs left fewer than 3 users
    users, _ = counts(store_target)
    assert len(users) < 60
    s = open_target(store_target); s.enroll('after', [1.0, 0.0], [], model='m')  # no lock was left held by a killed writer
    s.close()


def _open_at_once(path, barrier, results):
    from femverify.search import Gallery
    from femverify.store import Store
    barrier.wait()
    try: s = Store(path); Gallery(s, 'm'); s.users(); results.put('ok')
    except Exception as e: results.put(repr(e))


def test_workers_opening_a_new_sqlite_file_at_once_all_succeed(tmp_path):
    "gunicorn forks its workers together, and each opens the store: the switch to WAL must not fail any of them (it did, ~4% of opens)."
    import multiprocessing as mp
    ctx, bad = mp.get_context('fork'), []
    for k in range(20):
        barrier, results = ctx.Barrier(6), ctx.Queue()
        ps = [ctx.Process(target=_open_at_once, args=(str(tmp_path / f'{k}.db'), barrier, results)) for _ in range(6)]
        for p in ps: p.start()
        for p in ps: p.join(60)
        bad += [r for r in (results.get(timeout=10) for _ in ps) if r != 'ok']
    assert not bad, bad

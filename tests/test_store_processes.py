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

"""The SQLite store under several processes and under SIGKILL: needs real processes, so it lives in pytest."""
import random, signal, sqlite3, subprocess, sys, time
from femverify.store import Store
from conftest import ROOT

WORKER = [sys.executable, str(ROOT / 'tests' / 'store_worker.py')]


def counts(db):
    with sqlite3.connect(db) as c:
        users = dict(c.execute('SELECT id, 0 FROM users'))
        for u, n in c.execute('SELECT user_id, COUNT(*) FROM embeddings GROUP BY user_id'): users[u] = n
        orphans = c.execute('SELECT COUNT(*) FROM embeddings WHERE user_id NOT IN (SELECT id FROM users)').fetchone()[0]
        assert c.execute('PRAGMA integrity_check').fetchone()[0] == 'ok'
    return users, orphans


def test_four_processes_enrolling_and_verifying_lose_nothing(tmp_path):
    db = tmp_path / 'f.db'; Store(db)
    procs = [subprocess.Popen(WORKER + [str(db), f'p{i}', '25', '0'], stdout=subprocess.PIPE, text=True) for i in range(4)]
    outs = [p.communicate(timeout=240)[0].split() for p in procs]
    assert [p.returncode for p in procs] == [0] * 4
    users, orphans = counts(db)
    assert len(users) == 100 and set(users.values()) == {5} and orphans == 0
    assert sorted(users) == sorted(u for o in outs for u in o)
    s = Store(db)
    assert all(len(s.attempts(u)) == 1 for u in users)


def test_sigkill_mid_enrolment_leaves_it_whole_or_absent(tmp_path):
    db = tmp_path / 'f.db'; Store(db)
    rng = random.Random(0)
    for k in range(20):
        p = subprocess.Popen(WORKER + [str(db), f'k{k}', '3', '0.05'], stdout=subprocess.PIPE, text=True)
        time.sleep(rng.uniform(0.5, 1.2))  # start-up takes ~0.4 s; each enrolment then spends ~0.25 s inside its transaction
        p.send_signal(signal.SIGKILL); p.wait(timeout=30)
        users, orphans = counts(db)
        assert orphans == 0, f'run {k}: embeddings without a user'
        partial = {u: n for u, n in users.items() if n != 5}
        assert not partial, f'run {k}: partial enrolments {partial}'
    # the kills did land inside transactions at least sometimes: some runs left fewer than 3 users
    users, _ = counts(db)
    assert len(users) < 60

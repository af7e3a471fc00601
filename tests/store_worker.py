"""A child process for the store tests (SQLite file or PostgreSQL URL): enrol users (optionally slowly, so a kill lands mid-transaction) and verify them."""
import sys, time
import numpy as np
from femverify.store import open_store
from femverify.verify import template, cosine_distance


def slow(vectors, pause):
    "Yield embeddings one by one with a pause: the store reads them inside its transaction."
    for v in vectors:
        time.sleep(pause); yield v


def main(db, prefix, n_users, pause):
    s = open_store(url=db) if db.startswith('postgresql://') else open_store(db)  # a SQLite file or a PostgreSQL URL
    rng = np.random.default_rng(abs(hash(prefix)) % 2**32)
    for u in range(n_users):
        e = rng.normal(size=(5, 512)).astype(np.float32); e /= np.linalg.norm(e, axis=1, keepdims=True)
        user = f'{prefix}-{u}'
        s.enroll(user, template(e), slow(e, pause), qualities=[1.0] * 5)
        got = s.get(user)  # verify right after: the read must see the whole enrolment
        d = float(cosine_distance(e[0], got['template']))
        s.end_attempt(s.begin_attempt(user, prefix), 'match' if d < 1 else 'different_person', d)
        print(user, flush=True)


if __name__ == '__main__':
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4]))

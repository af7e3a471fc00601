"""Load: 8 concurrent clients x 60 s of mixed /detect and /verify against gunicorn on loopback (bounded in time).

Reports requests/s, p50/p95/p99 latency, errors (any non-200; must be 0) and the server's resident memory
(gunicorn master + workers) sampled during the run. Clients verify enrolled users with their own photos, so no
attempt fails and the rate limiter stays out of the way. Random (seeded) FaceNet weights, no gender detector.
Usage: python benchmarks/load.py [--clients 8] [--seconds 60] [--workers 2]
"""
import argparse, tempfile, threading, time
import numpy as np
from common import Server, http, lfw_photos, percentiles, save

KEY = 'bench-key'


def main(clients=8, seconds=60.0, workers=2):
    photos = [p.read_bytes() for p in lfw_photos(24, seed=4)]
    env = dict(FEMVERIFY_DB_PATH=tempfile.mkdtemp() + '/load.db', FEMVERIFY_FACENET='random', FEMVERIFY_GENDER_CHECK='0',
               FEMVERIFY_API_KEYS=KEY, FEMVERIFY_TORCH_THREADS='1')
    results, rss = [], []
    with Server(env, workers=workers) as s:
        # only photos the registration gate accepts (one clear face) take part
        photos = {f'u{i}': b for i, b in enumerate(photos)
                  if http(s.url + '/users', 'POST', {'user': f'u{i}', 'consent': 'terms-v1'}, [('photos', b)], {'X-API-Key': KEY})[0] == 201}
        names = list(photos)
        stop = time.time() + seconds

        def client(k):
            rng = np.random.default_rng(k); out = []
            while time.time() < stop:
                u = names[int(rng.integers(len(names)))]; route = 'detect' if rng.random() < 0.5 else 'verify'
                url = s.url + ('/detect' if route == 'detect' else f'/users/{u}/verify')
                try: st, _, dt = http(url, 'POST', files=[('image', photos[u])], timeout=60)
                except OSError: st, dt = 0, 0.0
                out.append((route, st, dt, time.time()))
            results.extend(out)

        threads = [threading.Thread(target=client, args=(k,)) for k in range(clients)]
        t0 = time.time()
        for t in threads: t.start()
        while any(t.is_alive() for t in threads):
            rss.append((time.time() - t0, s.rss_mb())); time.sleep(1)
        for t in threads: t.join()
        elapsed = time.time() - t0
    lat = [r[2] for r in results if r[1] == 200]
    errors = [r for r in results if r[1] != 200]
    res = dict(clients=clients, seconds=seconds, workers=workers, enrolled_users=len(names), torch_threads_per_worker=1, requests=len(results), errors=len(errors),
               error_statuses=sorted({r[1] for r in errors}), requests_per_s=len(results) / elapsed, latency_ms=percentiles(lat, (50, 95, 99)),
               by_route={r: dict(n=sum(1 for x in results if x[0] == r), **percentiles([x[2] for x in results if x[0] == r and x[1] == 200], (50, 95, 99))) for r in ('detect', 'verify')},
               server_rss_mb=dict(max=max(m for _, m in rss), last=rss[-1][1]))
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(1, 2, figsize=(11, 3.5))
    ax[0].hist(np.array(lat) * 1000, bins=50, color='#8e5bb5'); ax[0].set(xlabel='ms', title=f"{res['requests_per_s']:.1f} req/s, {len(errors)} errors")
    ax[1].plot(*zip(*rss)); ax[1].set(xlabel='s', ylabel='MB', title='server RSS (master + workers)')
    return save('load', res, fig), res


if __name__ == '__main__':
    a = argparse.ArgumentParser(); a.add_argument('--clients', type=int, default=8); a.add_argument('--seconds', type=float, default=60)
    a.add_argument('--workers', type=int, default=2)
    p, res = main(**vars(a.parse_args()))
    import json; print(json.dumps(res, indent=1, default=float)); print(p)

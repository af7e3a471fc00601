"""Can a few clients take the service down? /health and a member's /verify while others flood and dribble.

gunicorn as `make serve` runs it (2 gthread workers × 4 threads, torch 1 thread each), default femverify settings, dlib.
Phase 1, unloaded: a prober GETs /health every 0.2 s and a member verifies herself, one request after another.
Phase 2, the same for the same time while 4 clients flood /detect with 40 MP photos (new request as soon as one
answers) and 2 connections send a body one byte every 2 s. Reports /health p50/p99, the member's /verify p50/p90,
and what the flooders got (status counts: 429 is the per-client budget, 503 `busy` the model-slot bound). Bounded
in time and count; loopback only. Writes results/abuse_load.json and .png; asserts nothing.
Usage: python benchmarks/abuse_load.py [--seconds 30] [--budget 100000] [--decode-flood]
--decode-flood: 6 clients flood 40 MP PNGs and scan-bomb JPEGs instead, and worker memory is read before, at the end and 30 s after.
"""
import argparse, io, socket, tempfile, threading, time
from collections import Counter
import numpy as np
from PIL import Image
from common import Server, http, lfw_photos, percentiles, save

KEY = 'bench-key'


def big_photo() -> bytes:
    "A JPEG just under the 40 MP cap (7300 x 5470, a smooth gradient: small file, full decode cost)."
    a = np.linspace(0, 255, 7300, dtype=np.uint8)[None, :, None].repeat(5470, 0).repeat(3, 2)
    b = io.BytesIO(); Image.fromarray(a).save(b, 'JPEG', quality=70); return b.getvalue()


def png_bomb() -> bytes:
    "A 40 MP PNG of one colour: ~120 KB that would take seconds and ~120 MB to decode in full."
    b = io.BytesIO(); Image.new('RGB', (7300, 5470), (120, 120, 120)).save(b, 'PNG'); return b.getvalue()


def scan_bomb() -> bytes:
    "A progressive JPEG padded with 17,000 extra SOS markers (in comment segments): what the scan counter sees of a scan bomb."
    a = np.random.default_rng(0).integers(0, 255, (480, 640, 3), dtype=np.uint8)
    b = io.BytesIO(); Image.fromarray(a).save(b, 'JPEG', progressive=True); j = b.getvalue()
    return j[:2] + b''.join(b'\xff\xfe\x00\x04\xff\xda' for _ in range(17_000)) + j[2:]


def slow_body(port, stop):
    "One connection that announces a 1 MB body and sends one byte every 2 s until `stop`."
    try:
        s = socket.create_connection(('127.0.0.1', port), timeout=5)
        s.sendall('POST /api/v1/detect HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary=b\r\nContent-Length: 1000000\r\n\r\n'.encode())
        while time.time() < stop: s.sendall(b'x'); time.sleep(2)
        s.close()
    except OSError: pass


def phase(s, port, seconds, member, flood, decode_flood=False):
    "Health and verify latencies (and the flooders' statuses) over `seconds`, with or without the flood."
    stop, health, verify, flooded = time.time() + seconds, [], [], Counter()
    def prober():
        while time.time() < stop:
            t = time.perf_counter()
            try: http(s.url + '/health', timeout=30); health.append(time.perf_counter() - t)
            except OSError: health.append(30.0)
            time.sleep(0.2)
    def member_loop():
        while time.time() < stop:
            st, _, dt = http(s.url + '/users/grace/verify', 'POST', files=[('image', member)], timeout=60)
            if st == 200: verify.append(dt)
    def flooder(photo):
        n = 0
        while time.time() < stop and n < 500:
            try: flooded[http(s.url + '/detect', 'POST', files=[('image', photo)], timeout=60)[0]] += 1
            except OSError: flooded['error'] += 1
            n += 1
    threads = [threading.Thread(target=prober), threading.Thread(target=member_loop)]
    if flood and decode_flood: threads += [threading.Thread(target=flooder, args=(p,)) for p in (png_bomb(), scan_bomb()) for _ in range(3)]
    elif flood: threads += [threading.Thread(target=flooder, args=(flood,)) for _ in range(4)] + [threading.Thread(target=slow_body, args=(port, stop)) for _ in range(2)]
    for t in threads: t.start()
    for t in threads: t.join(timeout=seconds + 90)
    return dict(health=dict(n=len(health), **percentiles(health, (50, 99))), verify=dict(n=len(verify), **percentiles(verify, (50, 90))), flood_statuses=dict(flooded))


def main(seconds=30.0, budget=None, decode_flood=False):
    member = lfw_photos(1, seed=5)[0].read_bytes()
    env = dict(FEMVERIFY_DB_PATH=tempfile.mkdtemp() + '/abuse.db', FEMVERIFY_EMBEDDER='dlib', FEMVERIFY_GENDER_CHECK='0', FEMVERIFY_API_KEYS=KEY, FEMVERIFY_TORCH_THREADS='1')
    if budget: env['FEMVERIFY_REQUEST_BUDGET'] = str(budget)  # lift the per-client budget to load the models themselves
    with Server(env, workers=2, threads=4) as s:
        assert http(s.url + '/users', 'POST', {'user': 'grace', 'consent': 'terms-v1'}, [('photos', member)], {'X-API-Key': KEY})[0] == 201
        port = int(s.url.split(':')[2].split('/')[0])
        calm = phase(s, port, seconds, member, None); rss_before = s.rss_each()
        loaded = phase(s, port, seconds, member, big_photo(), decode_flood); rss_peak = s.rss_each()
        time.sleep(30); rss_after = s.rss_each()
    res = dict(seconds=seconds, server='gunicorn 2 gthread workers x 4 threads, torch 1 thread, dlib', request_budget=budget or 'default (60 a minute per client)', unloaded=calm, loaded=loaded,
               flood='6 clients: 3 sending 40 MP PNGs, 3 scan-bomb JPEGs' if decode_flood else '4 clients sending 40 MP JPEGs, 2 slow bodies',
               rss_mb=dict(before=rss_before, end_of_flood=rss_peak, after_30s=rss_after),  # per process
               health_p99_loaded_ms=loaded['health']['p99'], verify_p50_ratio=loaded['verify']['p50'] / calm['verify']['p50'])
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(8, 3.2)); keys = [('health', 'p50'), ('health', 'p99'), ('verify', 'p50'), ('verify', 'p90')]
    x = np.arange(len(keys)); ax.bar(x - 0.2, [calm[a][b] for a, b in keys], 0.4, label='unloaded'); ax.bar(x + 0.2, [loaded[a][b] for a, b in keys], 0.4, label='flood + slow bodies')
    ax.set(xticks=x, xticklabels=[f'{a} {b}' for a, b in keys], ylabel='ms', yscale='log', title=f"floods got {loaded['flood_statuses']}"); ax.legend(); fig.tight_layout()
    return save('abuse_load' + ('-decode' if decode_flood else '') + ('-no-budget' if budget else ''), res, fig), res


if __name__ == '__main__':
    a = argparse.ArgumentParser(); a.add_argument('--seconds', type=float, default=30)
    a.add_argument('--budget', type=int, help='per-client request budget (default: femverify\'s); a large one loads the models')
    a.add_argument('--decode-flood', action='store_true', help='flood with 40 MP PNGs and scan-bomb JPEGs instead'); a = a.parse_args()
    p, r = main(a.seconds, a.budget, a.decode_flood)
    import json; print(json.dumps(r, indent=1, default=float)); print(p)

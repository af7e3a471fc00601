"""/verify latency side by side, in one run on the same >= 2 MP photos: femverify with dlib, femverify with FaceNet, and
face_recognition's own detect + encode.

- femverify: gunicorn (1 worker, torch 2 threads) on loopback, requests one at a time; the server's own timings say
  where the time goes (decode, face finding + embedding, store), the rest is HTTP, multipart parsing and JSON.
  `dlib`: dlib's packaged ResNet (the weights every machine has). `facenet`: random (seeded) weights, since VGGFace2's
  can't be downloaded here; its latency does not depend on the weights' values.
- face_recognition 1.3 (for this benchmark only, not a dependency: `pip install --no-deps --target runs/peers
  face-recognition`, kept outside the venv so that `pip check` stays clean; it runs on the venv's dlib): `face_locations` (HOG, its default) + `face_encodings` (the same dlib network), in-process, no HTTP.
  In-process favours the peer: femverify's figures include HTTP.
Writes results/verify_latency.json and .png; asserts nothing. Usage: python benchmarks/verify_latency.py [--n 30]
"""
import argparse, tempfile, time
from pathlib import Path
import numpy as np
from femverify.core import load_image
from common import Server, http, jpeg_bytes, lfw_photos, percentiles, save, threads, two_megapixel

KEY = 'bench-key'


def femverify_times(blobs, embedder):
    "Register one member, then time /verify of every 2 MP photo against her (the work does not depend on who matches)."
    env = dict(FEMVERIFY_DB_PATH=tempfile.mkdtemp() + '/bench.db', FEMVERIFY_EMBEDDER=embedder, FEMVERIFY_FACENET='random',
               FEMVERIFY_GENDER_CHECK='0', FEMVERIFY_API_KEYS=KEY, FEMVERIFY_TORCH_THREADS='2', FEMVERIFY_RATE_LIMIT='1000000')
    wall, server, model = [], [], None
    with Server(env, workers=1) as s:
        model = http(s.url + '/health')[1]['models']['embedder']['model']
        assert http(s.url + '/users', 'POST', {'user': 'u0'}, [('photos', blobs[0][0])], {'X-API-Key': KEY})[0] == 201
        http(s.url + '/users/u0/verify', 'POST', files=[('image', blobs[0][1])])  # warm-up
        for small, big in blobs:
            st, body, dt = http(s.url + '/users/u0/verify', 'POST', files=[('image', big)])
            if st == 200: wall.append(dt); server.append(body['timings_ms'])
    return dict(model=model, n=len(wall), **percentiles(wall, (50, 90)), server_median_ms={k: float(np.median([t[k] for t in server])) for k in server[0]})


def face_recognition_times(bigs):
    "face_recognition's detect (HOG, upsample 1) + encode on each decoded photo, in-process; with the split."
    import sys; sys.path.insert(0, str(Path(__file__).resolve().parent.parent / 'runs' / 'peers'))
    import face_recognition as fr
    det, enc, wall = [], [], []
    fr.face_encodings(np.asarray(load_image(bigs[0])))  # warm-up
    for b in bigs:
        t0 = time.perf_counter(); a = np.asarray(load_image(b)); locs = fr.face_locations(a)
        t1 = time.perf_counter(); fr.face_encodings(a, locs); t2 = time.perf_counter()
        det.append(t1 - t0); enc.append(t2 - t1); wall.append(t2 - t0)
    return dict(model='face_recognition 1.3 (HOG + dlib resnet v1)', n=len(wall), **percentiles(wall, (50, 90)),
                split_median_ms=dict(decode_and_detect=float(np.median(det) * 1000), encode=float(np.median(enc) * 1000)))


def main(n=30):
    threads(2)
    lfw = [p.read_bytes() for p in lfw_photos(n, seed=3)]
    blobs = [(b, jpeg_bytes(two_megapixel(load_image(b)))) for b in lfw]
    res = dict(photos=f'{n} LFW photos enlarged into 1920x1080 (2.1 MP) JPEGs (benchmarks/common.py two_megapixel)',
               femverify_dlib=femverify_times(blobs, 'dlib'), femverify_facenet=femverify_times(blobs, 'facenet'),
               face_recognition=face_recognition_times([b for _, b in blobs]))
    res['dlib_p50_vs_face_recognition'] = res['femverify_dlib']['p50'] / res['face_recognition']['p50']
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(9, 3.2)); keys = ['femverify_dlib', 'femverify_facenet', 'face_recognition']
    for j, k in enumerate(keys):
        r = res[k]; ax.barh(j, r['p50'], color='#8e5bb5'); ax.plot([r['p90']], [j], 'k|', ms=18)
        ax.text(r['p50'], j, f" p50 {r['p50']:.0f} ms, p90 {r['p90']:.0f} ms", va='center', fontsize=8)
    ax.set(yticks=range(3), yticklabels=[f"{k}\n({res[k]['model'][:34]})" for k in keys], xlabel='ms per /verify on a 2 MP photo (bar p50, tick p90)')
    ax.set_title(f"femverify dlib p50 = {res['dlib_p50_vs_face_recognition']:.2f} × face_recognition's"); fig.tight_layout()
    return save('verify_latency', res, fig), res


if __name__ == '__main__':
    a = argparse.ArgumentParser(); a.add_argument('--n', type=int, default=30)
    p, r = main(**vars(a.parse_args()))
    for k in ('femverify_dlib', 'femverify_facenet', 'face_recognition'): print(k, {x: r[k][x] for x in ('p50', 'p90', 'n')}, r[k].get('server_median_ms', r[k].get('split_median_ms')))
    print(r['dlib_p50_vs_face_recognition'], p)

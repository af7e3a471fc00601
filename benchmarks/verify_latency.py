"""/verify latency side by side, in one run on the same photos: femverify with dlib's network in PyTorch (the
default), femverify with dlib-bin's own loops (FEMVERIFY_DLIB_BACKEND=dlib), and face_recognition's detect + encode.

- Photos: LFW photos enlarged into 1920x1080 (2.1 MP) JPEGs (benchmarks/common.py two_megapixel: no real >= 2 MP
  photos are in ../shared/data), and UTKFace (200x200) and LFW (250x250) photos at their own sizes.
- femverify: gunicorn (1 worker, torch 2 threads) on loopback, requests one at a time; the server's timings say where
  the time goes (decode, face finding + embedding, store); the rest is HTTP, multipart parsing and JSON.
- The split inside "face finding + embedding" is measured in-process on the same photos: MTCNN, landmarks + chip,
  descriptors (photo + mirror).
- face_recognition 1.3 (for this benchmark only, not a dependency: `pip install --no-deps --target runs/peers
  face-recognition`, kept outside the venv so that `pip check` stays clean; it runs on the venv's dlib):
  `face_locations` (HOG, its default) + `face_encodings` (the same dlib network, dlib's loops), in-process, no
  HTTP. In-process favours the peer: femverify's figures include HTTP.
Writes results/verify_latency.json and .png; asserts nothing. Usage: python benchmarks/verify_latency.py [--n 30]
"""
import argparse, tempfile, time
from pathlib import Path
import numpy as np
from femverify.core import load_image
from common import Server, data_dir, http, jpeg_bytes, lfw_photos, percentiles, save, threads, two_megapixel

KEY = 'bench-key'
BACKENDS = ('torch', 'dlib')


def femverify_times(sets, backend):
    "Register one member, then time /verify of every photo of every set against her (the work doesn't depend on who matches)."
    env = dict(FEMVERIFY_DB_PATH=tempfile.mkdtemp() + '/bench.db', FEMVERIFY_EMBEDDER='dlib', FEMVERIFY_DLIB_BACKEND=backend,
               FEMVERIFY_GENDER_CHECK='0', FEMVERIFY_API_KEYS=KEY, FEMVERIFY_TORCH_THREADS='2', FEMVERIFY_RATE_LIMIT='1000000')
    out = {}
    with Server(env, workers=1) as s:
        emb = http(s.url + '/health')[1]['models']['embedder']
        first = next(iter(sets.values()))[0]
        assert http(s.url + '/users', 'POST', {'user': 'u0'}, [('photos', first)], {'X-API-Key': KEY})[0] == 201
        http(s.url + '/users/u0/verify', 'POST', files=[('image', first)])  # warm-up
        for name, blobs in sets.items():
            wall, server = [], []
            for b in blobs:
                st, body, dt = http(s.url + '/users/u0/verify', 'POST', files=[('image', b)])
                if st == 200 and body.get('reason') in ('ok', 'different_person'): wall.append(dt); server.append(body['timings_ms'])
            out[name] = dict(n=len(wall), **percentiles(wall, (50, 90)), server_median_ms={k: float(np.median([t[k] for t in server])) for k in server[0]})
    return dict(model=f"{emb['model']} ({emb.get('backend')})", sets=out)


def split_times(blobs, backend):
    "In-process: decode, MTCNN, landmarks + chip, descriptors for each photo (the service's own path, timed by parts)."
    from femverify.verify import Dlib
    dl = Dlib(backend=backend, detect_side=640)
    parts = {k: [] for k in ('decode', 'mtcnn', 'landmarks_chip', 'descriptors')}
    dl.descriptors(dl.chips([load_image(blobs[0])], [dl.finder([load_image(blobs[0])])[0].boxes[0]]))  # warm-up
    for b in blobs:
        t0 = time.perf_counter(); im = load_image(b); t1 = time.perf_counter(); f = dl.finder([im])[0]; t2 = time.perf_counter()
        if not len(f): continue
        c = dl.chips([im], [f.boxes[0]]); t3 = time.perf_counter(); dl.descriptors(c); t4 = time.perf_counter()
        for k, dt in zip(parts, (t1 - t0, t2 - t1, t3 - t2, t4 - t3)): parts[k].append(dt * 1000)
    return {k: float(np.median(v)) for k, v in parts.items()}


def face_recognition_times(blobs):
    "face_recognition's detect (HOG, upsample 1) + encode on each decoded photo, in-process; with the split."
    import sys; sys.path.insert(0, str(Path(__file__).resolve().parent.parent / 'runs' / 'peers'))
    import face_recognition as fr
    det, enc, wall = [], [], []
    fr.face_encodings(np.asarray(load_image(blobs[0])))  # warm-up
    for b in blobs:
        t0 = time.perf_counter(); a = np.asarray(load_image(b)); locs = fr.face_locations(a)
        t1 = time.perf_counter(); fr.face_encodings(a, locs); t2 = time.perf_counter()
        det.append(t1 - t0); enc.append(t2 - t1); wall.append(t2 - t0)
    return dict(n=len(wall), **percentiles(wall, (50, 90)),
                split_median_ms=dict(decode_and_detect=float(np.median(det) * 1000), encode=float(np.median(enc) * 1000)))


def photo_sets(n):
    lfw = [p.read_bytes() for p in lfw_photos(n, seed=3)]
    utk = sorted((data_dir() / 'utkface').glob('*.jpg'))
    utk = [utk[i].read_bytes() for i in np.random.default_rng(3).choice(len(utk), n, replace=False)]
    return {'2.1 MP (LFW enlarged)': [jpeg_bytes(two_megapixel(load_image(b))) for b in lfw], 'UTKFace 200x200': utk, 'LFW 250x250': lfw}


def main(n=30):
    threads(2)
    sets = photo_sets(n)
    res = dict(photos={k: len(v) for k, v in sets.items()}, note='LFW enlarged into 1920x1080 JPEGs; UTKFace and LFW at their own sizes')
    for b in BACKENDS:
        res[f'femverify_{b}'] = femverify_times(sets, b)
        res[f'femverify_{b}']['split_median_ms'] = {k: split_times(v, b) for k, v in sets.items()}
    res['face_recognition'] = dict(model='face_recognition 1.3 (HOG + dlib resnet v1, dlib loops)', sets={k: face_recognition_times(v) for k, v in sets.items()})
    res['p50_vs_face_recognition'] = {b: {k: res[f'femverify_{b}']['sets'][k]['p50'] / res['face_recognition']['sets'][k]['p50'] for k in sets} for b in BACKENDS}
    return save('verify_latency', res, plot(res, list(sets))), res


def plot(res, names):
    import matplotlib.pyplot as plt
    keys = [f'femverify_{b}' for b in BACKENDS] + ['face_recognition']
    fig, axs = plt.subplots(1, len(names), figsize=(5 * len(names), 3.4), sharey=True)
    for ax, name in zip(axs, names):
        for j, k in enumerate(keys):
            r = res[k]['sets'][name]; ax.barh(j, r['p50'], color=['#8e5bb5', '#b58e5b', '#5b8eb5'][j]); ax.plot([r['p90']], [j], 'k|', ms=18)
            ax.text(r['p50'], j, f" {r['p50']:.0f} / {r['p90']:.0f} ms", va='center', fontsize=8)
        ratio = res['p50_vs_face_recognition']['torch'][name]
        ax.set(title=f'{name}: torch p50 = {ratio:.2f}× face_recognition', xlabel='ms per verify (bar p50, tick p90)')
        ax.title.set_fontsize(9)
    axs[0].set(yticks=range(3), yticklabels=['femverify, dlib net\nin PyTorch', "femverify, dlib-bin's\nloops", 'face_recognition\n(HOG + encode)'])
    fig.tight_layout()
    return fig


if __name__ == '__main__':
    a = argparse.ArgumentParser(); a.add_argument('--n', type=int, default=30)
    p, r = main(**vars(a.parse_args()))
    import json; print(json.dumps({k: r[k] for k in r if k != 'photos'}, indent=1, default=float)); print(p)

"""/verify and /detect latency side by side, in one run on the same photos: femverify with the new face finder
(BlazeFace, then MTCNN at the pyramid levels BlazeFace's faces call for: FEMVERIFY_FACE_FINDER=blazeface+mtcnn, the
default), femverify with the old one (MTCNN on the whole photo: FEMVERIFY_FACE_FINDER=mtcnn), and face_recognition's
detect + encode.

- Photos: LFW photos enlarged into 1920x1080 (2.1 MP) JPEGs (common.two_megapixel: no real >= 1 MP portraits are in
  ../shared/data), dlib's 12 group photos at their own sizes (0.1-0.5 MP), UTKFace (200x200) and LFW (250x250).
- femverify: gunicorn (1 worker, torch 2 threads) on loopback, requests one at a time with the app's key; dlib's
  network in PyTorch for the descriptors, the shipped gender detector and head for /detect. The server's own timings
  say where the time goes; the rest is HTTP, multipart parsing and JSON.
- The split is measured in-process on the same photos: decode, BlazeFace, MTCNN, landmarks + chip, descriptors.
- A burst: 15 frames of 640x480 (an LFW photo enlarged, 15 copies, JPEG) through every check of a live answer
  in-process: decode, face finding + descriptors (`Embedder.analyse`), `check_frames`, the gender of the 3 kept.
- face_recognition 1.3 (for this benchmark only, not a dependency: `pip install --no-deps --target runs/peers
  face-recognition`; it runs on the venv's dlib): `face_locations` (HOG, its default) + `face_encodings` (the same
  dlib network, dlib's loops), in-process, no HTTP. In-process favours the peer: femverify's figures include HTTP.
Writes results/verify_latency.json and .png; asserts nothing. Usage: python benchmarks/verify_latency.py [--n 30]
"""
import argparse, tempfile, time
from pathlib import Path
import numpy as np
from femverify.core import Config, load_image
from common import Server, data_dir, http, jpeg_bytes, lfw_photos, percentiles, save, threads, two_megapixel

KEY = 'bench-key'
FINDERS = ('blazeface+mtcnn', 'mtcnn')


def femverify_times(sets, finder):
    "Register one member, then time /verify and /detect of every photo of every set (the work doesn't depend on who matches)."
    env = dict(FEMVERIFY_DB_PATH=tempfile.mkdtemp() + '/bench.db', FEMVERIFY_EMBEDDER='dlib', FEMVERIFY_FACE_FINDER=finder,
               FEMVERIFY_API_KEYS=KEY, FEMVERIFY_TORCH_THREADS='2', FEMVERIFY_RATE_LIMIT='1000000', FEMVERIFY_LIVENESS='off',
               FEMVERIFY_REQUEST_BUDGET='1000000', FEMVERIFY_GENDER_CHECK='0')
    out, key = {}, {'X-API-Key': KEY}
    with Server(env, workers=1) as s:
        h = http(s.url + '/health', headers=key)[1]['models']
        first = next(iter(sets.values()))[0]
        assert http(s.url + '/users', 'POST', {'user': 'u0', 'consent': 'bench'}, [('photos', first)], key)[0] == 201
        for route in ('verify', 'detect'):
            url = s.url + ('/users/u0/verify' if route == 'verify' else '/detect')
            http(url, 'POST', files=[('image', first)], headers=key)  # warm-up
            for name, blobs in sets.items():
                wall, server = [], []
                for b in blobs:
                    st, body, dt = http(url, 'POST', files=[('image', b)], headers=key)
                    if st == 200: wall.append(dt), server.append(body['timings_ms'])
                keys = sorted({k for t in server for k in t})  # a photo refused by the gate has no store time
                out.setdefault(route, {})[name] = dict(n=len(wall), **percentiles(wall, (50, 90)),
                                                       server_median_ms={k: float(np.median([t[k] for t in server if k in t])) for k in keys})
    return dict(face_finder=h['face_finder']['weights'], embedder=h['embedder']['model'], **out)


def split_times(blobs, finder):
    "In-process: decode, BlazeFace, the finder in all, landmarks + chip, descriptors for each photo (the service's own parts)."
    from femverify.service import FaceService
    from femverify.store import new_key
    svc = FaceService(Config(embedder='dlib', face_finder=finder, template_key=new_key(), db_path=Path(tempfile.mkdtemp()) / 'x.db',
                             gender_check=False, liveness='off'))
    dl, f = svc.embedder, svc.finder
    parts = {k: [] for k in ('decode', 'blazeface', 'finder', 'landmarks_chip', 'descriptors')}
    im0 = load_image(blobs[0]); dl.descriptors(dl.chips([im0], [f([im0])[0].boxes[0]]))  # warm-up
    for b in blobs:
        t0 = time.perf_counter(); im = load_image(b); t1 = time.perf_counter()
        if hasattr(f, 'blaze'):
            from femverify.blazeface import detect
            detect(f.blaze, [f._resized(im)[0]])
        t2 = time.perf_counter(); faces = f([im])[0]; t3 = time.perf_counter()
        if not len(faces): continue
        c = dl.chips([im], [faces.boxes[0]]); t4 = time.perf_counter(); dl.descriptors(c); t5 = time.perf_counter()
        for k, dt in zip(parts, (t1 - t0, t2 - t1, t3 - t2, t4 - t3, t5 - t4)): parts[k].append(dt * 1000)
    return {k: float(np.median(v)) for k, v in parts.items()}


def burst_times(frames, finder, repeats=5):
    "15 frames through every check of a live answer, in-process: decode, analyse, check_frames, the gender of 3; median ms."
    from femverify.service import FaceService
    from femverify.store import new_key
    from femverify.liveness import check_frames, thumbnail
    svc = FaceService(Config(embedder='dlib', face_finder=finder, template_key=new_key(), db_path=Path(tempfile.mkdtemp()) / 'x.db'))
    ts = {k: [] for k in ('decode', 'analyse', 'check_frames', 'gender', 'total')}
    for r in range(repeats + 1):
        t0 = time.perf_counter(); ims = [svc._load(b) for b in frames]; t1 = time.perf_counter()
        rows = svc.embedder.analyse(ims, svc.config); t2 = time.perf_counter()
        check_frames(rows, [thumbnail(im) for im in ims], ('left', 'up'), svc.liveness, *svc._same_person()); t3 = time.perf_counter()
        ok = [i for i, x in enumerate(rows) if x['reason'] == 'ok'][:3]
        svc._gendered([rows[i] for i in ok], [ims[i] for i in ok]); t4 = time.perf_counter()
        if r: [ts[k].append(v * 1000) for k, v in zip(ts, (t1 - t0, t2 - t1, t3 - t2, t4 - t3, t4 - t0))]  # the first run warms up
    return dict({k: float(np.median(v)) for k, v in ts.items()}, repeats=repeats, usable=sum(x['reason'] == 'ok' for x in rows))


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
    groups = [p.read_bytes() for p in sorted((data_dir() / 'dlib_faces').glob('*.jpg'))]
    return {'2.1 MP (LFW enlarged)': [jpeg_bytes(two_megapixel(load_image(b))) for b in lfw], 'group photos (own sizes)': groups,
            'UTKFace 200x200': utk, 'LFW 250x250': lfw}


def main(n=30):
    threads(2)
    sets = photo_sets(n)
    burst = [jpeg_bytes(load_image(lfw_photos(1, seed=4)[0].read_bytes()).resize((480, 480)).crop((-80, 0, 560, 480)), 85)] * 15
    res = dict(photos={k: len(v) for k, v in sets.items()}, note='LFW enlarged into 1920x1080 JPEGs; the rest at their own sizes')
    for f in FINDERS:
        res[f] = femverify_times(sets, f)
        res[f]['split_median_ms'] = {k: split_times(v, f) for k, v in sets.items()}
        res[f]['burst_15_frames_ms'] = burst_times(burst, f)
    res['face_recognition'] = dict(model='face_recognition 1.3 (HOG + dlib resnet v1, dlib loops)', sets={k: face_recognition_times(v) for k, v in sets.items()})
    fr = res['face_recognition']['sets']
    res['p50_vs_face_recognition'] = {f: {r: {k: res[f][r][k]['p50'] / fr[k]['p50'] for k in sets} for r in ('verify', 'detect')} for f in FINDERS}
    return save('verify_latency', res, plot(res, list(sets))), res


def plot(res, names):
    import matplotlib.pyplot as plt
    rows = [(f, r) for f in FINDERS for r in ('verify', 'detect')]
    fig, axs = plt.subplots(1, len(names), figsize=(4.6 * len(names), 3.8), sharey=True)
    for ax, name in zip(axs, names):
        for j, (f, r) in enumerate(rows):
            x = res[f][r][name]
            ax.barh(j, x['p50'], color=['#8e5bb5', '#c9a8e0', '#b58e5b', '#e0c9a8'][j]); ax.plot([x['p90']], [j], 'k|', ms=14)
            ax.text(x['p50'], j, f" {x['p50']:.0f} / {x['p90']:.0f} ms ({res['p50_vs_face_recognition'][f][r][name]:.2f}×)", va='center', fontsize=7)
        x = res['face_recognition']['sets'][name]
        ax.barh(len(rows), x['p50'], color='#5b8eb5'); ax.plot([x['p90']], [len(rows)], 'k|', ms=14)
        ax.text(x['p50'], len(rows), f" {x['p50']:.0f} / {x['p90']:.0f} ms", va='center', fontsize=7)
        ax.set(title=name, xlabel='ms (bar p50, tick p90)'); ax.title.set_fontsize(9)
    axs[0].set(yticks=range(len(rows) + 1), yticklabels=[f'{r} · {f}' for f, r in rows] + ['face_recognition\n(HOG + encode)'])
    fig.suptitle('femverify /verify and /detect (HTTP, 1 worker) vs face_recognition (in-process); ratio = p50 / face_recognition p50', fontsize=9)
    fig.tight_layout()
    return fig


if __name__ == '__main__':
    a = argparse.ArgumentParser(); a.add_argument('--n', type=int, default=30)
    p, r = main(**vars(a.parse_args()))
    import json; print(json.dumps({k: r[k] for k in r if k != 'photos'}, indent=1, default=float)); print(p)

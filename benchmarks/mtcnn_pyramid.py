"""MTCNN's smallest pyramid scales against the gate: does a larger `min_face_size` change any gate verdict, and what
does it save? The gate refuses faces under `min_face` (40 px) and ignores faces under 0.3x the main one's area, so the
scales that look for 20-39 px faces may be wasted work.

For min_face_size 20 (the default), 30 and 40 (in detection pixels: photos are downscaled to 640 px first): the gate's
reason for every photo of seeded LFW and UTKFace samples and of the 12 dlib group photos (several faces each), the
share of verdicts equal to min_face_size 20's, and the median MTCNN time per photo (2 threads, one photo at a time, as
/verify runs it). Writes results/mtcnn_pyramid.json and .png; asserts nothing. Usage: python benchmarks/mtcnn_pyramid.py [--n 200]
"""
import argparse, time
import numpy as np
from femverify.core import Config, load_image
from femverify.gate import FaceFinder, judge
from common import data_dir, lfw_photos, save, threads

SIZES = (20, 30, 40)


def photo_sets(n):
    utk = sorted((data_dir() / 'utkface').glob('*.jpg'))
    return {'LFW': [load_image(p) for p in lfw_photos(n, seed=7)],
            'UTKFace': [load_image(utk[i]) for i in np.random.default_rng(7).choice(len(utk), n, replace=False)],
            'group photos': [load_image(p) for p in sorted((data_dir() / 'dlib_faces').glob('*.jpg'))]}


def main(n=200):
    threads(2)
    sets, cfg, res = photo_sets(n), Config(), {}
    finders = {s: FaceFinder(min_face_size=s, max_side=640) for s in SIZES}
    for name, ims in sets.items():
        finders[20]([ims[0]])  # warm-up
        verdicts, times = {}, {}
        for s, f in finders.items():
            v, t = [], []
            for im in ims:
                t0 = time.perf_counter(); faces = f([im])[0]; t.append(time.perf_counter() - t0); v.append(judge(faces, im, cfg)['reason'])
            verdicts[s], times[s] = v, float(np.median(t) * 1000)
        res[name] = {str(s): dict(mtcnn_ms_p50=times[s], same_verdict_as_20=float(np.mean([a == b for a, b in zip(verdicts[s], verdicts[20])])),
                                  reasons={r: verdicts[s].count(r) for r in sorted(set(verdicts[s]))}) for s in SIZES}
        res[name]['photos'] = len(ims)
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(1, 2, figsize=(11, 3.4))
    for name in sets:
        ax[0].plot(SIZES, [res[name][str(s)]['mtcnn_ms_p50'] for s in SIZES], 'o-', label=name)
        ax[1].plot(SIZES, [100 * res[name][str(s)]['same_verdict_as_20'] for s in SIZES], 'o-', label=name)
    ax[0].set(xlabel='MTCNN min_face_size (px, after downscaling to 640)', ylabel='ms per photo (p50)'); ax[0].legend()
    ax[1].set(xlabel='MTCNN min_face_size', ylabel='% gate verdicts equal to size 20', ylim=(80, 101)); fig.tight_layout()
    return save('mtcnn_pyramid', res, fig), res


if __name__ == '__main__':
    a = argparse.ArgumentParser(); a.add_argument('--n', type=int, default=200)
    p, r = main(**vars(a.parse_args()))
    import json; print(json.dumps(r, indent=1)); print(p)

"""Batched vs one-at-a-time MTCNN on the same 500 LFW photos, 2 threads (JSON + PNG in results/).

'one at a time' is facenet-pytorch's MTCNN as shipped, one photo per call. Each variant annotates all photos `--repeats` times, interleaved (A B C A B C ...) so machine noise hits
all alike; reported: median photos/s. Also measured: what else was tried for speed (channels-last
memory, a larger MTCNN min_face_size) and whether the faces found stay the same as one-at-a-time.
Usage: python benchmarks/annotate.py [--n 500] [--repeats 3]
"""
import argparse, time
import numpy as np
from femverify.core import load_image
from femverify.gate import FaceFinder
from common import lfw_photos, save, threads


def run(finder, ims, batch_size):
    t = time.perf_counter(); faces = finder(ims, batch_size=batch_size); return time.perf_counter() - t, faces


def main(n=500, repeats=3):
    threads(2)
    ims = [load_image(p) for p in lfw_photos(n)]
    base = FaceFinder(channels_last=False)  # MTCNN as facenet-pytorch ships it
    big = FaceFinder(min_face_size=40, channels_last=False)
    cl = FaceFinder(channels_last=True)     # femverify's default (with batch 16)
    variants = {'one at a time': (base, 1), 'batch 8': (base, 8), 'batch 16': (base, 16), 'batch 32': (base, 32),
                'one at a time, channels-last': (cl, 1), 'batch 8, channels-last': (cl, 8), 'batch 16, channels-last': (cl, 16),
                'batch 16, min_face_size 40': (big, 16)}
    run(base, ims[:8], 8)  # warm-up
    times, found = {k: [] for k in variants}, {}
    for r in range(repeats):
        for k, (f, bs) in variants.items():
            dt, faces = run(f, ims, bs); times[k].append(dt); found[k] = [len(x) for x in faces]
    ref = np.array(found['one at a time'])
    res = {k: dict(photos_per_s=float(n / np.median(v)), seconds=v, speedup_vs_one=float(np.median(times['one at a time']) / np.median(v)),
                   same_face_counts=float((np.array(found[k]) == ref).mean())) for k, v in times.items()}
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(8, 3.5))
    ax.barh(list(res), [r['photos_per_s'] for r in res.values()], color='#8e5bb5')
    ax.set(xlabel='photos / s (median)', title=f'MTCNN on {n} LFW photos (250x250), CPU, 2 threads')
    for i, r in enumerate(res.values()): ax.text(r['photos_per_s'], i, f" {r['speedup_vs_one']:.2f}x", va='center')
    return save('annotate', dict(n_photos=n, repeats=repeats, variants=res), fig), res


if __name__ == '__main__':
    a = argparse.ArgumentParser(); a.add_argument('--n', type=int, default=500); a.add_argument('--repeats', type=int, default=3)
    p, res = main(**vars(a.parse_args()))
    for k, r in res.items(): print(f"{k:28s} {r['photos_per_s']:6.1f} photos/s  {r['speedup_vs_one']:.2f}x  same counts {r['same_face_counts']:.3f}")
    print(p)

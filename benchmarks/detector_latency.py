"""Faster R-CNN inference latency per architecture on CPU (2 threads): p50/p90 over >= 50 photos at 250x250 and 640x480.

Random-init weights (none can be downloaded here); latency does not depend on the weights' values, except that
random weights leave fewer boxes above the score floor, so the box head's post-processing is slightly cheaper.
`--files A.pt B.pt` times trained detector files instead, side by side in one run (a gender branch's cost depends on the
faces the trained model finds, so it is timed with real weights) → results/detector_latency-files.json and .png.
Usage: python benchmarks/detector_latency.py [--n 50] [--files models/gender_detector.pt other.pt]
"""
import argparse, time, warnings
import numpy as np
from femverify.core import load_image
from femverify.detect import ARCHS, get_detector, load_detector, predict
from common import lfw_photos, percentiles, save, threads


def models(files=None):
    "(name, model) pairs: the trained `files`, else every architecture from random init."
    if files: return [(f"{f} ({m.meta['config'].get('arch')})", m) for f in files for m in [load_detector(f)]]
    with warnings.catch_warnings():
        warnings.simplefilter('ignore'); return [(arch, get_detector(arch, pretrained=False).eval()) for arch in ARCHS]


def main(n=50, files=None):
    threads(2)
    photos = [load_image(p) for p in lfw_photos(n, seed=1)]
    sizes = {'250x250': photos, '640x480': [p.resize((640, 480)) for p in photos]}
    res = {}
    for arch, m in models(files):
        for size, ims in sizes.items():
            predict(m, ims[:2], batch_size=1)  # warm-up
            ts = []
            for im in ims:
                t = time.perf_counter(); predict(m, [im], batch_size=1); ts.append(time.perf_counter() - t)
            res[f'{arch} @ {size}'] = dict(arch=arch, size=size, n=len(ims), **percentiles(ts, (50, 90)), min_size=m.transform.min_size[0])
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(9, 4))
    keys = list(res); y = np.arange(len(keys))
    ax.barh(y - .2, [res[k]['p50'] for k in keys], .4, label='p50'); ax.barh(y + .2, [res[k]['p90'] for k in keys], .4, label='p90')
    ax.set_yticks(y, [k.replace('fasterrcnn_', '') for k in keys], fontsize=8); ax.set_xscale('log'); ax.set_xlabel('ms per photo (batch 1)')
    ax.set_title('Faster R-CNN latency, CPU 2 threads'); ax.legend()
    return save('detector_latency' + ('-files' if files else ''), dict(weights=files or 'random init', results=res), fig), res


if __name__ == '__main__':
    a = argparse.ArgumentParser(); a.add_argument('--n', type=int, default=50); a.add_argument('--files', nargs='+')
    p, res = main(**vars(a.parse_args()))
    for k, r in res.items(): print(f"{k:55s} p50 {r['p50']:8.1f} ms  p90 {r['p90']:8.1f} ms")
    print(p)

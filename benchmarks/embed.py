"""FaceNet embedding latency for batches of 1, 8, 32 faces, and MTCNN + embedding per photo on LFW and >= 2 MP photos; CPU 2 threads.

InceptionResnetV1 with random (seeded) weights: the VGGFace2 file can't be downloaded here, and latency does not
depend on the weights' values. Also measured: flip test-time augmentation ('mean'), which doubles the network work.
Usage: python benchmarks/embed.py [--n 40]
"""
import argparse, time
import numpy as np
import torch
from femverify.core import load_image
from femverify.verify import Embedder
from common import lfw_photos, percentiles, save, threads, two_megapixel, jpeg_bytes


def timed(f, reps):
    ts = []
    for _ in range(reps):
        t = time.perf_counter(); f(); ts.append(time.perf_counter() - t)
    return ts


def main(n=40):
    threads(2)
    emb, flip = Embedder(None), Embedder(None, flip='mean')
    res = {'embedding only': {}, 'per photo': {}}
    for bs in (1, 8, 32):
        x = torch.randn(bs, 3, 160, 160)
        emb.embed_crops(x)  # warm-up
        ts = timed(lambda: emb.embed_crops(x, batch_size=bs), max(5, 64 // bs))
        res['embedding only'][f'batch {bs}'] = dict(**percentiles(ts, (50, 90)), ms_per_face=float(np.median(ts) * 1000 / bs))
    x = torch.randn(1, 3, 160, 160); flip.embed_crops(x)
    res['embedding only']['batch 1, flip mean'] = percentiles(timed(lambda: flip.embed_crops(x), 10), (50, 90))
    lfw = [p.read_bytes() for p in lfw_photos(n, seed=2)]
    big = [jpeg_bytes(two_megapixel(load_image(b))) for b in lfw[:max(10, n // 2)]]
    for name, blobs in (('LFW 250x250', lfw), ('2 MP 1920x1080', big)):
        emb([load_image(blobs[0])])
        dec, full = [], []
        for b in blobs:
            t0 = time.perf_counter(); im = load_image(b); t1 = time.perf_counter(); e = emb([im]); t2 = time.perf_counter()
            assert e[0].shape == (1, 512), 'no face found in a benchmark photo'
            dec.append(t1 - t0); full.append(t2 - t0)
        res['per photo'][name] = dict(n=len(blobs), decode=percentiles(dec, (50, 90)), decode_mtcnn_embed=percentiles(full, (50, 90)))
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(1, 2, figsize=(11, 3.5))
    e = res['embedding only']; ax[0].bar(list(e), [v['p50'] for v in e.values()], color='#8e5bb5'); ax[0].set(ylabel='ms (p50)', title='InceptionResnetV1, CPU 2 threads')
    ax[0].tick_params(axis='x', labelsize=7)
    p = res['per photo']; ax[1].bar(list(p), [v['decode_mtcnn_embed']['p50'] for v in p.values()], label='decode + MTCNN + embed', color='#5b8eb5')
    ax[1].bar(list(p), [v['decode']['p50'] for v in p.values()], label='decode', color='#b58e5b'); ax[1].legend(); ax[1].set(ylabel='ms (p50)', title='per photo')
    return save('embed', dict(weights='random (seeded) InceptionResnetV1', results=res), fig), res


if __name__ == '__main__':
    a = argparse.ArgumentParser(); a.add_argument('--n', type=int, default=40)
    p, res = main(**vars(a.parse_args()))
    import json; print(json.dumps(res, indent=1, default=float)); print(p)

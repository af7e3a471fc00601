"""The gate's verdicts with the new face finder (BlazeFace, then MTCNN on a crop) beside the old one (MTCNN on the
whole photo), photo for photo, as served (photos downscaled to 640 pixels, `judge` with the default settings).

Sets: a seeded sample of LFW photos (250x250), a seeded sample of UTKFace (200x200, tightly cropped), and dlib's 12
group photos (9 hand-boxed, 43 faces; 3 unannotated: every one must be refused). For each: the share of photos whose
verdict changed and the table of changes, how often BlazeFace found no face and MTCNN read the whole photo (the
fallback), the main face's landmark shift in eye distances, the median time a photo of each finder (one photo a call,
as the service), and for the group photos each finder's box recall at IoU 0.5 and each photo's verdict.
Writes results/finder_parity.json and .png; asserts nothing.
Usage: python benchmarks/finder_parity.py [--lfw 3000] [--utk 3000]
"""
import argparse, collections, time
import numpy as np
from femverify.core import Config, load_image
from femverify.gate import FaceFinder, judge
from femverify.blazeface import BlazeFinder, detect
from femverify.data import read_boxes_xml
from femverify.metrics import iou
from common import data_dir, lfw_photos, save, threads


def finders() -> dict:
    "The two finders as the service builds them (photos downscaled to `detect_side`)."
    side = Config().detect_side
    return {'mtcnn': FaceFinder(max_side=side), 'blazeface+mtcnn': BlazeFinder(max_side=side)}


def compare(paths, fs, cfg=Config()) -> dict:
    "Per photo: each finder's verdict, face count, main landmarks and seconds; and whether BlazeFace found a face."
    rows = []
    for p in paths:
        im, r = load_image(p), dict(photo=p.name)
        for name, f in fs.items():
            t = time.perf_counter(); faces = f([im])[0]; r[f'{name}_s'] = time.perf_counter() - t
            g = judge(faces, im, cfg)
            r[name], r[f'{name}_n'] = g['reason'], len(faces)
            r[f'{name}_marks'] = faces.landmarks[0] if len(faces) else None
        r['blazeface_found'] = len(detect(fs['blazeface+mtcnn'].blaze, [im])[0]['boxes'])
        rows.append(r)
    return rows


def summary(rows, names=('mtcnn', 'blazeface+mtcnn')) -> dict:
    "Verdict changes, fallbacks, landmark shifts and times of a set."
    a, b = names
    changed = collections.Counter(f'{r[a]} -> {r[b]}' for r in rows if r[a] != r[b])
    shift = [np.abs(r[f'{a}_marks'] - r[f'{b}_marks']).max() / max(np.linalg.norm(r[f'{a}_marks'][1] - r[f'{a}_marks'][0]), 1)
             for r in rows if r[f'{a}_marks'] is not None and r[f'{b}_marks'] is not None and r[a] == r[b] == 'ok']
    return dict(photos=len(rows), verdict_changed=sum(changed.values()), changed_share=sum(changed.values()) / max(len(rows), 1),
                changes=dict(changed), verdicts={n: dict(collections.Counter(r[n] for r in rows)) for n in names},
                blazeface_found_none=sum(r['blazeface_found'] == 0 for r in rows),
                landmark_shift_eye_distances=dict(median=float(np.median(shift)), p95=float(np.percentile(shift, 95))) if shift else None,
                median_ms={n: float(np.median([r[f'{n}_s'] for r in rows]) * 1000) for n in names})


def groups(fs) -> dict:
    "dlib's group photos: each finder's box recall at IoU 0.5 (faces found before the gate) and each photo's verdict."
    d = data_dir() / 'dlib_faces'
    boxed = read_boxes_xml(d / 'training.xml') | read_boxes_xml(d / 'testing.xml')
    out = {}
    for p in sorted(d.glob('*.jpg')):
        im, truth = load_image(p), boxed.get(p.name)
        r = {}
        for name, f in fs.items():
            faces = f([im])[0]
            r[name] = judge(faces, im)['reason']
            if truth is not None and len(truth):
                r[f'{name}_recall'] = [any(iou(t, b) >= 0.5 for b in faces.boxes) for t in truth]
        r['blazeface_boxes'] = len(detect(fs['blazeface+mtcnn'].blaze, [im])[0]['boxes'])
        out[p.name] = r
    rec = {n: float(np.mean([x for r in out.values() for x in r.get(f'{n}_recall', [])])) for n in fs}
    for r in out.values():
        for n in fs: r.pop(f'{n}_recall', None)
    return dict(photos=out, box_recall_iou50=rec, faces=int(sum(len(v) for v in boxed.values())),
                refused={n: sum(r[n] != 'ok' for r in out.values()) for n in fs}, unchanged=sum(r['mtcnn'] == r['blazeface+mtcnn'] for r in out.values()))


def plot(res):
    import matplotlib.pyplot as plt
    sets = [k for k in res['sets']]
    fig, axs = plt.subplots(1, 2, figsize=(11, 3.4))
    axs[0].bar(sets, [100 * res['sets'][k]['changed_share'] for k in sets], color='#8e5bb5')
    axs[0].axhline(0.5, color='k', ls='--', lw=1, label='goal 0.5%')
    for i, k in enumerate(sets): axs[0].text(i, 100 * res['sets'][k]['changed_share'], f" {res['sets'][k]['verdict_changed']} of {res['sets'][k]['photos']}", ha='center', va='bottom', fontsize=8)
    axs[0].set(ylabel='% of photos whose verdict changed', title='gate verdicts: BlazeFace+MTCNN vs MTCNN'), axs[0].legend(fontsize=8)
    for j, n in enumerate(('mtcnn', 'blazeface+mtcnn')):
        axs[1].bar(np.arange(len(sets)) + 0.4 * j, [res['sets'][k]['median_ms'][n] for k in sets], 0.4, label=n)
    axs[1].set_xticks(np.arange(len(sets)) + 0.2, sets), axs[1].set(ylabel='median ms a photo (finder only)', title='face finding time'), axs[1].legend(fontsize=8)
    fig.tight_layout()
    return fig


def main(lfw=3000, utk=3000):
    threads(2)
    fs = finders()
    u = sorted((data_dir() / 'utkface').glob('*.jpg'))
    sets = {f'LFW {lfw}': lfw_photos(lfw, seed=5), f'UTKFace {utk}': [u[i] for i in np.random.default_rng(5).choice(len(u), utk, replace=False)]}
    res = dict(finders={'mtcnn': 'MTCNN (facenet-pytorch) on the photo downscaled to 640',
                        'blazeface+mtcnn': 'BlazeFace short range (mediapipe 0.10.14) on a 128 letterbox, MTCNN on a 2x crop resized to 160; MTCNN whole where BlazeFace finds none'},
               sets={}, note='seeded samples (seed 5); the gate with the default settings')
    from tqdm import tqdm
    for name, paths in sets.items(): res['sets'][name] = summary(compare(tqdm(paths, desc=name), fs))
    res['groups'] = groups(fs)
    save('finder_parity', res, plot(res))
    return res


if __name__ == '__main__':
    a = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    a.add_argument('--lfw', type=int, default=3000)
    a.add_argument('--utk', type=int, default=3000)
    import json
    r = main(**vars(a.parse_args()))
    print(json.dumps({k: v for k, v in r.items() if k != 'groups'} | {'groups': {k: v for k, v in r['groups'].items() if k != 'photos'}}, indent=1, default=float))

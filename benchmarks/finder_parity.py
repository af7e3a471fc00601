"""The gate's verdicts with the new face finder (BlazeFace, then MTCNN on a crop) beside the old one (MTCNN on the
whole photo), photo for photo, as served (photos downscaled to 640 pixels, `judge` with the default settings).

Sets: a seeded sample of LFW photos (250x250), a seeded sample of UTKFace (200x200, tightly cropped), and dlib's 12
group photos (9 hand-boxed, 43 faces; 3 unannotated: a crowd, a portrait, dogs). For each: the share of photos whose
verdict changed and the table of changes, how often BlazeFace found no face and MTCNN read the whole photo (the
fallback), the main face's landmark shift in eye distances, the median time a photo of each finder (one photo a call,
as the service), and for the group photos each finder's box recall at IoU 0.5 and each photo's verdict. Beside them,
face_recognition's face finder (HOG, its default; `pip install --no-deps --target runs/peers face-recognition`, for
benchmarks only), which has no gate: the share of photos where it finds exactly one face, its time, its group recall.
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


def peer():
    "face_recognition's `face_locations` (HOG), as boxes x0 y0 x1 y1; None where it isn't installed in runs/peers."
    import sys
    from pathlib import Path
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / 'runs' / 'peers'))
    try: import face_recognition as fr
    except ImportError: return None
    return lambda im: np.array([[l, t, r, b] for t, r, b, l in fr.face_locations(np.asarray(im))], np.float32).reshape(-1, 4)


def finders() -> dict:
    "The two finders as the service builds them (photos downscaled to `detect_side`)."
    side = Config().detect_side
    return {'mtcnn': FaceFinder(max_side=side), 'blazeface+mtcnn': BlazeFinder(max_side=side)}


def compare(paths, fs, cfg=Config(), fr=None) -> dict:
    "Per photo: each finder's verdict, face count, main landmarks and seconds; whether BlazeFace found a face; the peer's count."
    rows = []
    for p in paths:
        im, r = load_image(p), dict(photo=p.name)
        if fr is not None:
            t = time.perf_counter(); r['face_recognition_n'] = len(fr(im)); r['face_recognition_s'] = time.perf_counter() - t
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
                median_ms={n: float(np.median([r[f'{n}_s'] for r in rows]) * 1000) for n in names},
                **(dict(face_recognition=dict(one_face=float(np.mean([r['face_recognition_n'] == 1 for r in rows])),
                                              median_ms=float(np.median([r['face_recognition_s'] for r in rows]) * 1000)))
                   if 'face_recognition_n' in rows[0] else {}))


def groups(fs, fr=None) -> dict:
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
        if fr is not None:
            b = fr(im)
            r['face_recognition_faces'] = len(b)
            if truth is not None and len(truth): r['face_recognition_recall'] = [any(iou(t, x) >= 0.5 for x in b) for t in truth]
        out[p.name] = r
    names = list(fs) + (['face_recognition'] if fr is not None else [])
    rec = {n: float(np.mean([x for r in out.values() for x in r.get(f'{n}_recall', [])])) for n in names}
    for r in out.values():
        for n in names: r.pop(f'{n}_recall', None)
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
        axs[1].bar(np.arange(len(sets)) + 0.3 * j, [res['sets'][k]['median_ms'][n] for k in sets], 0.3, label=n)
    if 'face_recognition' in res['sets'][sets[0]]:
        axs[1].bar(np.arange(len(sets)) + 0.6, [res['sets'][k]['face_recognition']['median_ms'] for k in sets], 0.3, label='face_recognition (HOG)')
    axs[1].set_xticks(np.arange(len(sets)) + 0.3, sets), axs[1].set(ylabel='median ms a photo (finder only)', title='face finding time'), axs[1].legend(fontsize=8)
    fig.tight_layout()
    return fig


def main(lfw=3000, utk=3000):
    threads(2)
    fs = finders()
    u = sorted((data_dir() / 'utkface').glob('*.jpg'))
    sets = {f'LFW {lfw}': lfw_photos(lfw, seed=5), f'UTKFace {utk}': [u[i] for i in np.random.default_rng(5).choice(len(u), utk, replace=False)]}
    res = dict(finders={'mtcnn': 'MTCNN (facenet-pytorch) on the photo downscaled to 640',
                        'blazeface+mtcnn': 'BlazeFace short range (mediapipe 0.10.14) on a 128 letterbox sizes the largest face; MTCNN on the '
                                           'same photo skips the pyramid levels for faces under 0.45 of it; MTCNN whole where BlazeFace finds none'},
               sets={}, note='seeded samples (seed 5); the gate with the default settings')
    from tqdm import tqdm
    fr = peer()
    res['peer'] = 'face_recognition 1.3 face_locations (HOG, upsample 1)' if fr else 'face_recognition not installed in runs/peers'
    for name, paths in sets.items(): res['sets'][name] = summary(compare(tqdm(paths, desc=name), fs, fr=fr))
    res['groups'] = groups(fs, fr)
    save('finder_parity', res, plot(res))
    return res


if __name__ == '__main__':
    a = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    a.add_argument('--lfw', type=int, default=3000)
    a.add_argument('--utk', type=int, default=3000)
    import json
    r = main(**vars(a.parse_args()))
    print(json.dumps({k: v for k, v in r.items() if k != 'groups'} | {'groups': {k: v for k, v in r['groups'].items() if k != 'photos'}}, indent=1, default=float))

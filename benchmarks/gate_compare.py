"""The first check, two ways: does MTCNN or the trained Faster R-CNN count faces better? Both through the same `judge` rules.

On the same photos: single portraits (UTKFace's test split and 2,000 LFW photos), where the right count is one, and
dlib's 9 hand-boxed group photos (43 faces), where every photo must be refused. Reports the share of portraits with
exactly one face counted, the group photos' box recall at IoU 0.5 (every face each finder reports, before the gate),
and whether each group photo is refused (`multiple_faces`) or refused for any reason. Writes results/gate_compare.json
and .png; asserts nothing. Usage: python benchmarks/gate_compare.py [--detector models/gender_detector.pt]
"""
import argparse, json
from pathlib import Path
import numpy as np
from femverify.core import Config, load_image
from femverify.gate import FaceFinder, judge
from femverify.data import read_boxes_xml
from femverify.detect import load_detector, predict
from femverify.verdict import to_faces, detector_config
from femverify.metrics import iou
from common import data_dir, lfw_photos, save, threads

ROOT = Path(__file__).resolve().parent.parent


def portraits(limit=None):
    "UTKFace's test split (from the annotation file) and 2,000 LFW photos: paths by set."
    coco = json.loads((ROOT / 'runs' / 'annotations' / 'utkface.json').read_text()); root = Path(coco['info']['root'])
    sets = {'UTKFace test': [root / im['file_name'] for im in coco['images'] if im['split'] == 'test'], 'LFW 2000': lfw_photos(2000, seed=0)}
    return {k: v[:limit] for k, v in sets.items()}


def finders(detector_path):
    "name → function(list of photos) → list of (Faces, config for judge)."
    mt = FaceFinder(); cfg = Config()
    out = {'MTCNN': lambda ims: [(f, cfg) for f in mt(ims)]}
    if detector_path:
        det = load_detector(detector_path); dcfg = detector_config(det, cfg)
        out['Faster R-CNN'] = lambda ims: [(to_faces(p, dcfg)[0], dcfg) for p in predict(det, ims)]
    return out


def run(fn, paths, batch=16):
    res = []
    for i in range(0, len(paths), batch):
        ims = [load_image(p) for p in paths[i:i + batch]]
        res += [(judge(f, im, c), f) for (f, c), im in zip(fn(ims), ims)]
    return res


def main(detector=None, limit=None, name='gate_compare'):
    threads(2)
    d = data_dir() / 'dlib_faces'
    groups = read_boxes_xml(d / 'training.xml') | read_boxes_xml(d / 'testing.xml')
    res = {}
    for finder, fn in finders(detector).items():
        r = {}
        for k, paths in portraits(limit).items():
            out = run(fn, paths)
            r[k] = dict(photos=len(out), exactly_one=float(np.mean([g['reason'] != 'no_face' and g['n_competing'] == 0 for g, _ in out])),
                        multiple=float(np.mean([g['reason'] == 'multiple_faces' for g, _ in out])), no_face=float(np.mean([g['reason'] == 'no_face' for g, _ in out])))
        out = run(fn, [d / f for f in groups])
        found = [sum(any(iou(b, x) >= 0.5 for x in f.boxes) for b in gt) for (_, f), gt in zip(out, groups.values())]
        r['groups'] = dict(photos=len(groups), boxes=int(sum(len(b) for b in groups.values())), recall50=float(sum(found) / sum(len(b) for b in groups.values())),
                           refused_multiple=int(sum(g['reason'] == 'multiple_faces' for g, _ in out)), refused_any=int(sum(g['reason'] != 'ok' for g, _ in out)),
                           per_photo={f: dict(reason=g['reason'], counted=1 + g['n_competing'] if g['box'] else 0, found=int(n), boxes=len(b))
                                      for (f, b), (g, _), n in zip(groups.items(), out, found)})
        res[finder] = r
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(1, 2, figsize=(12, 3.5)); names = list(res)
    for j, n in enumerate(names):
        ax[0].bar(np.arange(2) + j * 0.4, [res[n][k]['exactly_one'] for k in ('UTKFace test', 'LFW 2000')], 0.4, label=n)
        ax[1].bar(np.arange(2) + j * 0.4, [res[n]['groups']['recall50'], res[n]['groups']['refused_multiple'] / 9], 0.4, label=n)
    ax[0].set(xticks=np.arange(2) + 0.2, xticklabels=['UTKFace test', 'LFW 2000'], ylim=(0, 1.02), title='portraits: exactly one face counted'); ax[0].axhline(0.97, c='k', ls='--')
    ax[1].set(xticks=np.arange(2) + 0.2, xticklabels=['group boxes found (IoU 0.5)', 'group photos refused (multiple_faces)'], ylim=(0, 1.02)); ax[1].legend()
    fig.tight_layout()
    return save(name, dict(detector=str(detector), results=res), fig), res  # name: a candidate's record keeps the shipped one


if __name__ == '__main__':
    a = argparse.ArgumentParser(); a.add_argument('--detector', default=str(ROOT / 'models' / 'gender_detector.pt')); a = a.parse_args()
    p, r = main(a.detector if Path(a.detector).exists() else None)
    for n, x in r.items(): print(n, {k: {kk: vv for kk, vv in v.items() if kk != 'per_photo'} for k, v in x.items()})
    print(p)

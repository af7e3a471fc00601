"""The inputs of the gender models for every annotated photo, computed once along the served path: the dlib descriptor
of the gate's main face (what verification stores anyway) and the shipped detector's p_female at that face.

Reads runs/annotations/{utkface,lfw}.json (`femverify annotate`: MTCNN boxes, labels, the seeded identity-disjoint
split the shipped detector was trained on) and writes runs/gender_features/<dataset>.npz, in parts so that a killed
run resumes. `--detector FILE --out DIR` scores another detector: the descriptors are taken from the existing
runs/gender_features/ (they don't depend on the detector) and only its p_female is computed.
Usage: python benchmarks/gender_features.py [--chunk 256] [--detector models/other.pt --out runs/gender_features_other]
"""
import argparse, json, tempfile
from pathlib import Path
import numpy as np
from tqdm.auto import tqdm
from femverify.core import Config, atomic_write, load_image
from femverify.data import coco_to_xyxy
from femverify.service import FaceService
from common import threads

ROOT = Path(__file__).resolve().parent.parent
ANN, OUT = ROOT / 'runs' / 'annotations', ROOT / 'runs' / 'gender_features'
FIELDS = ('file_name', 'split', 'gender', 'identity', 'age', 'race')


def part(svc, coco, imgs, boxes, emb=None):
    "Descriptors (n, 128) (`emb` if given) and detector p_female (n,) of the faces at `boxes` (NaN: it found none)."
    root = Path(coco['info']['root'])
    ims = [load_image(root / im['file_name']) for im in imgs]
    emb = svc.embedder.embed_faces(ims, boxes) if emb is None else emb
    g = svc._genders(ims, boxes)
    return emb, np.array([np.nan if x.get('p_female') is None else x['p_female'] for x in g], np.float32)


def features(name, svc, chunk, out=OUT):
    coco = json.loads((ANN / f'{name}.json').read_text())
    box = {a['image_id']: coco_to_xyxy(a['bbox'])[0] for a in coco['annotations']}
    imgs = coco['images']; (out / name).mkdir(parents=True, exist_ok=True)
    known = None if out == OUT else np.load(OUT / f'{name}.npz')['embedding']  # descriptors don't depend on the detector
    for s in tqdm(range(0, len(imgs), chunk), desc=name, unit='chunk'):
        p = out / name / f'{s:06d}.npz'
        if p.exists(): continue
        e, pf = part(svc, coco, imgs[s:s + chunk], [box[im['id']] for im in imgs[s:s + chunk]],
                     None if known is None else known[s:s + chunk])
        tmp = p.with_suffix('.tmp.npz'); np.savez(tmp, embedding=e, p_detector=pf); tmp.rename(p)
    parts = [np.load(p) for p in sorted((out / name).glob('[0-9]*.npz'))]
    meta = {k: [im.get(k) for im in imgs] for k in FIELDS}
    res, out = out / f'{name}.npz', out
    np.savez(res, embedding=np.concatenate([x['embedding'] for x in parts]), p_detector=np.concatenate([x['p_detector'] for x in parts]),
             **{k: np.array(['' if v is None else str(v) for v in vs]) for k, vs in meta.items()})
    atomic_write(out / f'{name}.json', json.dumps(dict(photos=len(imgs), embedder=svc.embedder.model, backend=svc.embedder.backend,
                                                       detector=svc.detector.weights, detector_band=list(svc.detector_cfg.gender_band),
                                                       annotations=str(ANN / f'{name}.json'))))
    return res


def main(chunk=256, detector=None, out=None):
    threads(2)
    if (detector is None) != (out is None): raise SystemExit('--detector and --out go together (the shipped detector writes runs/gender_features)')
    from femverify.store import new_key  # a throwaway store: a throwaway template key
    svc = FaceService(Config(db_path=Path(tempfile.mkdtemp()) / 'f.db', embedder='dlib', gender_check=True, template_key=new_key(),
                             detector_path=detector))
    return [features(n, svc, chunk, Path(out) if out else OUT) for n in ('utkface', 'lfw')]


if __name__ == '__main__':
    a = argparse.ArgumentParser(); a.add_argument('--chunk', type=int, default=256)
    a.add_argument('--detector', help='a detector file other than the shipped one'); a.add_argument('--out', help='where its features go')
    print(main(**vars(a.parse_args())))

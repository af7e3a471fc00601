"""The served path's per-photo answers for LFW people with many photos, computed once for `liveness.py`: the gate's
verdict and box, MTCNN's 5 landmarks, the dlib descriptor, and the landmarks of the mirrored photo (the yaw check).

Writes runs/liveness/lfw.npz, in parts so that a killed run resumes.
Usage: python benchmarks/liveness_features.py [--min-photos 5] [--cap 30] [--chunk 128]
"""
import argparse, json
from pathlib import Path
import numpy as np
from PIL import ImageOps
from tqdm.auto import tqdm
from femverify.core import Config, atomic_write, load_image
from femverify.service import FaceService
from femverify.store import new_key
from common import data_dir, threads

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / 'runs' / 'liveness'


def people(min_photos: int, cap: int, seed: int = 0) -> list:
    "LFW photos of every person with at least `min_photos`, at most `cap` each (a seeded sample), sorted."
    rng, out = np.random.default_rng(seed), []
    for d in sorted((data_dir() / 'lfw' / 'images').iterdir()):
        fs = sorted(d.glob('*.jpg'))
        if len(fs) >= min_photos: out += sorted(fs[i] for i in rng.choice(len(fs), min(cap, len(fs)), replace=False))
    return out


def part(svc, files) -> dict:
    "The served path's answers for `files`, and MTCNN's landmarks of each mirrored photo."
    ims = [load_image(f) for f in files]
    rows = svc.embedder.analyse(ims, svc.config)
    mirrored = svc.finder([ImageOps.mirror(im) for im in ims])
    nan = np.full((5, 2), np.nan)
    return dict(reason=np.array([r['reason'] for r in rows]),
                box=np.array([r['box'] or [np.nan] * 4 for r in rows], np.float32),
                landmarks=np.array([r['landmarks'] or nan for r in rows], np.float32),
                mirror=np.array([f.landmarks[0] if len(f) else nan for f in mirrored], np.float32),
                embedding=np.array([r['embedding'][0] if len(r['embedding']) else np.full(128, np.nan) for r in rows], np.float32),
                width=np.array([im.width for im in ims]))


def main(min_photos=5, cap=30, chunk=128):
    threads(2)
    svc = FaceService(Config.from_env(gender_check=False, liveness='off', template_key=new_key(), db_path=OUT / 'features.db'))
    files = people(min_photos, cap); (OUT / 'parts').mkdir(parents=True, exist_ok=True)
    for s in tqdm(range(0, len(files), chunk), desc='lfw', unit='chunk'):
        p = OUT / 'parts' / f'{s:06d}.npz'
        if not p.exists():
            tmp = p.with_suffix('.tmp.npz'); np.savez(tmp, **part(svc, files[s:s + chunk])); tmp.rename(p)
    parts = [np.load(p) for p in sorted((OUT / 'parts').glob('[0-9]*.npz'))]
    z = {k: np.concatenate([x[k] for x in parts]) for k in parts[0].files}
    np.savez(OUT / 'lfw.npz', photo=np.array([f.name for f in files]), identity=np.array([f.parent.name for f in files]), **z)
    atomic_write(OUT / 'lfw.json', json.dumps(dict(photos=len(files), min_photos=min_photos, cap=cap, embedder=svc.embedder.model)))
    return OUT / 'lfw.npz'


if __name__ == '__main__':
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--min-photos', type=int, default=5); ap.add_argument('--cap', type=int, default=30)
    ap.add_argument('--chunk', type=int, default=128)
    print(main(**vars(ap.parse_args())))

"""Teacher targets for the detector: dlib's 128-d descriptor of every training face, computed once and cached.

Each face of the training split (UTKFace + LFW annotations) is cut as dlib's aligned chip from its annotated MTCNN box
and embedded by dlib's ResNet (`femverify.verify.Dlib`, no flip); ≈0.06 s a face on one core, so two processes share
the work. LFW photos whose descriptor was already made for the verification study (runs/dlib/lfw_*.npz, the same MTCNN
box, chip and network) are taken from there. Writes runs/teacher/dlib.npz (path, desc) and results/teacher.json; `train_detector.py --recipe fast-teacher`
reads the cache. Usage: python benchmarks/teacher.py [--split train] [--procs 2]
"""
import argparse, json, time
from multiprocessing import Pool
from pathlib import Path
import numpy as np
from tqdm import tqdm
from train_detector import ANN, TEACHER
from common import OUT

_DL = None


def _init():
    global _DL
    import torch; torch.set_num_threads(1)
    from femverify.verify import Dlib
    _DL = Dlib(flip=False)


def _describe(items):
    "dlib descriptors (n, 128) of [(file, box)] items."
    from femverify.core import load_image
    ims = [load_image(f) for f, _ in items]
    return _DL.embed_faces(ims, [b for _, b in items])


def main(split='train', procs=2, chunk=32):
    from femverify.annotate import merge_coco
    from femverify.data import coco_to_xyxy
    coco = merge_coco(ANN); files = {im['id']: (im['file_name'], im.get('split')) for im in coco['images']}
    items = [(str(Path(files[a['image_id']][0]).resolve()), coco_to_xyxy([a['bbox']])[0]) for a in coco['annotations'] if files[a['image_id']][1] == split]
    done = {}
    for cache in [TEACHER, *sorted(TEACHER.parent.parent.glob('dlib/lfw_*of*.npz'))]:  # LFW descriptors already made for calibration
        if cache.exists():
            z = np.load(cache); key = 'desc' if 'desc' in z else 'plain'
            done.update({str(Path(f).resolve()): v / np.linalg.norm(v) for f, v in zip(z['path'], z[key]) if np.isfinite(v).all()})
    todo = [x for x in items if x[0] not in done]
    t0 = time.time(); chunks = [todo[i:i + chunk] for i in range(0, len(todo), chunk)]
    with Pool(procs, initializer=_init) as pool:
        for part, d in zip(chunks, tqdm(pool.imap(_describe, chunks), total=len(chunks), desc='teacher descriptors', unit='chunk')):
            done.update({f: v for (f, _), v in zip(part, d)})
    TEACHER.parent.mkdir(parents=True, exist_ok=True)
    tmp = TEACHER.with_suffix('.tmp.npz')
    keep = {f for f, _ in items}
    np.savez(tmp, path=np.array([f for f in done if f in keep]), desc=np.stack([v for f, v in done.items() if f in keep]).astype(np.float32)); tmp.replace(TEACHER)
    res = dict(split=split, faces=len(items), computed=len(todo), seconds=time.time() - t0, seconds_per_face=(time.time() - t0) / max(1, len(todo)) * procs,
               procs=procs, model='dlib:resnet_v1 (no flip), chips from the annotated MTCNN boxes', cache=str(TEACHER))
    (OUT / 'teacher.json').write_text(json.dumps(res, indent=1))
    return res


if __name__ == '__main__':
    a = argparse.ArgumentParser(); a.add_argument('--split', default='train'); a.add_argument('--procs', type=int, default=2)
    a = a.parse_args(); print(json.dumps(main(a.split, a.procs), indent=1))

"""Give a trained `fasterrcnn_dlib` run a gender branch, fit it, and write the result as a run of its own.

The branch (`GenderBranch` in 03_detect) runs dlib's whole network, as packaged, on a 150×150 resample of the
detector's input at each face it finds, and a logistic layer on the descriptor says female or male; the RPN and the box
head, as trained, say where the faces are and how sure. `fit_gender_branch` fits the layer on the training split of
runs/annotations (UTKFace + LFW, the seeded identity-disjoint split the run was trained on), boxes jittered by up to 8%,
with the penalty chosen on validation. Nothing else is trained.
Writes runs/<run>-branch/model.pt (a checkpoint that ship_detector.py and gender_features.py take like any run's) and
results/gender_branch-<run>.json and .png (validation p_female of women and men); asserts nothing.
Usage: python benchmarks/gender_branch.py --run runs/train_detector-fast-fasterrcnn_dlib-cpu-l5-1thread [--expand 1.0]
"""
import argparse, json, shutil, time
from pathlib import Path
import numpy as np
import torch
from femverify.annotate import merge_coco
from femverify.detect import FaceDataset, fit_gender_branch, get_detector, _save
from common import save, threads
from train_detector import ANN


def main(run, expand=1.0, jitter=0.08):
    threads(2)
    run = Path(run); ck = torch.load(run / 'model.pt', map_location='cpu', weights_only=False); c = ck['config']
    if c.get('arch') != 'fasterrcnn_dlib': raise SystemExit(f"{run} is a {c.get('arch')} run: the branch needs fasterrcnn_dlib")
    kw = dict(c['model_kw'], gender_branch=True, branch_expand=expand)
    m = get_detector(c['arch'], len(ck['classes']), pretrained=True, **kw)
    missing, unexpected = m.load_state_dict(ck['model'], strict=False)
    if unexpected or any(not k.startswith('roi_heads.gender.') for k in missing):
        raise SystemExit(f'{run} does not fit: missing {missing[:3]}, unexpected {unexpected[:3]}')
    coco = merge_coco(ANN); t0 = time.time()
    r = fit_gender_branch(m, FaceDataset(coco, split='train'), FaceDataset(coco, split='val'), jitter=jitter)
    pv, yv = r.pop('val_p_female'), r.pop('val_female'); r['seconds'] = round(time.time() - t0, 1)
    out = run.parent / f'{run.name}-branch'
    _save(out / 'model.pt', dict(model=m.state_dict(), epoch=ck['epoch'], config=dict(c, model_kw=kw, gender_branch=r),
                                 classes=ck['classes'], metrics=ck['metrics']))
    shutil.copy(run / 'history.json', out / 'history.json')
    return save(f'gender_branch-{run.name}', dict(run=str(run), out=str(out / 'model.pt'), branch=r), plot(pv, yv, r)), r


def plot(pv, yv, r):
    import matplotlib; matplotlib.use('Agg'); import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(6, 3.5))
    bins = np.linspace(0, 1, 41)
    ax.hist(pv[yv], bins, alpha=0.6, color='#e75480', label=f'women ({yv.sum()})')
    ax.hist(pv[~yv], bins, alpha=0.6, color='#1f77b4', label=f'men ({(~yv).sum()})')
    ax.set(yscale='log', xlabel="branch p_female at the annotated box", ylabel='validation faces',
           title=f"gender branch, validation: {100 * r['val_accuracy']:.1f}% at 0.5 (l2 {r['l2']:g})")
    ax.legend(); fig.tight_layout()
    return fig


if __name__ == '__main__':
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--run', required=True); ap.add_argument('--expand', type=float, default=1.0)
    ap.add_argument('--jitter', type=float, default=0.08)
    a = ap.parse_args()
    print(json.dumps(main(a.run, a.expand, a.jitter)[1], indent=1))

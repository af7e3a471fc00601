"""Give a trained `fasterrcnn_dlib` run a gender branch, fit it, and write the result as a run of its own.

The branch (`GenderBranch` in 03_detect; `add_gender_branch` in 03c_train does the work, as `femverify branch` does) runs dlib's whole network, as packaged, on a 150×150 resample of the
detector's input at each face it finds, and a logistic layer on the descriptor says female or male; the RPN and the box
head, as trained, say where the faces are and how sure. `fit_gender_branch` fits the layer on the training split of
runs/annotations (UTKFace + LFW, the seeded identity-disjoint split the run was trained on), boxes jittered by up to 8%,
with the penalty chosen on validation. Nothing else is trained.
Writes runs/<run>-branch/model.pt (a checkpoint that ship_detector.py and gender_features.py take like any run's) and
results/gender_branch-<run>.json and .png (validation p_female of women and men); asserts nothing.
Usage: python benchmarks/gender_branch.py --run runs/train_detector-fast-fasterrcnn_dlib-cpu-l5-1thread [--expand 1.0]
"""
import argparse, json
from pathlib import Path
import numpy as np
from femverify.annotate import merge_coco
from femverify.train import add_gender_branch
from common import save, threads
from train_detector import ANN


def main(run, expand=1.0, jitter=0.08):
    threads(2)
    p, r = add_gender_branch(run, merge_coco(ANN), expand=expand, jitter=jitter)
    pv, yv = r.pop('val_p_female'), r.pop('val_female')
    return save(f'gender_branch-{Path(run).name}', dict(run=str(run), out=str(p), branch=r), plot(pv, yv, r)), r


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

"""Accuracy against training minutes (and images seen) for every recipe run by train_detector.py, side by side.

Reads results/train_detector-RECIPE.json for each recipe given (validation curves from the run's history, test
figures at its end) and the first session's run (results/train_detector.json: torchvision defaults, UTKFace + 2,000 LFW,
35 minutes; its history has validation mAP but no gender accuracy, its test figures have both). All runs: random init,
this 2-core CPU, batch 8. Writes results/train_curves.json and .png; asserts nothing.
Usage: python benchmarks/train_curves.py [--recipes fast fast-teacher]
The dlib-trunk comparison (both runs together, 1 thread each, the same 40 minutes):
  python benchmarks/train_curves.py --recipes fast-1thread fast-fasterrcnn_dlib_fpn-cpu-1thread --name detector_dlib_vs_mobilenet --no-first
"""
import argparse, json
import numpy as np
from common import OUT, save


def curve(res: dict) -> dict:
    "Cumulative minutes, images seen, validation mAP@.5 and gender accuracy per checkpoint of one run."
    h = res['history']
    return dict(minutes=(np.cumsum([x['train_seconds'] + x.get('val_seconds', 0) for x in h]) / 60).round(2).tolist(),
                images=(np.cumsum([x['steps'] for x in h]) * res['batch_size']).tolist(), map50=[x.get('val_map50') for x in h],
                gender_accuracy=[x.get('val_gender_accuracy') for x in h], images_per_s=[x['images_per_s'] for x in h])


def main(recipes=('fast', 'fast-teacher'), name='train_curves', first=True):
    runs = {'torchvision defaults (first session)': json.loads((OUT / 'train_detector.json').read_text())} if first else {}
    runs.update({r: json.loads((OUT / f'train_detector-{r}.json').read_text()) for r in recipes if (OUT / f'train_detector-{r}.json').exists()})
    res = {k: dict(curve=curve(v), test=dict(map50=v['test']['coco']['map50'], iou_mean=v['test']['top_box']['iou_mean'], gender_accuracy=v['test']['top_box']['gender_accuracy'],
                                             photos=v['test']['photos']), train_images_per_s=v['train_images_per_s'], minutes=v['budget_minutes'], threads=v.get('threads', 2))
           for k, v in runs.items()}
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(1, 3, figsize=(16, 3.8))
    for k, r in res.items():
        c = r['curve']
        ax[0].plot(c['minutes'], c['gender_accuracy'], marker='.', label=k); ax[1].plot(c['minutes'], c['map50'], marker='.', label=k)
        ax[2].plot(np.array(c['images']) / 1000, c['gender_accuracy'] if any(v is not None for v in c['gender_accuracy']) else c['map50'], marker='.', label=k)
        ax[0].plot([c['minutes'][-1]], [r['test']['gender_accuracy']], 'k*', ms=10)
    ax[0].set(title='validation gender accuracy (top box); ★ test', xlabel='training minutes (CPU)', ylim=(0, 1)); ax[0].axhline(0.9, c='k', ls='--', lw=.8)
    ax[1].set(title='validation mAP@.5', xlabel='training minutes (CPU)', ylim=(0, 1)); ax[2].set(title='validation gender accuracy per images seen', xlabel='thousands of training images seen', ylim=(0, 1))
    for a in ax: a.legend(fontsize=7)
    fig.tight_layout()
    weights = sorted({v['weights'] for v in runs.values()})
    return save(name, dict(weights=weights, runs=res), fig), res


if __name__ == '__main__':
    a = argparse.ArgumentParser(); a.add_argument('--recipes', nargs='+', default=['fast', 'fast-teacher'])
    a.add_argument('--name', default='train_curves', help='results/NAME.json/png')
    a.add_argument('--no-first', action='store_true', help="leave out the first session's run")
    a = a.parse_args()
    p, r = main(a.recipes, a.name, not a.no_first)
    for k, v in r.items(): print(k, v['test'], round(v['train_images_per_s'], 2))
    print(p)

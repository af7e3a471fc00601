"""Train a Faster R-CNN face+gender detector for a fixed wall-clock budget, then evaluate it on the held-out split.

From random init on CPU here (no COCO weights can be downloaded); `--device cuda` and `--arch` for a GPU run.
Training runs over the whole train split until the budget is spent; the learning rate warms up for 100 steps and
then follows a cosine over the budget's time (fit's max_seconds), so the run ends at a low rate wherever it stops. Writes results/train_detector[-ARCH-DEVICE].json and .png; never asserts anything.
Usage: python benchmarks/train_detector.py [--minutes 30] [--arch fasterrcnn_mobilenet_v3_large_320_fpn] [--device cpu]
"""
import argparse, json, time, warnings
from pathlib import Path
import numpy as np
import torch
from femverify.annotate import merge_coco
from femverify.detect import FaceDataset, get_detector, get_transforms, fit, predict_dataset, collate
from femverify.metrics import coco_map, top_box_report, top_box_table
from common import save, threads, OUT

ROOT = Path(__file__).resolve().parent.parent
ANN = [str(ROOT / 'runs' / 'annotations' / n) for n in ('utkface.json', 'lfw2000.json')]


def main(minutes=30.0, arch='fasterrcnn_mobilenet_v3_large_320_fpn', device='cpu', batch_size=8, ann=ANN, workers=1):
    if device == 'cpu': threads(2)
    dev = torch.device(device)
    for p in ann:
        if not Path(p).exists(): raise SystemExit(f'{p} missing: run `femverify annotate` first (see the closing notes)')
    coco = merge_coco(ann)
    tr, va, te = (FaceDataset(coco, split=s, transforms=get_transforms(s == 'train')) for s in ('train', 'val', 'test'))
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter('always'); model = get_detector(arch, pretrained=True)
    name = 'train_detector' + ('' if (arch, device) == ('fasterrcnn_mobilenet_v3_large_320_fpn', 'cpu') else f'-{arch}-{device}')
    out = ROOT / 'runs' / name  # the checkpoint stays out of git; serve it with FEMVERIFY_DETECTOR_PATH
    t0 = time.time()
    hist = fit(model, tr, va, out=out, epochs=100, batch_size=batch_size, warmup=100, device=dev,
               workers=workers, max_seconds=minutes * 60, config=dict(arch=arch, model_kw={}))
    train_s = time.time() - t0
    t1 = time.time(); preds = predict_dataset(model, te, dev); pred_s = time.time() - t1
    m = coco_map(preds, te, curves=True); rep = top_box_report(preds, te)
    res = dict(arch=arch, device=device, weights=model.weights, weights_warning=[str(x.message)[:200] for x in w],
               budget_minutes=minutes, train_photos=len(tr), epochs_run=len(hist), batch_size=batch_size, steps=sum(h['steps'] for h in hist),
               train_images_per_s=sum(h['steps'] for h in hist) * batch_size / sum(h['train_seconds'] for h in hist), train_and_val_seconds=train_s,
               val=dict(map=hist[-1].get('val_map'), map50=hist[-1].get('val_map50'), photos=len(va)),
               test=dict(photos=len(te), coco=dict(map=m['map'], map50=m['map50']), top_box=rep, predict_images_per_s=len(te) / pred_s),
               history=hist, annotations=ann)
    import matplotlib.pyplot as plt
    from femverify.metrics import plot_detection
    fig = plot_detection(rep, top_box_table(preds, te), m['pr'])
    fig.suptitle(f'{arch} on {device}, {minutes:g} min budget, {model.weights}: test split ({len(te)} photos)', y=1.03)
    res['checkpoint'] = str(out / 'model.pt')
    return save(name, res, fig), res


if __name__ == '__main__':
    a = argparse.ArgumentParser()
    a.add_argument('--minutes', type=float, default=30); a.add_argument('--arch', default='fasterrcnn_mobilenet_v3_large_320_fpn')
    a.add_argument('--device', default='cpu'); a.add_argument('--batch-size', type=int, default=8); a.add_argument('--workers', type=int, default=1)
    a.add_argument('--ann', nargs='+', default=ANN)
    a = a.parse_args()
    p, r = main(a.minutes, a.arch, a.device, a.batch_size, a.ann, a.workers)
    print(json.dumps({k: v for k, v in r.items() if k != 'history'}, indent=1, default=float)[:4000]); print(p)

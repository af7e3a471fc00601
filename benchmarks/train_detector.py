"""Train the Faster R-CNN face+gender detector for a wall-clock budget, then evaluate it on the held-out test split.

From random init on CPU here (no COCO weights can be downloaded); `--device cuda` and `--arch` for a GPU run.
A recipe is a set of options (box-head width, RPN proposals, RoIs per image, input scale, composites, teacher,
gender balance). The learning rate warms up, then follows a cosine over the budget's training time, so the run ends
at a low rate wherever it stops. Checkpoints come every `--epoch-steps` steps; a killed run goes on with `--resume`.
Writes results/train_detector-RECIPE.json and .png (curves of validation accuracy against training minutes, test
metrics with the subgroup table); never asserts anything.
Usage: python benchmarks/train_detector.py --recipe fast-teacher --minutes 90 [--resume]
"""
import argparse, json, time, warnings
from pathlib import Path
import numpy as np
import torch
from femverify.annotate import merge_coco
from femverify.train import RECIPES, FaceDataset, recipe_datasets, fit, predict_dataset
from femverify.detect import get_detector
from femverify.metrics import coco_map, top_box_report, top_box_table
from common import save, threads

ROOT = Path(__file__).resolve().parent.parent
ANN = [str(ROOT / 'runs' / 'annotations' / n) for n in ('utkface.json', 'lfw.json')]
TEACHER = ROOT / 'runs' / 'teacher' / 'dlib.npz'  # written by benchmarks/teacher.py
def subset(ds, n, seed=0):
    "`ds` cut to a seeded sample of `n` photos (a quick validation set)."
    if n and n < len(ds): ds.images = [ds.images[i] for i in sorted(np.random.default_rng(seed).choice(len(ds), n, replace=False))]
    return ds


def main(recipe='fast-teacher', minutes=30.0, arch='fasterrcnn_mobilenet_v3_large_320_fpn', device='cpu', batch_size=8,
         n_threads=2, workers=0, epoch_steps=150, val_limit=500, resume=False, channels_last=True, tag='', freeze=None):
    if device == 'cpu': threads(n_threads)
    r, dev = RECIPES[recipe], torch.device(device)
    for p in ANN:
        if not Path(p).exists(): raise SystemExit(f'{p} missing: run `femverify annotate` first (see the model card)')
    coco = merge_coco(ANN)
    tr, va = recipe_datasets(coco, recipe, TEACHER if r['teacher'] else None)
    va, te = subset(va, val_limit), FaceDataset(coco, split='test')
    teacher = getattr(tr, 'ds', tr).teacher
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter('always')
        model_kw = dict(r['model_kw'], **({} if freeze is None else dict(freeze=freeze)))  # freeze: dlib's trunk only
        model = get_detector(arch, pretrained=True, **model_kw)
    if channels_last and r['model_kw']: model = model.to(memory_format=torch.channels_last)
    name = f'train_detector-{recipe}' + ('' if (arch, device) == ('fasterrcnn_mobilenet_v3_large_320_fpn', 'cpu') else f'-{arch}-{device}') + (f'-{tag}' if tag else '')
    out = ROOT / 'runs' / name  # the checkpoint stays out of git until it is exported to models/
    ck = out / 'model.pt'
    hist = fit(model, tr, va, out=out, epochs=10_000, batch_size=batch_size, warmup=100, device=dev, workers=workers,
               max_seconds=minutes * 60, epoch_steps=epoch_steps, resume=ck if resume and ck.exists() else None,
               config=dict(arch=arch, model_kw=model_kw, recipe=recipe, annotations=ANN, teacher=str(TEACHER) if r['teacher'] else None,
                           balance=r['balance'], composites=r['composites']))
    t1 = time.time(); preds = predict_dataset(model, te, dev); pred_s = time.time() - t1
    m = coco_map(preds, te, curves=True); rep = top_box_report(preds, te)
    n_tr = len(tr)
    res = dict(recipe=recipe, options=r, arch=arch, freeze=freeze, tag=tag, device=device, threads=n_threads, weights=model.weights, weights_warning=[str(x.message)[:200] for x in w],
               budget_minutes=minutes, train_photos=n_tr, teacher_faces=len(teacher or {}), epochs_run=len(hist), batch_size=batch_size,
               steps=sum(h['steps'] for h in hist), images_seen=sum(h['steps'] for h in hist) * batch_size,
               train_images_per_s=sum(h['steps'] for h in hist) * batch_size / sum(h['train_seconds'] for h in hist),
               val=dict(photos=len(va), **{k[4:]: hist[-1].get(k) for k in ('val_map', 'val_map50', 'val_iou_mean', 'val_gender_accuracy')}),
               test=dict(photos=len(te), coco=dict(map=m['map'], map50=m['map50']), top_box=rep, predict_images_per_s=len(te) / pred_s),
               history=hist, annotations=ANN, checkpoint=str(ck))
    return save(name, res, plot(res, preds, te)), res


def plot(res, preds, te):
    "Validation accuracy and mAP@.5 against training minutes, then the test split's IoU, confusion and PR."
    from femverify.metrics import plot_detection
    fig = plot_detection(res['test']['top_box'], top_box_table(preds, te), coco_map(preds, te, curves=True)['pr'])
    fig.suptitle(f"{res['recipe']}: {res['arch']} on {res['device']}, {res['budget_minutes']:g} min, {res['weights']}: test split ({len(te)} photos)", y=1.03)
    return fig


if __name__ == '__main__':
    a = argparse.ArgumentParser()
    a.add_argument('--recipe', default='fast-teacher', choices=list(RECIPES)); a.add_argument('--minutes', type=float, default=30)
    a.add_argument('--arch', default='fasterrcnn_mobilenet_v3_large_320_fpn'); a.add_argument('--device', default='cpu')
    a.add_argument('--batch-size', type=int, default=8); a.add_argument('--threads', type=int, default=2)
    a.add_argument('--workers', type=int, default=0); a.add_argument('--epoch-steps', type=int, default=150)
    a.add_argument('--val-limit', type=int, default=500); a.add_argument('--resume', action='store_true')
    a.add_argument('--tag', default='', help='suffix of the result name, so that a comparison run keeps the shipped record')
    a.add_argument('--freeze', type=int, default=None, help="stages of dlib's trunk kept fixed (fasterrcnn_dlib_fpn only)")
    a = a.parse_args()
    p, r = main(a.recipe, a.minutes, a.arch, a.device, a.batch_size, a.threads, a.workers, a.epoch_steps, a.val_limit, a.resume, tag=a.tag, freeze=a.freeze)
    print(json.dumps({k: v for k, v in r.items() if k != 'history'}, indent=1, default=float)[:4000]); print(p)

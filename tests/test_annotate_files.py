"""Annotation files as a user gets them: pycocotools loads each, boxes lie inside their photo, areas match,
the COCO round trip gives the model's boxes back, and a run or a write killed midway loses nothing."""
import contextlib, io, json, os, random, signal, subprocess, sys, time
from pathlib import Path
import numpy as np
import pytest
from PIL import Image
from pycocotools.coco import COCO
from femverify.annotate import annotate, merge_coco
from femverify.gate import REASONS, FaceFinder
from femverify.data import read_folders, coco_to_xyxy
from femverify.train import FaceDataset
from conftest import HOPPER, ROOT


def load_coco(path):
    with contextlib.redirect_stdout(io.StringIO()): return COCO(str(path))


@pytest.fixture(scope='module')
def dataset(tmp_path_factory):
    "A small gender-folder dataset: Grace Hopper at several sizes and crops (one tight), mirrored, a blank and a pair."
    d = tmp_path_factory.mktemp('ds'); h = Image.open(HOPPER).convert('RGB')
    ims = {'female/a.jpg': h, 'female/b.jpg': h.transpose(Image.FLIP_LEFT_RIGHT), 'female/c.jpg': h.resize((256, 300)),
           'male/d.jpg': h.crop((60, 40, 480, 520)), 'male/e.png': h.resize((1024, 1200)), 'female/blank.jpg': Image.new('RGB', (300, 300)),
           'female/tight.jpg': h.crop((185, 135, 345, 330)).resize((200, 200))}  # a UTKFace-like tight crop: MTCNN's box runs past the edges
    pair = Image.new('RGB', (1024, 600)); pair.paste(h, (0, 0)); pair.paste(h, (512, 0)); ims['male/pair.jpg'] = pair
    for rel, im in ims.items(): (d / rel).parent.mkdir(exist_ok=True, parents=True); im.save(d / rel)
    return d


@pytest.fixture(scope='module')
def finder(): return FaceFinder()


def check_coco_file(path, root):
    c = load_coco(path)
    assert c.getImgIds() and len(c.getAnnIds()) == len(c.getImgIds())
    assert {cat['id']: cat['name'] for cat in c.loadCats(c.getCatIds())} == {1: 'female', 2: 'male'}
    for a in c.loadAnns(c.getAnnIds()):
        im = c.loadImgs(a['image_id'])[0]
        x, y, w, h = a['bbox']
        assert 0 <= x and 0 <= y and x + w <= im['width'] + 1e-3 and y + h <= im['height'] + 1e-3, (im['file_name'], a['bbox'])
        assert w > 0 and h > 0 and abs(a['area'] - w * h) < 1e-3 and a['iscrowd'] == 0
        with Image.open(Path(root) / im['file_name']) as f: assert f.size == (im['width'], im['height'])
    return c


def test_written_files_load_and_boxes_are_valid(dataset, finder, tmp_path):
    s = annotate(read_folders(dataset), tmp_path / 'ann.json', finder=finder, progress=False)
    assert s['kept'] == 6 and s['rejected'] == {'no_face': 1, 'multiple_faces': 1}
    c = check_coco_file(tmp_path / 'ann.json', dataset)
    big = next(i for i in c.loadImgs(c.getImgIds()) if i['file_name'] == 'male/e.png')
    assert (big['width'], big['height']) == (1024, 1200)  # boxes of downscaled detection are in the original's pixels
    rej = json.loads((tmp_path / 'ann.rejects.json').read_text())
    assert {r['file_name']: r['reason'] for r in rej} == {'female/blank.jpg': 'no_face', 'male/pair.jpg': 'multiple_faces'}
    assert set(s['rejected']) <= set(REASONS) and all(r['reason'] in REASONS for r in rej)
    merged = tmp_path / 'merged.json'; merged.write_text(json.dumps(merge_coco([tmp_path / 'ann.json'] * 2)))
    check_coco_file(merged, '/')


def test_coco_round_trip_to_model_targets(dataset, finder, tmp_path):
    annotate(read_folders(dataset), tmp_path / 'ann.json', finder=finder, progress=False)
    coco = json.loads((tmp_path / 'ann.json').read_text())
    ds = FaceDataset(tmp_path / 'ann.json')
    for i, im in enumerate(ds.images):
        a = next(a for a in coco['annotations'] if a['image_id'] == im['id'])
        t = ds.target(i)
        np.testing.assert_allclose(t['boxes'].numpy(), coco_to_xyxy(a['bbox']), atol=1e-4)
        assert t['labels'].tolist() == [{'female': 1, 'male': 2}[im['gender']]]


WRITER = """
import sys, json
from femverify.core import atomic_write
n = int(sys.argv[2]); payload = json.dumps({'version': 'new', 'rows': ['x' * 1000] * n})
print('ready', flush=True)
while True: atomic_write(sys.argv[1], payload)
"""


def test_killed_write_leaves_a_whole_file(tmp_path):
    target = tmp_path / 'ann.json'; target.write_text(json.dumps({'version': 'old'}))
    rng = random.Random(0)
    for k in range(10):
        p = subprocess.Popen([sys.executable, '-c', WRITER, str(target), '20000'], stdout=subprocess.PIPE, text=True)
        assert p.stdout.readline().strip() == 'ready'
        time.sleep(rng.uniform(0.0, 0.3)); p.send_signal(signal.SIGKILL); p.wait()
        assert json.loads(target.read_text())['version'] in ('old', 'new'), f'kill {k} left a broken file'
    assert not [f for f in tmp_path.iterdir() if f.name != 'ann.json' and not f.name.endswith('.tmp')]


def test_killed_annotation_run_resumes(tmp_path):
    "Kill `femverify annotate` mid-run; every file it left parses, and the next run only does what is left."
    d = tmp_path / 'ds' / 'female'; d.mkdir(parents=True)
    h = Image.open(HOPPER).convert('RGB').resize((200, 234))
    for i in range(40): h.rotate(i % 7 - 3).save(d / f'{i:02d}.jpg')
    cmd = [str(ROOT / '.venv' / 'bin' / 'femverify'), 'annotate', str(tmp_path / 'ds'), '--out', str(tmp_path / 'ann.json'), '--batch-size', '4', '--chunk', '8']
    env = dict(os.environ, FEMVERIFY_DEVICE='cpu')
    p = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.time() + 120
    while time.time() < deadline and not (tmp_path / 'ann.progress.json').exists(): time.sleep(0.05)
    p.send_signal(signal.SIGKILL); p.wait()
    done = json.loads((tmp_path / 'ann.progress.json').read_text())
    assert 0 < len(done) <= 40
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    r = json.loads(out.stdout)
    assert r['processed'] == 40 - len(done) and r['kept'] == 40

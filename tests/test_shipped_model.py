"""The gender detector that ships in models/: its file, its recorded metadata, and that a fresh service loads it by default.

Offline and without ../shared/data: nothing here measures accuracy (that needs the data; see models/README.md and
benchmarks/ship_detector.py). It checks what a user relies on when the file loads: its size, its precision, its classes,
the review band chosen for it, the record of how it was made, and that /detect gives a gender answer with it.
"""
import io
import torch
from api import create_app
from femverify.core import Config
from femverify.detect import load_detector
from femverify.service import FaceService, shipped_detector
from conftest import HOPPER, ROOT, TEMPLATE_KEY


def test_file_is_small_fp16_and_documented():
    p = shipped_detector()
    assert p == ROOT / 'models' / 'gender_detector.pt' and p.is_file() and p.stat().st_size <= 25 * 2**20
    ck = torch.load(p, map_location='cpu', weights_only=True)  # plain tensors and Python values only
    assert ck['format'] == 'femverify-detector/1' and ck['classes'] == {0: 'background', 1: 'female', 2: 'male'}
    assert all(v.dtype == torch.float16 for v in ck['model'].values() if v.is_floating_point())
    assert not any(k.startswith('roi_heads.teacher') for k in ck['model'])  # training-only parts are left out
    lo, hi = ck['gender_band']; assert 0 <= lo <= hi <= 1
    assert ck['config']['arch'] and ck['recipe'] and ck['code_version'] and isinstance(ck['counts_faces'], bool)
    assert {'test', 'rates', 'groups', 'gate'} <= set(ck['metrics']) and ck['metrics']['test']['photos'] > 1000
    assert (ROOT / 'models' / 'README.md').read_text().count(ck['recipe']) >= 1  # the model card names the recipe


def test_loads_and_answers_by_default(tmp_path, no_network):
    m = load_detector(shipped_detector())
    assert m.meta['gender_band'] and not m.training
    svc = FaceService(Config(template_key=TEMPLATE_KEY, liveness='off', db_path=tmp_path / 'f.db', weights_dir=tmp_path))  # no FEMVERIFY_DETECTOR_PATH
    h = svc.health()['models']['detector']
    assert h['loaded'] and 'gender_detector.pt' in h['weights'] and h['gender_band'] == list(m.meta['gender_band'])
    c = create_app({'TESTING': True}, service=svc).test_client()
    r = c.post('/api/v1/detect', data={'image': (io.BytesIO(HOPPER.read_bytes()), 'gh.jpg')}).get_json()
    assert r['counted_by'] in ('detector', 'mtcnn') and r['counted_by'] == ('detector' if m.meta['counts_faces'] else 'mtcnn')
    assert r['quality'] == 'ok' and r['gender']['answer'] in ('female', 'not_female', 'review'), r

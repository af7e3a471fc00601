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


def test_a_dlib_trunk_detector_ships_without_dlibs_layers_and_checks_them(tmp_path):
    "`fasterrcnn_dlib` keeps dlib's layers as dlib trained them: the exported file leaves them out and names dlib's file."
    import pytest
    from femverify.core import WeightsCorrupt
    from femverify.annotate import LABELS
    from femverify.detect import _save, export_detector, get_detector
    from femverify.dlibnet import load_dlibnet
    kw = dict(min_size=224, max_size=448, head=64)
    m = get_detector('fasterrcnn_dlib', **kw)
    _save(tmp_path / 'ck.pt', dict(model=m.state_dict(), config=dict(arch='fasterrcnn_dlib', model_kw=kw), classes=LABELS))
    out = export_detector(tmp_path / 'ck.pt', tmp_path / 'det.pt', gender_band=(0.4, 0.6))
    ck = torch.load(out, map_location='cpu', weights_only=True)
    assert not any(k.startswith(tuple(m.frozen)) for k in ck['model']) and len(ck['trunk']['sha256']) == 64
    assert out.stat().st_size < 4 * 2**20  # the trained parts only: dlib's 5.6M parameters come from its own file
    d = load_detector(out)
    assert torch.equal(d.backbone.body[0][0].weight, load_dlibnet().stem[0].weight)  # dlib's weights, read back
    assert torch.equal(d.roi_heads.box_head.layer5[0].conv1.weight, load_dlibnet().layer5[0].conv1.weight)
    with torch.inference_mode(): assert set(d([torch.rand(3, 200, 200)])[0]) == {'boxes', 'labels', 'scores'}
    ck['trunk']['sha256'] = '0' * 64; torch.save(ck, tmp_path / 'other.pt')
    with pytest.raises(WeightsCorrupt, match='trained on dlib'): load_detector(tmp_path / 'other.pt')


def test_a_gender_branch_ships_its_layer_not_dlibs_network_and_a_file_without_it_is_refused(tmp_path):
    "The branch's logistic layer travels in the file; its copy of dlib's network is read back from dlib's own file."
    import pytest
    from femverify.core import WeightsCorrupt
    from femverify.annotate import LABELS
    from femverify.detect import _save, export_detector, get_detector
    from femverify.dlibnet import load_dlibnet
    kw = dict(min_size=224, max_size=448, head=64, gender_branch=True)
    m = get_detector('fasterrcnn_dlib', **kw).eval()
    with torch.no_grad(): m.roi_heads.gender.linear.weight.fill_(0.05); m.roi_heads.gender.linear.bias.fill_(-0.2)
    _save(tmp_path / 'ck.pt', dict(model=m.state_dict(), config=dict(arch='fasterrcnn_dlib', model_kw=kw), classes=LABELS))
    out = export_detector(tmp_path / 'ck.pt', tmp_path / 'det.pt', gender_band=(0.4, 0.6))
    ck = torch.load(out, map_location='cpu', weights_only=True)
    assert 'roi_heads.gender.linear.weight' in ck['model'] and not any(k.startswith('roi_heads.gender.net.') for k in ck['model'])
    d = load_detector(out)
    assert torch.equal(d.roi_heads.gender.net.fc.weight, load_dlibnet().fc.weight)
    torch.manual_seed(0); x = torch.rand(3, 200, 200)
    with torch.inference_mode(): a, b = m([x])[0], d([x])[0]
    assert len(a['boxes']) and torch.allclose(a['scores'][:3], b['scores'][:3], atol=1e-2)  # float16 gives the same faces
    fem, men = b['labels'] == 1, b['labels'] == 2
    assert torch.equal(b['boxes'][fem], b['boxes'][men])  # every face twice, female then male (none below the threshold here)
    with torch.inference_mode(): q = d.roi_heads.gender(d.transform([x])[0].tensors, b['boxes'][fem] * 224 / 200)
    assert torch.allclose(b['scores'][fem] / (b['scores'][fem] + b['scores'][men]), q, atol=1e-3)  # the split is the branch's
    del ck['model']['roi_heads.gender.linear.weight']; torch.save(ck, tmp_path / 'cut.pt')
    with pytest.raises(WeightsCorrupt, match='does not fit'): load_detector(tmp_path / 'cut.pt')

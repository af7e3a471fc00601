"""BlazeFace offline (#30): the shipped file parses, the network builds, PyTorch agrees with TFLite's own runtime on the
packaged photos, a malformed or altered file is refused with a clear error, and the service says which finder runs.

The runtime's outputs come from `benchmarks/blazeface_parity.py --write` (ai-edge-litert, in an environment of its own,
never a dependency): `models/blazeface_parity.json` holds them at the 16 best anchors of each packaged photo. It lives
here as well as in 01c_blazeface because the parity must hold for the file in the repository, on any machine.
"""
import json, shutil
import numpy as np
import pytest
import torch
from PIL import Image
import skimage.data
from conftest import HOPPER, ROOT, TEMPLATE_KEY
from femverify.core import Config, WeightsCorrupt, WeightsUnavailable
from femverify.gate import FaceFinder, judge
from femverify import blazeface
from femverify.blazeface import BlazeFinder, TFLiteNet, detect, letterbox, load_blazeface, read_tflite, shipped_blazeface, to_input


@pytest.fixture(scope='module')
def photos():
    h = Image.open(HOPPER).convert('RGB')
    pair = Image.new('RGB', (1024, 600))
    pair.paste(h, (0, 0)), pair.paste(h, (512, 0))
    return [h, Image.fromarray(skimage.data.astronaut()), pair]


def test_the_shipped_file_parses_and_the_network_builds():
    g = read_tflite(shipped_blazeface())
    assert {op['op'] for op in g.ops} <= set(blazeface.OPS.values()) and len(g.ops) == 164
    net = TFLiteNet(g).eval()
    with torch.inference_mode(): r, c = net(torch.zeros(3, 3, 128, 128))
    assert (tuple(r.shape), tuple(c.shape)) == ((3, 896, 16), (3, 896, 1))
    assert sum(p.numel() for p in net.parameters()) == 101_390


def test_parity_with_tflites_runtime_on_packaged_photos(photos):
    ref = json.loads((ROOT / 'models' / 'blazeface_parity.json').read_text())['photos']
    assert [r['photo'] for r in ref] == ['grace_hopper', 'astronaut', 'two_faces']
    with torch.inference_mode(): raw, logits = load_blazeface()(to_input([letterbox(im)[0] for im in photos]))
    for k, r in enumerate(ref):
        i = r['anchors']
        assert np.abs(raw[k, i].numpy() - np.array(r['regressors'])).max() / 128 < 1e-4  # coordinates, as a share of the input
        p, q = torch.sigmoid(logits[k, i]).numpy(), 1 / (1 + np.exp(-np.array(r['logits'])))
        assert np.abs(p - q).max() < 1e-4 and q[0] > 0.9  # probabilities; the best anchor is a face


@pytest.mark.parametrize('damage', ['truncated', 'not_tflite', 'empty'])
def test_a_malformed_file_is_refused_clearly(tmp_path, damage):
    good = shipped_blazeface().read_bytes()
    bad = tmp_path / 'bad.tflite'
    bad.write_bytes({'truncated': good[:20_000], 'not_tflite': b'\x00' * 64, 'empty': b''}[damage])
    with pytest.raises(WeightsCorrupt, match='bad.tflite'): load_blazeface(bad)


def test_an_altered_shipped_file_fails_its_checksum(tmp_path, monkeypatch):
    p = tmp_path / 'models' / 'blazeface_short_range.tflite'
    p.parent.mkdir()
    shutil.copy(shipped_blazeface(), p)
    with open(p, 'r+b') as f: f.seek(100_000), f.write(b'\x01\x02')
    monkeypatch.setattr(blazeface, 'shipped_blazeface', lambda: p)
    with pytest.raises(WeightsCorrupt, match='SHA-256'): load_blazeface()
    with pytest.raises(WeightsUnavailable): load_blazeface(tmp_path / 'missing.tflite')


def test_the_finder_gives_the_gates_verdicts_of_mtcnn(photos):
    blank = Image.new('RGB', (400, 300), (128, 128, 128))
    ims = photos + [blank]
    new, old = BlazeFinder(max_side=640)(ims), FaceFinder(max_side=640)(ims)
    assert [judge(f, im)['reason'] for f, im in zip(new, ims)] == [judge(f, im)['reason'] for f, im in zip(old, ims)] == \
        ['ok', 'ok', 'multiple_faces', 'no_face']
    assert [len(d['boxes']) for d in detect(load_blazeface(), ims)] == [1, 1, 2, 0]


def test_the_service_names_its_finder(tmp_path):
    from femverify.service import FaceService
    base = dict(template_key=TEMPLATE_KEY, db_path=tmp_path / 'f.db', liveness='off')
    h = FaceService(Config(**base)).health()['models']['face_finder']
    assert (h['name'], 'blazeface_short_range.tflite' in h['weights'], 'MTCNN' in h['weights']) == ('blazeface+mtcnn', True, True)
    assert FaceService(Config(**base, face_finder='mtcnn')).health()['models']['face_finder']['name'] == 'mtcnn'
    broken = FaceService(Config(**base, blazeface_path=tmp_path / 'none.tflite')).health()
    assert broken['status'] == 'degraded' and broken['models']['face_finder']['name'] == 'mtcnn'  # said, never hidden
    with pytest.raises(ValueError, match='FEMVERIFY_FACE_FINDER'): FaceService(Config(**base, face_finder='yolo'))

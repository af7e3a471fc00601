"""dlib's network in PyTorch against dlib-bin itself, on the same machine: dlib is the oracle, so this is an
integration test across two packages and the shipped weights file, offline (chips of photos that packages ship)."""
import shutil
import numpy as np
import pytest
import torch
from PIL import Image
from skimage.data import astronaut
from femverify.core import WeightsCorrupt, load_image
from femverify.dlibnet import DatError, load_dlibnet, read_dat
from femverify.verify import Dlib, dlib_file
from conftest import HOPPER, TEMPLATE_KEY


@pytest.fixture(scope='module')
def oracle():
    return Dlib(backend='dlib')


def chips_of_packaged_photos(dl):
    photos = [load_image(HOPPER), Image.fromarray(astronaut()), load_image(HOPPER).rotate(8, expand=True)]
    chips = dl.chips(photos, [dl.finder([p])[0].boxes[0] for p in photos])
    return chips + [np.ascontiguousarray(c[:, ::-1]) for c in chips] + [np.random.default_rng(1).integers(0, 256, (150, 150, 3), np.uint8)]


def test_shipped_dat_parses_into_the_network_that_dlib_computes(oracle):
    dat = read_dat(dlib_file('net').read_bytes())
    assert [l['kind'] for l in dat['layers']].count('con') == 29 and dat['size'] == (150, 150)
    chips = chips_of_packaged_photos(oracle)
    theirs = np.array(oracle.net.compute_face_descriptor(chips), np.float32)
    with torch.inference_mode(): ours = load_dlibnet()(torch.from_numpy(np.stack(chips)).permute(0, 3, 1, 2).float()).numpy()
    assert np.abs(ours - theirs).max() <= 1e-4
    assert np.abs(theirs).max() > 0.1  # real descriptors, not zeros on both sides


def test_the_embedder_gives_the_same_embeddings_on_both_backends(oracle):
    photos = [load_image(HOPPER), Image.fromarray(astronaut())]
    a, b = Dlib(backend='torch', finder=oracle.finder)(photos), oracle(photos)
    assert all(x.shape == (1, 128) for x in a) and max(float(np.abs(x - y).max()) for x, y in zip(a, b)) <= 1e-5
    assert Dlib(backend='torch', finder=oracle.finder).model == oracle.model  # templates stay valid across engines


@pytest.mark.parametrize('damage', ['truncated', 'padded', 'garbage', 'empty', 'renamed_layer'])
def test_a_malformed_dat_is_a_clear_error(damage, tmp_path):
    good = dlib_file('net').read_bytes()
    bad = dict(truncated=good[:len(good) // 3], padded=good + b'\x01', garbage=b'\x89PNG\r\n' * 50, empty=b'',
               renamed_layer=good.replace(b'affine_', b'afline_', 1))[damage]
    with pytest.raises(DatError) as e: read_dat(bad)
    assert isinstance(e.value, WeightsCorrupt) and ('byte' in str(e.value) or 'version' in str(e.value))
    shutil.copy(dlib_file('landmarks'), tmp_path)
    (tmp_path / 'dlib_face_recognition_resnet_model_v1.dat').write_bytes(bad)
    with pytest.raises(WeightsCorrupt): Dlib(weights_dir=tmp_path)


def test_a_broken_dat_fails_closed_in_the_service(tmp_path):
    from femverify.core import Config
    from femverify.service import FaceService
    shutil.copy(dlib_file('landmarks'), tmp_path)
    (tmp_path / 'dlib_face_recognition_resnet_model_v1.dat').write_bytes(dlib_file('net').read_bytes()[:1000])
    s = FaceService(Config(template_key=TEMPLATE_KEY, liveness='off', weights_dir=tmp_path, embedder='dlib', db_path=tmp_path / 'db.sqlite', gender_check=False))
    h = s.health()
    assert h['models']['embedder']['loaded'] is False and 'ends at byte' in h['models']['embedder']['reason']


def test_the_trunk_is_a_detector_backbone_started_from_dlibs_weights():
    from femverify.detect import get_detector
    m = get_detector('fasterrcnn_dlib_fpn', head=64)
    net = load_dlibnet()
    assert torch.equal(m.backbone.body['4'][0].conv1.weight, net.layer4[0].conv1.weight)
    m.train()
    losses = m([torch.rand(3, 160, 160)], [dict(boxes=torch.tensor([[40., 30, 120, 130]]), labels=torch.tensor([1]))])
    sum(losses.values()).backward()
    assert m.backbone.body['4'][0].conv1.weight.grad is not None and m.backbone.body['0'][0].weight.grad is None  # stem frozen

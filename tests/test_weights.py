"""weights_file with the network unreachable: missing, present, corrupt, wrong hash, and an allowed download that can't connect."""
import pytest
import torch
from femverify.core import WEIGHTS, WeightsCorrupt, WeightsUnavailable, weights_file


@pytest.fixture(autouse=True)
def empty_cache(tmp_path, monkeypatch):
    "torch's hub cache and FEMVERIFY_WEIGHTS_DIR point at empty temp folders, so nothing real is found."
    monkeypatch.setenv('TORCH_HOME', str(tmp_path / 'torch'))
    monkeypatch.delenv('FEMVERIFY_WEIGHTS_DIR', raising=False)
    monkeypatch.delenv('FEMVERIFY_ALLOW_DOWNLOAD', raising=False)


def test_missing_names_file_and_folder(tmp_path, no_network):
    with pytest.raises(WeightsUnavailable) as e: weights_file('vggface2', weights_dir=tmp_path)
    msg = str(e.value)
    assert '20180402-114759-vggface2.pt' in msg and str(tmp_path) in msg and 'github.com' in msg


def test_missing_without_weights_dir_names_hub_cache(tmp_path, no_network):
    with pytest.raises(WeightsUnavailable, match=str(tmp_path / 'torch' / 'hub' / 'checkpoints')):
        weights_file('fasterrcnn_resnet50_fpn_v2')


def test_present_found_via_env_without_network(tmp_path, monkeypatch, no_network):
    monkeypatch.setenv('FEMVERIFY_WEIGHTS_DIR', str(tmp_path))
    dst = tmp_path / WEIGHTS['vggface2'].filename
    torch.save({'logits.weight': torch.randn(3, 4)}, dst)
    assert weights_file('vggface2') == dst


def test_explicit_path_wins(tmp_path, no_network):
    p = tmp_path / 'mine.pt'; torch.save({'a': torch.ones(1)}, p)
    assert weights_file('casia-webface', path=p) == p
    with pytest.raises(WeightsUnavailable, match='does not exist'): weights_file('casia-webface', path=tmp_path / 'nope.pt')


@pytest.mark.parametrize('content, match', [(b'', 'empty'), (b'\x80\x02garbage' * 10, 'not a loadable state dict')])
def test_corrupt_facenet_file(tmp_path, no_network, content, match):
    (tmp_path / WEIGHTS['vggface2'].filename).write_bytes(content)
    with pytest.raises(WeightsCorrupt, match=match): weights_file('vggface2', weights_dir=tmp_path)


def test_truncated_state_dict(tmp_path, no_network):
    p = tmp_path / WEIGHTS['vggface2'].filename
    torch.save({'w': torch.randn(1000)}, p); p.write_bytes(p.read_bytes()[:500])
    with pytest.raises(WeightsCorrupt, match='not a loadable'): weights_file('vggface2', weights_dir=tmp_path)


def test_wrong_hash_torchvision_file(tmp_path, no_network):
    spec = WEIGHTS['fasterrcnn_mobilenet_v3_large_fpn']
    torch.save({'w': torch.randn(10)}, tmp_path / spec.filename)
    with pytest.raises(WeightsCorrupt, match='SHA-256'): weights_file('fasterrcnn_mobilenet_v3_large_fpn', weights_dir=tmp_path)


def test_allowed_download_that_cannot_connect(tmp_path, no_network):
    with pytest.raises(WeightsUnavailable, match="can't download"):
        weights_file('casia-webface', weights_dir=tmp_path, allow_download=True)
    assert not list((tmp_path / 'torch').rglob('*.pt')), 'a failed download must leave no partial file'


def test_unknown_name():
    with pytest.raises(KeyError, match='known'): weights_file('resnet9000')

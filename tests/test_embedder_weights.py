"""The Embedder loads FaceNet weights through weights_file from a folder, with the network unreachable."""
import numpy as np
import pytest
import torch
from facenet_pytorch import InceptionResnetV1
from femverify.core import WEIGHTS, WeightsCorrupt, WeightsUnavailable, load_image
from femverify.verify import FaceNet as Embedder
from conftest import HOPPER


def test_embedder_loads_saved_state_dict_offline(tmp_path, monkeypatch, no_network):
    monkeypatch.setenv('TORCH_HOME', str(tmp_path / 'torch'))
    torch.manual_seed(1)
    net = InceptionResnetV1(pretrained=None, classify=True, num_classes=8631)  # the layout of the real file, logits included
    sd = net.state_dict()
    torch.save(sd, tmp_path / WEIGHTS['vggface2'].filename)
    emb = Embedder('vggface2', weights_dir=tmp_path)
    assert torch.equal(emb.net.last_linear.weight, sd['last_linear.weight'])
    e = emb([load_image(HOPPER)])[0]
    assert e.shape == (1, 512) and abs(np.linalg.norm(e) - 1) < 1e-5


def test_embedder_without_weights_says_where_to_put_them(tmp_path, monkeypatch, no_network):
    monkeypatch.setenv('TORCH_HOME', str(tmp_path / 'torch'))
    with pytest.raises(WeightsUnavailable, match=str(tmp_path)):
        Embedder('vggface2', weights_dir=tmp_path, allow_download=False)


def test_embedder_refuses_weights_of_another_network(tmp_path, no_network):
    torch.save({'conv.weight': torch.zeros(3)}, tmp_path / WEIGHTS['vggface2'].filename)
    with pytest.raises(WeightsCorrupt, match='does not fit'):
        Embedder('vggface2', weights_dir=tmp_path)

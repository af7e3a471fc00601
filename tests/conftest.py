"""Shared fixtures: real photos that ship with matplotlib, photos made here, the service and Flask client, no network."""
import io, itertools, os, socket
from types import SimpleNamespace
from pathlib import Path
import matplotlib.cbook
import pytest
import torch
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
HOPPER = Path(matplotlib.cbook.get_sample_data('grace_hopper.jpg', asfileobj=False))
API_KEY = 'test-key-0123456789'
TEMPLATE_KEY = 'dGVzdC10ZW1wbGF0ZS1rZXktMzItYnl0ZXMtbG9uZyE='  # base64 of 32 bytes: seals the test stores' templates
os.environ.setdefault('FEMVERIFY_TEMPLATE_KEY', TEMPLATE_KEY)  # for the servers and console scripts the tests start
os.environ.setdefault('FEMVERIFY_LIVENESS', 'off')  # they register from photos; tests/test_liveness.py turns it on


@pytest.fixture(autouse=True)
def same_site_clients(monkeypatch):
    "Every Flask test client sends X-Requested-With, as the web page and the app's backend do; `cross_site` makes one that doesn't."
    from flask.testing import FlaskClient
    init = FlaskClient.__init__
    def same_site(self, *a, **k):
        init(self, *a, **k)
        self.environ_base.setdefault('HTTP_X_REQUESTED_WITH', 'test')
    monkeypatch.setattr(FlaskClient, '__init__', same_site)


def cross_site(client):
    "`client` without the same-site header: what a form or a no-cors fetch from another site's page sends."
    client.environ_base.pop('HTTP_X_REQUESTED_WITH', None); return client


@pytest.fixture
def no_network(monkeypatch):
    "Any attempt to open a network connection fails, as on a machine that can't reach the weights' hosts."
    def refuse(*a, **k): raise OSError('network unreachable (blocked by test)')
    monkeypatch.setattr(socket.socket, 'connect', refuse)
    monkeypatch.setattr(socket, 'create_connection', refuse)
    monkeypatch.setattr(socket, 'getaddrinfo', refuse)



def jpeg(im, **kw) -> bytes:
    b = io.BytesIO(); im.save(b, 'JPEG', **kw); return b.getvalue()


@pytest.fixture(scope='session')
def photos():
    "Real and made photos as JPEG bytes: one face, none, two, a small mirrored face."
    h = Image.open(HOPPER).convert('RGB')
    pair = Image.new('RGB', (1024, 600)); pair.paste(h, (0, 0)); pair.paste(h, (512, 0))
    return dict(one=jpeg(h), blank=jpeg(Image.new('RGB', (400, 300), (128, 128, 128))), two=jpeg(pair),
                mirrored=jpeg(h.transpose(Image.FLIP_LEFT_RIGHT)))


@pytest.fixture(scope='session')
def other_woman():
    "Another woman's face as JPEG bytes (scikit-image's astronaut, Eileen Collins): a real impostor for grace_hopper."
    import skimage.data
    return jpeg(Image.fromarray(skimage.data.astronaut()))


class FakeDetector(torch.nn.Module):
    "A stand-in gender detector: boxes the whole photo's centre with a fixed female probability."
    def __init__(self, p_female=0.9):
        super().__init__(); self.p = p_female; self.w = torch.nn.Parameter(torch.zeros(1)); self.weights = 'fake'
        self.transform = SimpleNamespace(min_size=(320,), max_size=640)  # as torchvision's GeneralizedRCNNTransform

    def forward(self, images):
        out = []
        for x in images:
            h, w = x.shape[-2:]
            box = torch.tensor([[w * .3, h * .2, w * .7, h * .6]] * 2)
            out.append(dict(boxes=box, labels=torch.tensor([1, 2]), scores=torch.tensor([self.p, 1 - self.p])))
        return out


def make_service(tmp_path, detector=None, **cfg):
    "A real FaceService (random FaceNet weights: nothing can be downloaded here) on a temp database, without the shipped detector."
    from femverify.core import Config
    from femverify.service import FaceService
    c = dict(facenet='random', gender_check=detector is not None, db_path=tmp_path / 'f.db', weights_dir=tmp_path, detector_path=tmp_path / 'no-detector.pt',
             template_key=TEMPLATE_KEY, liveness='off')  # registering from photos: liveness off, said explicitly
    if cfg.get('embedder', 'auto') != 'dlib' and cfg.get('facenet', 'random') == 'random' and 'threshold_path' not in cfg:
        c['verify_threshold'] = 0.6  # random FaceNet has no calibration: set explicitly, as FEMVERIFY_VERIFY_THRESHOLD would
    svc = FaceService(Config(**{**c, **cfg}))
    if detector is not None: svc.detector = detector; svc.problems.pop('detector', None)
    return svc


@pytest.fixture
def service(tmp_path):
    return make_service(tmp_path)


@pytest.fixture
def app(service):
    from api import create_app
    return create_app({'TESTING': True, 'API_KEYS': (API_KEY,), 'MAX_CONTENT_LENGTH': 2 * 2**20}, service=service)


@pytest.fixture
def client(app):
    return app.test_client()


def assert_no_biometrics(obj, path='$'):
    "No embedding (a long list of floats) and no photo (bytes, base64 blob) anywhere in a JSON response."
    if isinstance(obj, dict):
        assert 'embedding' not in obj and 'embeddings' not in obj, path
        for k, v in obj.items(): assert_no_biometrics(v, f'{path}.{k}')
    elif isinstance(obj, list):
        assert not (len(obj) >= 64 and all(isinstance(x, float) for x in obj)), f'{path}: a vector of {len(obj)} floats'
        for i, v in enumerate(obj): assert_no_biometrics(v, f'{path}[{i}]')
    elif isinstance(obj, str):
        assert len(obj) < 2000, f'{path}: a {len(obj)}-character string'


# --- the stores: every contract and durability test runs on SQLite and on a real PostgreSQL that the tests start ---

@pytest.fixture(scope='session')
def pg_cluster():
    "A throwaway PostgreSQL 15 cluster on 127.0.0.1 (initdb/pg_ctl from the PATH; as root, run as `nobody`): its URL. Missing server: skip, or fail under CI=true."
    import os
    from femverify.testing import temp_postgres
    try: cm = temp_postgres(); url = cm.__enter__()
    except (FileNotFoundError, RuntimeError) as e:
        if os.environ.get('CI', '').lower() in ('1', 'true', 'yes'): pytest.fail(f'CI=true but PostgreSQL could not be started: {e}')
        pytest.skip(f'PostgreSQL server binaries unavailable: {e}')
    yield url
    cm.__exit__(None, None, None)


_DB_IDS = itertools.count()


def new_database(cluster_url: str) -> str:
    "A fresh, empty database in the test cluster: its URL."
    import psycopg
    name = f't{os.getpid()}_{next(_DB_IDS)}'
    with psycopg.connect(cluster_url, autocommit=True) as c: c.execute(f'CREATE DATABASE "{name}"')
    return cluster_url.rsplit('/', 1)[0] + '/' + name


@pytest.fixture(params=['sqlite', 'postgresql'])
def store_target(request, tmp_path):
    "Where a fresh store lives: a SQLite file path, or a postgresql:// URL of a new database (str either way)."
    if request.param == 'sqlite': return str(tmp_path / 'f.db')
    return new_database(request.getfixturevalue('pg_cluster'))


def open_target(target: str, **kw):
    from femverify.store import open_store
    return open_store(url=target, **kw) if target.startswith('postgresql://') else open_store(target, **kw)

"""The two gender models that ship in models/ (the detector and the gender head on the face descriptor) as a fresh,
offline service loads them: their files and metadata, one fused answer with both scores, and what happens when one or
both are missing. Lives here, not in a notebook: it needs the real shipped files, the Flask API and /health together.
"""
import io, json
import pytest
from api import create_app
from femverify.core import Config, WeightsCorrupt
from femverify.gender import load_head
from femverify.service import FaceService, shipped_gender_head
from conftest import API_KEY, HOPPER, ROOT, TEMPLATE_KEY


def service(tmp_path, **kw):
    return FaceService(Config(template_key=TEMPLATE_KEY, liveness='off', db_path=tmp_path / 'f.db', weights_dir=tmp_path, embedder='dlib', **kw))


def detect(svc):
    c = create_app({'TESTING': True, 'API_KEYS': (API_KEY,)}, service=svc).test_client()
    return c.post('/api/v1/detect', data={'image': (io.BytesIO(HOPPER.read_bytes()), 'gh.jpg')}, headers={'X-API-Key': API_KEY}).get_json()


def test_the_shipped_head_is_small_and_documented():
    p = shipped_gender_head()
    assert p == ROOT / 'models' / 'gender_head.json' and p.stat().st_size < 64 * 1024
    h = load_head(p)
    assert h.model == 'dlib:resnet_v1+flip' and h.coef.shape == (128,) and h.minor_coef.shape == (128,)
    assert {'detector', 'descriptor', 'intercept', 'clip'} <= set(h.fusion) and 0 < h.minor_cut < 1
    for lo, hi in (h.band, h.band_alone): assert 0 <= lo <= hi <= 1
    m = h.meta
    assert m['limits'] == dict(max_false_accept=0.01, max_false_refusal=0.02) and m['train_photos'] > 10_000
    assert {'utkface_adults', 'lfw'} <= set(m['test']) and m['test']['utkface_adults']['n'] > 300
    card = (ROOT / 'models' / 'gender_head.md').read_text()
    assert f"{h.band[0]:.3f}" in card and 'under 18' in card


def test_a_fresh_service_loads_both_and_fuses_them(tmp_path, no_network):
    svc = service(tmp_path)
    h = svc.health()
    assert h['models']['detector']['loaded'] and h['models']['gender_head']['loaded']
    assert h['gender']['models'] == ['detector', 'gender_head'] and h['gender']['missing'] == [] and 'fusion' in h['gender']['decided_by']
    assert h['gender']['band'] == [round(x, 4) for x in svc.gender_head.band]  # the band that decides: the fused one
    g = detect(svc)['gender']
    assert g['decided_by'] == 'fusion' and set(g['models']) == {'detector', 'descriptor'}, g
    assert all(0 <= v['p_female'] <= 1 for v in g['models'].values()) and g['models']['descriptor']['p_female'] > 0.9
    # Grace Hopper: the detector's gender branch is unsure of her (p_female 0.41 in the square), the head is sure (0.96): fused, female
    assert g['answer'] == 'female' and 0.3 < g['models']['detector']['p_female'] < 0.8, g
    from skimage.data import astronaut
    from PIL import Image
    b = io.BytesIO(); Image.fromarray(astronaut()).save(b, 'JPEG')
    c = create_app({'TESTING': True, 'API_KEYS': (API_KEY,)}, service=svc).test_client()
    g = c.post('/api/v1/detect', data={'image': (io.BytesIO(b.getvalue()), 'a.jpg')}, headers={'X-API-Key': API_KEY}).get_json()['gender']
    assert g['answer'] == 'female' and g['decided_by'] == 'fusion', g


def test_without_a_key_detect_gives_decisions_not_scores(tmp_path, no_network):
    "A public score lets a man edit his photo until it passes: /detect shows scores only to callers with a key."
    c = create_app({'TESTING': True, 'API_KEYS': (API_KEY,)}, service=service(tmp_path)).test_client()
    up = lambda: {'image': (io.BytesIO(HOPPER.read_bytes()), 'gh.jpg')}
    public = c.post('/api/v1/detect', data=up()).get_json()
    keyed = c.post('/api/v1/detect', data=up(), headers={'X-API-Key': API_KEY}).get_json()
    wrong = c.post('/api/v1/detect', data=up(), headers={'X-API-Key': 'nope'}).get_json()
    for r in (public, wrong):
        assert r['quality'] == 'ok' and r['gender']['answer'] == keyed['gender']['answer'] and r['box'] == keyed['box']
        assert not any(k in json.dumps(r) for k in ('p_female', 'face_prob', 'sharpness', '"models"')), r
    assert keyed['gender']['models']['descriptor']['p_female'] > 0.9 and 'face_prob' in keyed


@pytest.mark.parametrize('missing', ['detector', 'gender_head'])
def test_with_one_model_missing_the_other_answers_and_health_says_so(tmp_path, missing, no_network):
    kw = dict(detector_path=tmp_path / 'gone.pt') if missing == 'detector' else dict(gender_head_path=tmp_path / 'gone.json')
    svc = service(tmp_path, **kw)
    h = svc.health()
    assert h['status'] == 'degraded' and h['models'][missing]['loaded'] is False and 'gone' in h['models'][missing]['reason']
    assert h['gender']['missing'] == [missing] and h['gender']['decided_by'].endswith('alone')
    alone = svc.detector_cfg.gender_band if missing == 'gender_head' else svc.gender_head.band_alone
    assert h['gender']['band'] == [round(float(x), 4) for x in alone]
    g = detect(svc)['gender']
    assert g['decided_by'] == {'detector': 'descriptor', 'gender_head': 'detector'}[missing], g
    if missing == 'detector': assert g['answer'] == 'female', g  # the head alone is right on her (the detector alone is unsure)
    assert list(g['models']) == [{'detector': 'descriptor', 'gender_head': 'detector'}[missing]]


def test_a_broken_head_is_refused_and_with_no_gender_model_registration_fails_closed(tmp_path, no_network):
    bad = tmp_path / 'head.json'; bad.write_text(json.dumps({'format': 'femverify-gender-head-1', 'coef': [1, 2]}))
    with pytest.raises(WeightsCorrupt): load_head(bad)
    svc = service(tmp_path, gender_head_path=bad, detector_path=tmp_path / 'gone.pt')
    assert 'not a femverify gender head' in svc.health()['models']['gender_head']['reason']
    c = create_app({'TESTING': True, 'API_KEYS': (API_KEY,)}, service=svc).test_client()
    r = c.post('/api/v1/users', data={'consent': 'terms-v1', 'user': 'ann', 'photos': (io.BytesIO(HOPPER.read_bytes()), 'a.jpg')}, headers={'X-API-Key': API_KEY})
    assert r.status_code == 503 and 'gender models unavailable' in r.get_json()['error']['message']


def test_a_head_made_for_another_embedder_is_refused(tmp_path, no_network):
    d = json.loads(shipped_gender_head().read_text()); d['model'] = 'facenet:vggface2'
    p = tmp_path / 'other.json'; p.write_text(json.dumps(d))
    h = service(tmp_path, gender_head_path=p).health()['models']['gender_head']
    assert h['loaded'] is False and 'facenet:vggface2' in h['reason']

"""The README's table of decisions says what the shipped files and settings hold.

The table (written in nbs/index.ipynb) copies each shipped value for a reader; this test reads the same values from
where the code takes them (`Config`, `femverify/thresholds/*.json`, `models/gender_head.json`, the detector's
metadata) and checks that each appears in its row, so that a replaced model or a recalibration can't leave the README
telling an older story.
"""
import json
import pytest
import torch
from conftest import ROOT
from femverify.core import Config

README = (ROOT / 'README.md').read_text()


def row(start: str) -> str:
    "The decision table's row that begins with `start`."
    rows = [l for l in README.splitlines() if l.startswith(f'| {start}')]
    assert len(rows) == 1, f'{len(rows)} README rows start with {start!r}'
    return rows[0]


def test_the_gate_rows_hold_configs_values():
    c = Config()
    assert f'≥ {c.face_prob:g}, side ≥ {c.min_face} px, sharpness ≥ {c.sharpness_min:g}' in row('a face counts')
    assert f'≥ {c.background_face_ratio:g} of the main face' in row('a second face counts')
    assert f'≥ {c.background_sharpness:g} of its sharpness' in row('a second face counts')


def test_the_gender_rows_hold_the_shipped_bands():
    h = json.loads((ROOT / 'models' / 'gender_head.json').read_text())
    assert f'≥ {h["band"][1]:.3f} female, ≤ {h["band"][0]:.3f} not female' in row('female / review / not female')
    meta = torch.load(ROOT / 'models' / 'gender_detector.pt', map_location='cpu', weights_only=False)
    lo, hi = meta['gender_band']
    alone = row('… the head alone')
    assert f'head {h["band_alone"][0]:.3f} / {h["band_alone"][1]:.3f}' in alone and f'detector {lo:.3f} / {hi:.3f}' in alone
    assert f'minor score > {h["minor_cut"]:.3f}' in row('looks under 18')


def test_the_verification_rows_hold_the_calibration():
    d = json.loads((ROOT / 'femverify' / 'thresholds' / 'dlib.json').read_text())
    t = d['thresholds']
    same = row('same person (1:1)')
    assert all(f'{t[k]:.4f}' in same for k in ('1x1', '3x3', '5x5')), same
    assert f'≤ {d["consistency_threshold"]:.4f}' in row('registration photos show one person')
    assert f'≤ {d["search_threshold"]:.4f}' in row('duplicate or banned (1:N)')


def test_the_liveness_row_holds_its_limits():
    lim = json.loads((ROOT / 'femverify' / 'thresholds' / 'liveness.json').read_text())['limits']
    live = row('a live person | each move')
    assert f'≥ {lim["yaw"]:g} yaw / {lim["pitch"]:g} pitch; parallax ≥ {lim["parallax"]:g}' in live
    assert f'jump ≤ {lim["jump"]:g} heights, size change ≤ {lim["scale"]:g}×; repeat ≤ {lim["repeat"]:g}' in live


@pytest.mark.parametrize('start, text', [
    ('guesses', lambda c: f'{c.rate_limit} failed verifications a minute per client'),
    ('guesses', lambda c: f'{c.user_rate_limit} per member'),
    ('guesses', lambda c: f'within {c.trusted_client_days:g} days'),
    ('requests and uploads', lambda c: f'{c.request_budget} requests a minute'),
    ('requests and uploads', lambda c: f'{c.max_upload_bytes // 2**20} MB, {c.max_pixels // 10**6} MP '
                                       f'(PNG/WebP {c.max_full_pixels // 10**6} MP), {c.max_jpeg_scans} JPEG scans'),
    ('not female', lambda c: f'an appeal for {c.appeal_days:g} days (`{c.not_female}`)'),
    ('a case waits', lambda c: f'{c.case_days:g} days'),
    ('audit frames', lambda c: f'{c.member_frames} per member'),
    ('retention', lambda c: f'consents {c.record_days:g} days; members not verified {c.inactive_years:g} years; bans {c.ban_days:g} days')])
def test_the_limit_rows_hold_configs_values(start, text):
    assert text(Config()) in row(start)


def test_the_face_finder_row_holds_its_defaults():
    import inspect
    from femverify.blazeface import BlazeFace, BlazeFinder
    keep = inspect.signature(BlazeFinder.__init__).parameters['keep'].default
    score = inspect.signature(BlazeFace.__init__).parameters['min_score'].default
    r = row('where faces are looked for')
    assert f'score ≥ {score:g}' in r and f'down to {keep:g} of its side' in r and f'`{Config().face_finder}`' in r

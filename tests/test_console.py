"""The `femverify` console script as a user runs it: each command as a subprocess, on a folder of real image files.

Notebook cells call the command functions in-process, where the kernel may hold imports the package lacks (that is how
`femverify inspect` shipped broken); only a subprocess of the installed console script sees the package as users do.
The photos are packaged ones (matplotlib's Grace Hopper, scikit-image's astronaut), resized and copied by the test.
"""
import json, os, subprocess, sys
from pathlib import Path
import pytest
from PIL import Image
from skimage.data import astronaut
from conftest import HOPPER

FEMVERIFY = str(Path(sys.executable).parent / 'femverify')


def run(*args, env=None, ok=True, code=0):
    "The console script's JSON (exit `code`: 0, or 1 for a refusal or no match), or with `ok=False` its error (exit 2)."
    r = subprocess.run([FEMVERIFY, *map(str, args)], capture_output=True, text=True, timeout=600, env=dict(os.environ, **(env or {})))
    assert r.returncode == (code if ok else 2), (r.returncode, r.stdout[-2000:], r.stderr[-2000:])
    return json.loads(r.stdout) if ok else r.stderr


@pytest.fixture(scope='module')
def photos(tmp_path_factory):
    "female/ and male/ folders of real photos: Grace Hopper and Eileen Collins at a few sizes, plus one unreadable file."
    d = tmp_path_factory.mktemp('photos'); (d / 'female').mkdir(); (d / 'male').mkdir()
    h, c = Image.open(HOPPER).convert('RGB'), Image.fromarray(astronaut())
    for i, s in enumerate((1.0, 0.6)):
        h.resize((int(h.width * s), int(h.height * s))).save(d / 'female' / f'hopper{i}.jpg')
        c.resize((int(c.width * s), int(c.height * s))).save(d / 'male' / f'collins{i}.png')
    (d / 'male' / 'broken.jpg').write_bytes(b'\xff\xd8 not really')
    return d


def test_version_and_help():
    r = subprocess.run([FEMVERIFY, '--version'], capture_output=True, text=True)
    assert r.returncode == 0 and r.stdout.startswith('femverify ')
    h = subprocess.run([FEMVERIFY, '--help'], capture_output=True, text=True).stdout
    assert 'examples:' in h and 'FEMVERIFY_EMBEDDER' in h
    a = ' '.join(subprocess.run([FEMVERIFY, 'annotate', '--help'], capture_output=True, text=True).stdout.split())
    assert 'FEMVERIFY_FACE_PROB, else 0.95)' in a and '--count-cut-faces' in a  # every gate setting, its real default once
    assert a.count('(default: None)') == 2  # only --out (required) and --limit have none


def test_inspect_writes_summary_and_figures(photos, tmp_path):
    r = run('inspect', photos, '--out', tmp_path / 'insp')
    assert r['photos'] == 5 and len(r['unreadable']) == 1 and r['gender'] == {'female': 2, 'male': 3}
    assert all(Path(f).stat().st_size > 1000 for f in r['figures']) and (tmp_path / 'insp' / 'summary.json').exists()
    assert all(k.count('x') == 1 and k.replace('x', '').isdigit() for k in r['sizes'])  # '512x512', not '512.0x512.0'
    err = r['unreadable'][0]['error']
    assert err.startswith('not an image Pillow can read') and ' at 0x' not in err  # no object repr, no memory address
    assert run('inspect', photos, '--limit', '2', '--seed', '1', '--out', tmp_path / 'two')['photos'] == 2


def test_choices_come_from_the_library_and_help_imports_no_model_code():
    from femverify.detect import ARCHS
    from femverify.train import RECIPES
    from femverify.verify import EMBEDDERS
    h = ' '.join(subprocess.run([FEMVERIFY, 'train', '--help'], capture_output=True, text=True).stdout.split())
    assert all(n in h for n in (*ARCHS, *RECIPES)), h
    h = ' '.join(subprocess.run([FEMVERIFY, 'calibrate', '--help'], capture_output=True, text=True).stdout.split())
    assert all(n in h for n in EMBEDDERS)
    code = 'import sys; from femverify.cli import parser; parser(); print(sorted({"torch", "pandas"} & set(sys.modules)))'
    assert subprocess.run([sys.executable, '-c', code], capture_output=True, text=True).stdout.strip() == '[]'


def test_annotate_then_enroll_and_verify(photos, tmp_path):
    r = run('annotate', photos, '--out', tmp_path / 'ann.json', '--face-prob', '0.9', '--count-cut-faces')
    assert r['photos'] == 5 and r['kept'] == 4 and r['rejected'] == {'unreadable': 1}
    env = dict(FEMVERIFY_EMBEDDER='dlib', FEMVERIFY_GENDER_CHECK='0')
    db = tmp_path / 'f.db'
    assert 'no database' in run('enroll', db, 'grace', photos / 'female' / 'hopper0.jpg', '--consent', 'v1', env=env, ok=False)  # a mistyped path: not a new store
    assert run('enroll', db, 'grace', photos / 'female' / 'hopper0.jpg', '--create', '--consent', 'v1', env=env)['status'] == 'enrolled'
    same = run('verify', db, 'grace', photos / 'female' / 'hopper1.jpg', env=env)
    other = run('verify', db, 'grace', photos / 'male' / 'collins0.png', env=env, code=1)  # no match: exit 1
    assert (same['match'], other['match'], same['model']) == (True, False, 'dlib:resnet_v1+flip')
    assert "unknown user 'nobody'" in run('verify', db, 'nobody', photos / 'female' / 'hopper1.jpg', env=env, ok=False)
    assert '--replace' in run('enroll', db, 'grace', photos / 'female' / 'hopper0.jpg', '--consent', 'v1', env=env, ok=False)  # says what to do next
    r = run('enroll', db, 'blank', photos / 'male' / 'collins0.png', '--consent', 'v1', env=dict(env, FEMVERIFY_MIN_FACE='5000'), code=1)
    assert r['status'] == 'refused'  # a refusal is not a success: exit 1


def test_errors_are_one_line_and_exit_2(tmp_path):
    err = run('inspect', tmp_path / 'missing', ok=False)
    assert err.startswith('femverify inspect:') and 'does not exist' in err and len(err.splitlines()) == 1


def test_keygen_and_rekey_seal_the_store(tmp_path):
    env = dict(FEMVERIFY_EMBEDDER='dlib', FEMVERIFY_GENDER_CHECK='0')
    old = run('keygen', '--out', tmp_path / 'old.key')['key_file']
    assert oct(os.stat(old).st_mode & 0o777) == '0o600'
    assert 'never overwritten' in run('keygen', '--out', old, ok=False)  # a key is never replaced by accident
    db, sealed_old = tmp_path / 'f.db', dict(env, FEMVERIFY_TEMPLATE_KEY_FILE=old, FEMVERIFY_TEMPLATE_KEY='')
    assert run('enroll', db, 'grace', HOPPER, '--create', '--consent', 'v1', env=sealed_old)['status'] == 'enrolled'
    assert 'no template key' in run('verify', db, 'grace', HOPPER, env=dict(env, FEMVERIFY_TEMPLATE_KEY_FILE='', FEMVERIFY_TEMPLATE_KEY=''), ok=False)
    new = run('keygen', '--out', tmp_path / 'new.key')['key_file']
    sealed_new = dict(env, FEMVERIFY_TEMPLATE_KEY_FILE=new, FEMVERIFY_TEMPLATE_KEY='')
    assert 'wrong key file' in run('verify', db, 'grace', HOPPER, env=sealed_new, ok=False)
    assert run('rekey', db, '--old-key-file', old, env=sealed_new)['resealed'] == 3  # her template, her one photo's embedding, her audit frame
    assert run('verify', db, 'grace', HOPPER, env=sealed_new)['match'] is True


def test_calibrate_limit_takes_both_kinds_of_pair_in_every_fold(tmp_path):
    "Each LFW fold lists its same-person pairs first: --limit 2 once took only those, and the threshold step divided by zero."
    lfw = tmp_path / 'lfw'
    h, c = Image.open(HOPPER).convert('RGB'), Image.fromarray(astronaut())
    for name, im in (('Grace_Hopper', h), ('Eileen_Collins', c)):
        (lfw / name).mkdir(parents=True)
        for i in (1, 2, 3): im.rotate(3 * i).save(lfw / name / f'{name}_{i:04d}.jpg')
    rows = ['Grace_Hopper\t1\t2', 'Eileen_Collins\t1\t2', 'Grace_Hopper\t1\t3', 'Eileen_Collins\t2\t3',
            'Grace_Hopper\t1\tEileen_Collins\t1', 'Grace_Hopper\t2\tEileen_Collins\t2', 'Grace_Hopper\t3\tEileen_Collins\t3', 'Grace_Hopper\t2\tEileen_Collins\t3']
    (tmp_path / 'pairs.txt').write_text('2\t2\n' + '\n'.join(rows[:2] + rows[4:6] + rows[2:4] + rows[6:]) + '\n')  # 2 folds: 2 same, then 2 different
    r = run('calibrate', '--pairs', tmp_path / 'pairs.txt', '--images', lfw, '--embedder', 'dlib', '--limit', '2', '--out', tmp_path / 'cal')
    assert 0 < json.loads((tmp_path / 'cal' / 'threshold.json').read_text())['threshold'] < 1, r


def test_one_operators_failed_checks_do_not_lock_out_the_next(photos, tmp_path):
    "Each console run is its own rate-limit client (cli:USER:PID): a moderator's failing checks don't refuse the next genuine one."
    env = dict(FEMVERIFY_EMBEDDER='dlib', FEMVERIFY_GENDER_CHECK='0', FEMVERIFY_RATE_LIMIT='2')
    db = tmp_path / 'f.db'
    assert run('enroll', db, 'grace', photos / 'female' / 'hopper0.jpg', '--create', '--consent', 'v1', env=env)['status'] == 'enrolled'
    for _ in range(3): assert run('verify', db, 'grace', photos / 'male' / 'collins0.png', env=env, code=1)['match'] is False
    assert run('verify', db, 'grace', photos / 'female' / 'hopper1.jpg', env=env)['match'] is True


def test_calibrate_liveness_on_a_folder_of_captures(tmp_path):
    "Genuine-kind captures (renders of grace_hopper.jpg: synthetic, the only kind here) pass, a still photo doesn't; --write."
    import io, numpy as np
    from PIL import Image
    from femverify.fakecam import answer_frames
    from femverify.liveness import write_capture
    d = tmp_path / 'captures'
    for i, moves in enumerate([('left', 'right'), ('right', 'down'), ('right', 'left')]):  # renders that pass (see 06e)
        write_capture(answer_frames(HOPPER, moves, seed=i), moves, d / f'genuine{i}.json')
    rng, still = np.random.default_rng(0), Image.open(HOPPER).convert('RGB')
    def noisy():  # the same photo held still, with a webcam's noise in each frame
        b = io.BytesIO(); a = np.asarray(still, np.float32) + rng.normal(0, 3, (still.height, still.width, 3))
        Image.fromarray(np.clip(a, 0, 255).astype(np.uint8)).save(b, 'JPEG', quality=90); return b.getvalue()
    write_capture([noisy() for _ in range(10)], ('left', 'up'), d / 'still.json')
    r = run('calibrate-liveness', d)
    assert r['captures'] == 4 and r['bpcer']['k'] == 1 and r['refused'] == ['still.json'], r
    assert r['bpcer']['share'] == 0.25 and r['bpcer']['ci95'][0] < 0.25 < r['bpcer']['ci95'][1]
    assert set(r['reasons']) <= {'no_head_movement', 'flat_picture'}
    out = subprocess.run([FEMVERIFY, 'calibrate-liveness', str(d), '--write', str(tmp_path / 'lim.json'), '--target', '0.3'],
                         capture_output=True, text=True, timeout=600)
    w = json.loads(out.stdout)
    if w['proposed']['looser']:  # the still capture pulls the quantiles down: refused unless asked for
        assert out.returncode == 1 and w['wrote'] is None and 'allow-looser' in w['why'] and not (tmp_path / 'lim.json').exists()
        w = run('calibrate-liveness', d, '--write', tmp_path / 'lim.json', '--target', 0.3, '--allow-looser')
    written = json.loads((tmp_path / 'lim.json').read_text())
    assert set(written['limits']) >= {'yaw', 'pitch', 'parallax', 'jump', 'scale', 'repeat'} and w['wrote']
    assert 'no capture files' in run('calibrate-liveness', tmp_path / 'empty-nothing', ok=False)

"""gunicorn restarted on the same database: registered users still verify, a user deleted before the restart stays gone."""
import io, json, os, signal, subprocess, time, urllib.request
from PIL import Image
from skimage.data import astronaut
from conftest import API_KEY, HOPPER, ROOT
from test_serve import free_port


def request(url, method='GET', fields=None, files=None, headers=None):
    "A small multipart client on urllib (no extra dependency)."
    boundary, body = 'femverify-test-boundary', b''
    for k, v in (fields or {}).items(): body += f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode()
    for k, data in (files or []): body += f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"; filename="p.jpg"\r\nContent-Type: image/jpeg\r\n\r\n'.encode() + data + b'\r\n'
    if fields or files: body += f'--{boundary}--\r\n'.encode()
    req = urllib.request.Request(url, data=body or None, method=method, headers=dict({'X-Requested-With': 'test'}, **(headers or {}), **({'Content-Type': f'multipart/form-data; boundary={boundary}'} if body else {})))
    try:
        with urllib.request.urlopen(req, timeout=60) as r: return r.status, json.load(r)
    except urllib.error.HTTPError as e: return e.code, json.load(e)


def start(port, env):
    p = subprocess.Popen([str(ROOT / '.venv' / 'bin' / 'gunicorn'), '--workers', '2', '--bind', f'127.0.0.1:{port}', 'api:create_app()'],
                         cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
    deadline = time.time() + 90
    while time.time() < deadline:
        try:
            if request(f'http://127.0.0.1:{port}/api/v1/health')[0] == 200: return p
        except OSError: time.sleep(0.5)
        assert p.poll() is None, p.stderr.read().decode()[-2000:]
    raise AssertionError('gunicorn did not start')


def stop(p):
    os.killpg(p.pid, signal.SIGTERM); p.wait(timeout=30)


def test_restart_keeps_users_and_deletions(tmp_path):
    port, img = free_port(), HOPPER.read_bytes()
    other = io.BytesIO(); Image.fromarray(astronaut()).save(other, 'JPEG')  # two people: the 1:N check would refuse one face twice
    env = dict(os.environ, FEMVERIFY_DB_PATH=str(tmp_path / 'var' / 'f.db'), FEMVERIFY_EMBEDDER='dlib', FEMVERIFY_GENDER_CHECK='0',
               FEMVERIFY_API_KEYS=API_KEY, FEMVERIFY_TORCH_THREADS='1')
    base, key = f'http://127.0.0.1:{port}/api/v1', {'X-API-Key': API_KEY}
    p = start(port, env)
    try:
        for u, photo in (('keep', img), ('gone', other.getvalue())):
            s, b = request(base + '/users', 'POST', {'user': u, 'consent': 'terms-v1'}, [('photos', photo)], key)
            assert s == 201, b
        assert request(base + '/users/gone', 'DELETE', headers=key) == (200, {'user': 'gone', 'deleted': True})
    finally: stop(p)
    p = start(port, env)
    try:
        s, b = request(base + '/users/keep/verify', 'POST', files=[('image', img)])
        assert s == 200 and b['match'] is True
        s, b = request(base + '/users/gone/verify', 'POST', files=[('image', img)], headers=key)
        assert s == 404 and b['error']['code'] == 'unknown_user'
    finally: stop(p)

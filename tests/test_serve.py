"""`make serve` as a user runs it: gunicorn starts, /api/v1/health answers JSON. A process-level test, so it lives here."""
import json, os, signal, subprocess, time, urllib.request
from conftest import ROOT
from femverify.testing import free_port  # a free port on 127.0.0.1 (also what temp_postgres uses)




def test_make_serve_answers_health(tmp_path):
    port = free_port()
    env = dict(os.environ, FEMVERIFY_DB_PATH=str(tmp_path / 'db' / 'f.db'), FEMVERIFY_BODY_TIMEOUT='2')
    proc = subprocess.Popen(['make', '-s', 'serve', f'PORT={port}', 'WORKERS=1'], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline, body = time.time() + 90, None
        while time.time() < deadline and body is None:
            try:
                with urllib.request.urlopen(f'http://127.0.0.1:{port}/api/v1/health', timeout=5) as r:
                    body = json.load(r)
            except OSError:
                assert proc.poll() is None, proc.stdout.read().decode()
                time.sleep(0.5)
        assert body is not None, 'gunicorn did not answer within 90 s'
        assert body['version'] and body['models']['face_finder']['loaded'] is True
        assert all('loaded' in m for m in body['models'].values())
        # a malformed chunked body is the client's error: 400, never a 500 with a traceback
        import socket
        with socket.create_connection(('127.0.0.1', port), timeout=30) as sk:
            sk.sendall(b'POST /api/v1/detect HTTP/1.1\r\nHost: x\r\nX-Requested-With: t\r\nTransfer-Encoding: chunked\r\n'
                       b'Content-Type: multipart/form-data; boundary=b\r\nConnection: close\r\n\r\nzz\r\nnot a chunk\r\n')
            reply = b''
            while chunk := sk.recv(65536): reply += chunk
        assert reply.startswith(b'HTTP/1.1 400'), reply[:200]
        # a lying Content-Length (100 kB announced, 10 bytes sent, the connection held open): 408 after the body's
        # deadline (FEMVERIFY_BODY_TIMEOUT=2), not a worker thread held for as long as the client likes
        with socket.create_connection(('127.0.0.1', port), timeout=30) as sk:
            t0 = time.monotonic()
            sk.sendall(b'POST /api/v1/detect HTTP/1.1\r\nHost: x\r\nX-Requested-With: t\r\nContent-Length: 100000\r\n'
                       b'Content-Type: multipart/form-data; boundary=b\r\n\r\n--b\r\nContent')
            reply = sk.recv(65536)
            held = time.monotonic() - t0
        assert reply.startswith(b'HTTP/1.1 408') and b'request_timeout' in reply, reply[:300]
        assert held < 15, held  # the deadline is 2 s; generous for a loaded machine
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        out = proc.communicate(timeout=30)[0].decode()
    assert f'http://127.0.0.1:{port}/' in out

"""Several servers, one truth: two gunicorn servers on different ports share one PostgreSQL database.

Register on A, verify on B; a duplicate enrolled on A is found by a registration on B at once (LISTEN/NOTIFY); delete on
B and A answers 404; failed attempts on A count toward B's limit; kill -9 A in the middle of a registration, and
nothing partial is left while B keeps serving. Real photos that installed packages ship (matplotlib, scikit-image)."""
import io, os, signal, threading, time
from PIL import Image
from skimage.data import astronaut
from femverify.store import open_store
from conftest import API_KEY, HOPPER, new_database
from test_restart import request, start, stop
from test_serve import free_port

KEY = {'X-API-Key': API_KEY}


def jpeg(im) -> bytes:
    b = io.BytesIO(); im.save(b, 'JPEG', quality=92); return b.getvalue()


def test_two_servers_share_one_postgresql(pg_cluster):
    url = new_database(pg_cluster)
    hopper, astro = HOPPER.read_bytes(), Image.fromarray(astronaut())
    astro_photos = [jpeg(astro), jpeg(astro.resize((448, 448))), jpeg(astro.crop((40, 0, 512, 472)))]
    env = dict(os.environ, FEMVERIFY_DB_URL=url, FEMVERIFY_DB_PATH='/nonexistent/unused.db', FEMVERIFY_EMBEDDER='dlib',
               FEMVERIFY_GENDER_CHECK='0', FEMVERIFY_API_KEYS=API_KEY, FEMVERIFY_TORCH_THREADS='1')
    pa, pb = free_port(), free_port()
    a, b = start(pa, env), start(pb, env)
    A, B = f'http://127.0.0.1:{pa}/api/v1', f'http://127.0.0.1:{pb}/api/v1'
    try:
        s, h = request(B + '/health', headers=KEY)  # the details: only with a key
        assert s == 200 and h['models']['store']['kind'] == 'postgresql' and 'postgresql://' not in str(h), h

        # register on A, verify on B
        assert request(A + '/users', 'POST', {'user': 'grace', 'consent': 'terms-v1'}, [('photos', hopper)], KEY)[0] == 201
        s, r = request(B + '/users/grace/verify', 'POST', files=[('image', hopper)])
        assert s == 200 and r['match'] is True, r

        # a template enrolled on A is found by a registration on B straight away (B built its index before it existed)
        t0 = time.time(); s, r = request(B + '/users', 'POST', {'user': 'grace2', 'consent': 'terms-v1'}, [('photos', hopper)], KEY)
        assert (s, r['status'], r['reason']) == (202, 'review', 'possible_duplicate') and time.time() - t0 < 30, r
        assert 'grace' not in str(r).replace('grace2', '')  # the client is never told which account matched

        # delete on B, then A answers 404
        assert request(B + '/users', 'POST', {'user': 'astro', 'consent': 'terms-v1'}, [('photos', astro_photos[0])], KEY)[0] == 201
        assert request(B + '/users/astro', 'DELETE', headers=KEY)[0] == 200
        s, r = request(A + '/users/astro', 'DELETE', headers=KEY)
        assert s == 404 and r['error']['code'] == 'unknown_user', r
        s, r = request(A + '/users/astro/verify', 'POST', files=[('image', astro_photos[0])], headers=KEY)
        assert s == 404, r  # (without a key: the answer of a mismatch, and no attempt row)

        # failed attempts on A count toward B's limit (5 a minute per client)
        for _ in range(5):
            s, r = request(A + '/users/grace/verify', 'POST', files=[('image', astro_photos[0])])
            assert s == 200 and r['match'] is False, r
        s, r = request(B + '/users/grace/verify', 'POST', files=[('image', astro_photos[1])])  # the 6th
        assert s == 429 and r['error']['code'] == 'rate_limited', r

        # kill -9 A (master and workers) in the middle of a registration with five photos. How long one takes
        # depends on the machine: time one on A first, kill at half that, and if the registration still won the
        # race, start A again and kill sooner (at most four tries)
        five = astro_photos + astro_photos[:2]
        t0 = time.time(); assert _try(A, five, 'timing')[0] == 201; took = time.time() - t0
        assert request(A + '/users/timing', 'DELETE', headers=KEY)[0] == 200
        for k in range(4):
            done = {}
            t = threading.Thread(target=lambda: done.update(r=_try(A, five)))
            t.start(); time.sleep(took / 2 ** (k + 1)); os.killpg(a.pid, signal.SIGKILL); a.wait(timeout=30); t.join(60)
            if isinstance(done['r'], OSError): break  # the kill landed while the registration was in flight
            assert request(B + '/users/astro2', 'DELETE', headers=KEY)[0] == 200, done
            a = start(pa, env)
        assert isinstance(done['r'], OSError), (took, done)
        store = open_store(url=url, listen=False)
        with store._connect() as db:
            n = dict(db.execute('SELECT u.id, COUNT(e.id) FROM users u LEFT JOIN embeddings e ON e.user_id = u.id GROUP BY u.id').fetchall())
        store.close()
        assert n.get('astro2', 5) == 5 and n['grace'] == 1, n  # whole or absent
        assert request(B + '/health')[0] == 200
        s, r = request(B + '/users', 'POST', {'user': 'astro3', 'consent': 'terms-v1'}, [('photos', astro_photos[2])], KEY)  # B still writes: no lock was left behind
        assert (s, r['status']) == ((202, 'review') if 'astro2' in n else (201, 'enrolled')), (n, r)
    finally:
        for p in (a, b):
            if p.poll() is None: stop(p)


def _try(base, photos, user='astro2'):
    try: return request(base + '/users', 'POST', {'user': user, 'consent': 'terms-v1'}, [('photos', p) for p in photos], KEY)
    except OSError as e: return e  # the server died under the request

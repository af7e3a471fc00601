"""An example app's backend: the browser captures the live check and posts it here; this backend holds the femverify
API key and relays to femverify, naming the end user (`X-End-User`). The key never reaches the browser.

    FEMVERIFY_URL=http://127.0.0.1:5000 FEMVERIFY_API_KEY=... python examples/app/app.py   # then open http://127.0.0.1:8000/

It needs flask and requests only (not the femverify package)."""
import os, re, secrets
import requests
from flask import Flask, Response, abort, jsonify, request, send_from_directory, session

CONSENT = 'example-app-terms-v1'  # the version of the consent text the page shows; femverify records it with the member
USER_ID = re.compile(r'[A-Za-z0-9._-]{1,64}')  # this app's account names; femverify's user id is the account's


def create_app(femverify_url: str = None, api_key: str = None, secret: str = None) -> Flask:
    "The app: its page, and the routes its page calls, each relayed to femverify with the key and the end user."
    app = Flask(__name__, static_folder='static')
    app.secret_key = secret or os.environ.get('APP_SECRET') or secrets.token_hex(32)  # signs the session cookie
    api = (femverify_url or os.environ.get('FEMVERIFY_URL', 'http://127.0.0.1:5000')).rstrip('/') + '/api/v1'
    key = api_key or os.environ.get('FEMVERIFY_API_KEY')
    if not key: raise SystemExit('set FEMVERIFY_API_KEY: the key this backend sends to femverify (never to the browser)')
    http = requests.Session()

    def end_user() -> str:
        "Whom femverify limits and binds challenges to: this browser's session (a real app: its account or session id)."
        session.setdefault('end_user', secrets.token_urlsafe(16))
        return session['end_user']

    def relay(path: str, data: dict = None, files: list = None) -> tuple:
        "POST to femverify as this backend, for this end user: (femverify's JSON, its status), or 502 if it can't be reached."
        headers = {'X-API-Key': key, 'X-End-User': end_user()}
        try: r = http.post(api + path, data=data, files=files, headers=headers, timeout=90)
        except requests.RequestException as e:
            return dict(error=dict(code='femverify_unreachable', message=f'femverify did not answer: {e.__class__.__name__}')), 502
        try: return r.json(), r.status_code
        except ValueError: return dict(error=dict(code='bad_gateway', message=f'femverify answered HTTP {r.status_code}')), 502

    def frames() -> list:
        "The live check's frames from the page's form, in order, as femverify's `frames` fields."
        return [('frames', (f'frame{i}.jpg', f.read(), 'image/jpeg')) for i, f in enumerate(request.files.getlist('frames'))]

    def account() -> str:
        name = request.form.get('user', '')
        if not USER_ID.fullmatch(name): abort(Response('{"error": {"code": "bad_user", "message": "a user name is 1-64 '
                                                       'letters, digits, dots, dashes or underscores"}}', 400,
                                                       mimetype='application/json'))
        return name

    def answer(body: dict, status: int) -> tuple:
        "What the page is shown: the outcome and why, never femverify's scores or thresholds."
        err = body.get('error') or {}
        live = body.get('liveness') or err.get('liveness') or {}
        out = dict(status=body.get('status'), match=body.get('match'), reason=err.get('code') or body.get('reason'),
                   message=err.get('message'), case=(body.get('case') or {}).get('id'),
                   liveness=dict(reason=live.get('reason'), failed=live.get('failed', [])))
        return jsonify({k: v for k, v in out.items() if v is not None}), status

    @app.get('/')
    def page(): return send_from_directory(app.static_folder, 'index.html')

    @app.get('/capture.js')
    def capture():
        "femverify's capture script, served from this origin (the browser talks to this backend only)."
        try: r = http.get(api.rsplit('/api/v1', 1)[0] + '/static/capture.js', timeout=10)
        except requests.RequestException: abort(502)
        return Response(r.content, r.status_code, mimetype='text/javascript')

    @app.post('/challenge')
    def challenge():
        body, status = relay('/challenges')
        if status != 201: return answer(body, status)
        return jsonify({k: body[k] for k in ('id', 'moves', 'instructions', 'expires_in')}), 201

    @app.post('/register')
    def register():
        data = dict(user=account(), challenge=request.form.get('challenge', ''))
        if request.form.get('consent') == 'yes': data['consent'] = CONSENT
        return answer(*relay('/users', data, frames()))

    @app.post('/login')
    def login():
        body, status = relay(f'/users/{account()}/verify', dict(challenge=request.form.get('challenge', '')), frames())
        if body.get('match') is True: session['member'] = request.form['user']  # the app's own login: she is who she says
        return answer(body, status)

    @app.after_request
    def headers(resp):
        resp.headers.setdefault('Content-Security-Policy', "default-src 'self'; media-src 'self' blob:; img-src 'self' blob:")
        resp.headers.setdefault('X-Content-Type-Options', 'nosniff')
        return resp

    return app


if __name__ == '__main__':
    create_app().run(host=os.environ.get('HOST', '127.0.0.1'), port=int(os.environ.get('PORT', 8000)), threaded=True)

"""femverify's Flask app: `create_app(config=None, service=None)`.

Defaults, then `FEMVERIFY_*` environment variables (`app.config.from_prefixed_env`), then `config`.
`FEMVERIFY_TRUSTED_PROXIES=N` (default 0) trusts N reverse proxies' X-Forwarded-For/-Proto/-Host (Werkzeug's ProxyFix),
so that rate limits see each client's own address; leave it 0 unless a proxy you run sets those headers.
`FEMVERIFY_BODY_TIMEOUT` (seconds, default 10) bounds how long a request's body may take to arrive (`deadline`).
The app talks to the models only through `femverify.service.FaceService`, kept in
`app.extensions["femverify"]`; tests inject a service of their own.
"""
from flask import Flask, send_from_directory
from femverify.core import Config
from femverify.service import FaceService
from . import cases, errors, views
from .deadline import BodyDeadline


def create_app(config=None, service=None):
    "Build the app; `service` (a FaceService or a stand-in) is made from the config when not given."
    app = Flask(__name__, static_folder='static')
    fv = Config.from_env()
    app.config.from_mapping(MAX_CONTENT_LENGTH=fv.max_upload_bytes, API_KEYS=fv.api_keys, RATE_LIMIT=fv.rate_limit)
    app.config.from_prefixed_env('FEMVERIFY')
    app.config.update(config or {})
    if 'API_KEYS' not in (config or {}): app.config['API_KEYS'] = fv.api_keys  # Config's parsing: always strings (from_prefixed_env reads 12345 as an int)
    if isinstance(app.config['API_KEYS'], (str, int, float)):
        app.config['API_KEYS'] = tuple(k.strip() for k in str(app.config['API_KEYS']).split(',') if k.strip())
    app.config['API_KEYS'] = tuple(str(k) for k in app.config['API_KEYS'])
    mod = app.config.get('MODERATOR_KEYS', fv.moderator_keys) if 'MODERATOR_KEYS' in (config or {}) else fv.moderator_keys
    app.config['MODERATOR_KEYS'] = tuple(k.strip() for k in mod.split(',') if k.strip()) if isinstance(mod, str) else tuple(map(str, mod))
    if set(app.config['API_KEYS']) & set(app.config['MODERATOR_KEYS']):
        raise ValueError('a key is both an app key and a moderator key: give each role its own keys')
    app.extensions['femverify'] = service if service is not None else FaceService(fv)
    errors.register(app)
    app.register_blueprint(views.bp)
    app.register_blueprint(cases.bp)
    app.add_url_rule('/', 'page', lambda: send_from_directory(app.static_folder, 'index.html'))
    app.add_url_rule('/moderate', 'moderate', lambda: send_from_directory(app.static_folder, 'moderate.html'))
    app.after_request(security_headers)
    if int(app.config.get('TRUSTED_PROXIES') or 0):  # behind N reverse proxies, the client is the N-th address from the right
        from werkzeug.middleware.proxy_fix import ProxyFix
        n = int(app.config['TRUSTED_PROXIES']); app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n, x_host=n)
    app.wsgi_app = BodyDeadline(app.wsgi_app, app.config.get('BODY_TIMEOUT', 10))  # a lying Content-Length: 408, not a held thread
    return app


# the page loads nothing from elsewhere and may not be framed by another site
CSP = "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; img-src 'self' blob: data:; media-src 'self' blob:; frame-ancestors 'none'"


def security_headers(resp):
    "CSP, no framing, no MIME sniffing, no referrer, on every response."
    resp.headers.setdefault('Content-Security-Policy', CSP)
    resp.headers.setdefault('X-Frame-Options', 'DENY')
    resp.headers.setdefault('X-Content-Type-Options', 'nosniff')
    resp.headers.setdefault('Referrer-Policy', 'no-referrer')
    return resp

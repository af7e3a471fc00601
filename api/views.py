"""The /api/v1 blueprint: views parse the request, call the service, and jsonify — nothing more."""
import hmac
from flask import Blueprint, current_app, jsonify, request
from werkzeug.exceptions import BadRequest, Forbidden, Unauthorized
from .errors import error, redact
from .openapi import spec

bp = Blueprint('api', __name__, url_prefix='/api/v1')
REGISTER_STATUS = {'enrolled': 201, 'review': 202}


def service():
    "The FaceService of this app."
    return current_app.extensions['femverify']


def has_key() -> bool:
    "Whether X-API-Key matches a configured key (constant-time comparison, every key compared: no early exit)."
    given = request.headers.get('X-API-Key', '').encode()
    return any([hmac.compare_digest(given, k.encode()) for k in current_app.config.get('API_KEYS') or ()])


def require_key():
    "Refuse the request unless X-API-Key matches a configured key."
    if not current_app.config.get('API_KEYS'): raise Forbidden('registering and deleting users is disabled: no API keys are configured (set FEMVERIFY_API_KEYS)')
    if not has_key(): raise Unauthorized('a valid X-API-Key header is required')


def one_file(field='image'):
    "The uploaded file in form field `field`."
    f = request.files.get(field)
    if f is None: raise BadRequest(f"no file: send the photo as multipart/form-data field '{field}'")
    return f.read()


@bp.get('/health')
def health():
    return jsonify(_redacted(service().health()))


def _redacted(obj):
    "`obj` (JSON-ready) with every string's file system paths redacted."
    if isinstance(obj, dict): return {k: _redacted(v) for k, v in obj.items()}
    if isinstance(obj, list): return [_redacted(v) for v in obj]
    return redact(obj) if isinstance(obj, str) else obj


@bp.get('/openapi.json')
def openapi():
    return jsonify(spec())


@bp.post('/detect')
def detect():
    return jsonify(service().detect(one_file(), client=request.remote_addr, scores=has_key()))  # scores only with a key


@bp.post('/users')
def register():
    require_key()
    photos = [f.read() for f in request.files.getlist('photos')]
    if not photos: raise BadRequest("no file: send 1 to 5 photos as multipart/form-data fields 'photos'")
    r = service().register(request.form.get('user', ''), photos, replace=request.form.get('replace') == 'true', client=request.remote_addr)
    if r['status'] in REGISTER_STATUS: return jsonify(r), REGISTER_STATUS[r['status']]
    return error(422, r['reason'], f"registration refused: {r['reason']}", photos=r['photos'])


@bp.post('/users/<user>/verify')
def verify(user):
    return jsonify(service().verify(user, one_file(), client=request.remote_addr))


@bp.delete('/users/<user>')
def delete(user):
    require_key()
    return jsonify(service().delete(user, ban=request.args.get('ban') == 'true'))

"""The /api/v1 blueprint: views parse the request, call the service, and jsonify — nothing more."""
import hashlib, hmac, re
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


END_USER = re.compile(r'[\x21-\x7e]{1,128}')  # printable ASCII, no spaces: the app's own opaque id for the person


def client() -> str:
    "Who a request is, for the limits: the end user a keyed backend names (X-End-User), the backend itself, or the address."
    if not has_key(): return request.remote_addr  # X-End-User from an unkeyed caller is not believed
    from femverify.service import app_client
    key_id = hashlib.sha256(request.headers['X-API-Key'].encode()).hexdigest()[:12]
    end_user = request.headers.get('X-End-User')
    if end_user is not None and not END_USER.fullmatch(end_user):
        raise BadRequest("X-End-User must be 1-128 printable ASCII characters without spaces: your app's own id for the person")
    return app_client(key_id, end_user)


def owner() -> str:
    "Whom a challenge is bound to: the end user a keyed backend names, else the address (a page fetches it, a backend answers)."
    return client() if has_key() and 'X-End-User' in request.headers else request.remote_addr


def require_key():
    "Refuse the request unless X-API-Key matches a configured key."
    if not current_app.config.get('API_KEYS'): raise Forbidden('registering and deleting users is disabled: no API keys are configured (set FEMVERIFY_API_KEYS)')
    if not has_key(): raise Unauthorized('a valid X-API-Key header is required')


def one_file(field='image'):
    "The uploaded file in form field `field`."
    f = request.files.get(field)
    if f is None: raise BadRequest(f"no file: send the photo as multipart/form-data field '{field}'")
    return f.read()


SAME_SITE_HEADER = 'X-Requested-With'  # a header no cross-site page can add without a CORS preflight, which this API never grants


@bp.before_request
def same_site_only():
    "Refuse state-changing requests a cross-site page could send without asking (a form or a no-cors fetch): they lack a custom header."
    if request.method in ('GET', 'HEAD', 'OPTIONS'): return None
    if not any(h in request.headers for h in (SAME_SITE_HEADER, 'X-API-Key', 'X-Moderator-Key')):
        return error(403, 'cross_site_request', f"send the {SAME_SITE_HEADER} header (any value) or X-API-Key: a request without either "
                     "could come from another site's page, so it is refused before anything is read or counted")
    try: request.files  # read the body here, where a broken one is the client's error (400), not a 500 inside a view
    except BODY_ERRORS as e:
        return error(400, 'bad_body', f"the request body could not be read ({type(e).__name__}): send a complete multipart/form-data body")
    return None


try:  # gunicorn's parser raises its own errors for a malformed chunked body, as the body is read
    from gunicorn.http.errors import ParseException as _GunicornBodyError
    BODY_ERRORS = (OSError, ValueError, _GunicornBodyError)
except ImportError: BODY_ERRORS = (OSError, ValueError)


@bp.before_request
def app_routes_only():
    "A moderator key decides cases and does nothing else here: registering, verifying, deleting, detecting are refused."
    from .cases import MODERATOR_HEADER, is_moderator_key
    if request.method in ('GET', 'HEAD', 'OPTIONS'): return None
    if request.headers.get(MODERATOR_HEADER) or is_moderator_key(request.headers.get('X-API-Key')):
        return error(403, 'wrong_role', "a moderator key can only list and decide cases (/api/v1/cases): "
                     "registration, verification and deletion take the app's key")
    return None


@bp.get('/health')
def health():
    h = _redacted(service().health())
    return jsonify(h if has_key() else public_health(h))  # thresholds, bands and reasons only to callers with a key


def public_health(h: dict) -> dict:
    "What anyone may see: status, version, which models are loaded and what they are; no threshold, band or reason."
    keep = ('loaded', 'model', 'name', 'weights', 'backend')
    return dict(status=h['status'], version=h['version'], counted_by=h['counted_by'],
                models={k: {f: x for f, x in v.items() if f in keep} for k, v in h['models'].items()},
                gender={k: h['gender'][k] for k in ('models', 'missing')}, liveness={k: h['liveness'][k] for k in ('mode', 'test_mode', 'loaded', 'stops', 'does_not_stop')},
                details='withheld: send X-API-Key for thresholds, bands and reasons')


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
    return jsonify(service().detect(one_file(), client=client(), scores=has_key()))  # scores only with a key


@bp.post('/challenges')
def challenge():
    "A single-use head-turn challenge for this client (rate-limited per client)."
    return jsonify(service().challenge(client=client(), owner=owner())), 201


def live_frames():
    "(challenge id, frames) of a live answer: form field `challenge` and file fields `frames`, in order; (None, []) if absent."
    return request.form.get('challenge'), [f.read() for f in request.files.getlist('frames')]


@bp.post('/users')
def register():
    require_key()
    challenge, frames = live_frames()
    photos = [f.read() for f in request.files.getlist('photos')]
    if not photos and not frames and challenge is None:
        raise BadRequest("no file: send a challenge's id and its frames as fields 'challenge' and 'frames' (or, with liveness off, 1 to 5 'photos')")
    r = service().register(request.form.get('user', ''), photos, replace=request.form.get('replace') == 'true', client=client(),
                           challenge=challenge, frames=frames, consent=request.form.get('consent'), owner=owner())
    if r['status'] in REGISTER_STATUS: return jsonify(r), REGISTER_STATUS[r['status']]
    extra = {k: r[k] for k in ('liveness', 'appeal') if k in r}  # a refusal she may contest names its appeal
    return error(422, r['reason'], f"registration refused: {r['reason']}", photos=r['photos'], **extra)


@bp.post('/users/<user>/verify')
def verify(user):
    challenge, live = live_frames()
    frames = live if challenge is not None else [f.read() for f in request.files.getlist('image')]  # one photo, or several of one person
    if not frames: raise BadRequest("no file: send the photo (or up to 15) as multipart/form-data field 'image', or a challenge and its 'frames'")
    one = frames if len(frames) > 1 or challenge is not None else frames[0]
    return jsonify(service().verify(user, one, client=client(), keyed=has_key(), challenge=challenge, owner=owner()))


@bp.delete('/users/<user>')
def delete(user):
    require_key()
    return jsonify(service().delete(user, ban=request.args.get('ban') == 'true'))


@bp.get('/users/<user>/record')
def record(user):
    "What is held about a member (for her access request): dates, consents, cases, decisions, flags; never a template or frame."
    require_key()
    return jsonify(service().record(user))

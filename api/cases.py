"""The moderators' routes (their own key role) and the app's appeal: the review that ends somewhere.

A moderator key (`FEMVERIFY_MODERATOR_KEYS`, header `X-Moderator-Key`) may list and open cases and decide them, and
nothing else; an app key (`X-API-Key`) may appeal a refusal on a member's behalf, and can't see or decide a case.
Audit frames leave the server only here, to a moderator key.
"""
import hmac
from flask import Blueprint, current_app, jsonify, request
from werkzeug.exceptions import BadRequest, Forbidden, Unauthorized
from .views import require_key, same_site_only, service

bp = Blueprint('cases', __name__, url_prefix='/api/v1')
bp.before_request(same_site_only)
MODERATOR_HEADER = 'X-Moderator-Key'


def is_moderator_key(value: str) -> bool:
    "Whether `value` is a configured moderator key (constant-time comparison, every key compared)."
    given = (value or '').encode()
    return any([hmac.compare_digest(given, k.encode()) for k in current_app.config.get('MODERATOR_KEYS') or ()])


def require_moderator():
    "Refuse the request unless X-Moderator-Key matches a configured moderator key."
    if not current_app.config.get('MODERATOR_KEYS'):
        raise Forbidden('deciding cases is disabled: no moderator keys are configured (set FEMVERIFY_MODERATOR_KEYS)')
    if not is_moderator_key(request.headers.get(MODERATOR_HEADER)):
        raise Unauthorized(f'a valid {MODERATOR_HEADER} header is required (an app key cannot see or decide cases)')


@bp.get('/cases')
def queue():
    "The queue, oldest first; `?reason=` filters, `?limit=` caps (default 100, at most 500)."
    require_moderator()
    limit = request.args.get('limit', '100')
    if not limit.isdigit(): raise BadRequest("'limit' must be a whole number")
    return jsonify(service().cases(request.args.get('reason') or None, int(limit)))


@bp.get('/cases/<case_id>')
def one_case(case_id):
    require_moderator()
    return jsonify(service().case(case_id))


@bp.post('/cases/<case_id>/decision')
def decision(case_id):
    "Fields `decision` (approve, refuse or ban), `moderator` (her id) and `note`, as a form or JSON."
    require_moderator()
    form = request.get_json(silent=True) if request.is_json else request.form
    if not isinstance(form, dict) and not hasattr(form, 'get'): raise BadRequest('send decision, moderator and note as JSON or a form')
    return jsonify(service().decide(case_id, str(form.get('decision') or ''), str(form.get('moderator') or ''),
                                    str(form.get('note') or '')))


@bp.post('/cases/<case_id>/appeal')
def appeal(case_id):
    "The app's backend appeals a refusal on the member's behalf (the `appeal` id it was given), within the window."
    require_key()
    return jsonify(service().appeal(case_id)), 202

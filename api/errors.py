"""Every error the API returns is JSON: {"error": {"code": ..., "message": ...}} with the right status."""
import re
from flask import jsonify
from werkzeug.exceptions import HTTPException
from femverify.core import ImageError
from femverify.service import Busy, CaseClosed, ChallengeRefused, UnknownCase, InvalidRequest, ModelMismatch, ModelUnavailable, RateLimited, StoreUnavailable, Uncalibrated, UnknownUser, UserExists

# the project's own errors → HTTP status and code
STATUS = {ImageError: (400, 'bad_image'), InvalidRequest: (400, 'bad_request'), ChallengeRefused: (400, 'challenge_refused'), UnknownUser: (404, 'unknown_user'),
          UnknownCase: (404, 'unknown_case'), CaseClosed: (409, 'case_closed'),
          UserExists: (409, 'user_exists'), ModelMismatch: (409, 'template_model_mismatch'), RateLimited: (429, 'rate_limited'), Uncalibrated: (503, 'uncalibrated'), ModelUnavailable: (503, 'model_unavailable'), Busy: (503, 'busy'),
          StoreUnavailable: (503, 'store_unavailable')}


PATH = re.compile(r"(?<![\w.])(?:~|\.{1,2})?(?:/[\w.@+-]+){2,}/?")


def redact(text: str) -> str:
    "`text` with file system paths replaced by their last part: paths go to the server log, never to clients."
    return PATH.sub(lambda m: '…/' + m.group(0).rstrip('/').rsplit('/', 1)[-1], str(text))


def error(status, code, message, headers=None, **extra):
    "A JSON error response (paths in the message redacted)."
    resp = jsonify(error=dict(code=code, message=redact(message), **extra))
    resp.status_code = status
    resp.headers.update(headers or {})
    return resp


def register(app):
    "Install the handlers: HTTP errors and femverify's own exceptions become JSON."
    @app.errorhandler(HTTPException)
    def http_error(e):
        return error(e.code, (e.name or 'error').lower().replace(' ', '_'), e.description)

    def own_error(e):
        status, code = STATUS[next(c for c in type(e).__mro__ if c in STATUS)]
        code = getattr(e, 'reason', None) or code  # a refused challenge and a missing one say which (challenge_used, liveness_required…)
        headers = {'Retry-After': str(e.retry_after)} if isinstance(e, (RateLimited, Busy)) else {'Retry-After': '5'} if isinstance(e, StoreUnavailable) else None
        return error(status, code, str(e), headers)

    for exc in STATUS: app.register_error_handler(exc, own_error)

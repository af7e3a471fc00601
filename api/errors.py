"""Every error the API returns is JSON: {"error": {"code": ..., "message": ...}} with the right status."""
from flask import jsonify
from werkzeug.exceptions import HTTPException
from femverify.core import ImageError
from femverify.service import ModelUnavailable

# the project's own errors → HTTP status and code
STATUS = {ImageError: (400, 'bad_image'), ModelUnavailable: (503, 'model_unavailable')}


def error(status, code, message, headers=None):
    "A JSON error response."
    resp = jsonify(error={'code': code, 'message': message})
    resp.status_code = status
    resp.headers.update(headers or {})
    return resp


def register(app):
    "Install the handlers: HTTP errors and femverify's own exceptions become JSON."
    @app.errorhandler(HTTPException)
    def http_error(e):
        code = (e.name or 'error').lower().replace(' ', '_')
        return error(e.code, code, e.description, dict(e.get_headers()) if e.code == 429 else None)

    for exc, (status, code) in STATUS.items():
        app.register_error_handler(exc, lambda e, s=status, c=code: error(s, c, str(e)))

"""The OpenAPI 3 document of /api/v1; a test checks it against the registered routes."""
import femverify

ERR = {'$ref': '#/components/schemas/Error'}
KEY = [{'apiKey': []}]
MOD = [{'moderatorKey': []}]


def _json(schema, description='OK'):
    return {'description': description, 'content': {'application/json': {'schema': schema}}}


def _errors(*codes):
    text = {400: 'bad request or bad image', 401: 'missing or wrong key for this role', 403: 'no keys of this role configured, or a moderator key on an app route', 404: 'unknown user or case',
            409: 'user already enrolled, or the case is not in a state for this', 413: 'body too large', 422: 'registration refused', 429: 'too many failed attempts',
            503: 'a model or the store is unavailable, or the worker is busy (see Retry-After)'}
    return {str(c): _json(ERR, text[c]) for c in codes}


def _files(lo, hi, description):
    return {'type': 'array', 'items': {'type': 'string', 'format': 'binary'}, 'minItems': lo, 'maxItems': hi, 'description': description}


LIVE = {'challenge': {'type': 'string', 'description': 'the id from POST /api/v1/challenges'},
        'frames': _files(24, 48, "the challenge's burst (JPEG frames, ~5 a second), in order")}


def _upload(*fields, array=None, extra=None, required=None):
    props = {f: {'type': 'string', 'format': 'binary'} for f in fields}
    if array: props[array] = _files(1, 5, '1-5 photos (only with FEMVERIFY_LIVENESS=off)')
    props.update(extra or {})
    need = list(fields) + [k for k in (extra or {}) if k in ('user', 'consent')] if required is None else required
    return {'required': True, 'content': {'multipart/form-data': {'schema': {'type': 'object', 'properties': props, 'required': need}}}}


USER = [{'name': 'user', 'in': 'path', 'required': True, 'schema': {'type': 'string', 'pattern': '^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$'}}]
OBJ = {'type': 'object'}
CASE = [{'name': 'case_id', 'in': 'path', 'required': True, 'schema': {'type': 'string'}}]
DECISION = {'type': 'object', 'required': ['decision', 'moderator'], 'properties': {
    'decision': {'type': 'string', 'enum': ['approve', 'refuse', 'ban']}, 'moderator': {'type': 'string'}, 'note': {'type': 'string'}}}


def spec():
    "The OpenAPI document, as a dict."
    return {
        'openapi': '3.0.3',
        'info': {'title': 'femverify', 'version': femverify.__version__,
                 'description': 'One clear face, female or not, same person: the photo checks of a women-only community app.'},
        'paths': {
            '/api/v1/health': {'get': {'summary': 'Version and the state of each model', 'responses': {'200': _json(OBJ)}}},
            '/api/v1/openapi.json': {'get': {'summary': 'This document', 'responses': {'200': _json(OBJ)}}},
            '/api/v1/detect': {'post': {'summary': 'One clear face? Female? For one photo', 'requestBody': _upload('image'),
                                        'responses': {'200': _json(OBJ), **_errors(400, 413)}}},
            '/api/v1/challenges': {'post': {'summary': 'A single-use head-turn challenge (two moves, 30 s): answer it with a burst of 24-48 frames (5 a second)',
                                            'responses': {'201': _json(OBJ, 'the challenge'), **_errors(429, 503)}}},
            '/api/v1/users': {'post': {'summary': "Register a user from a live challenge's frames (or from 1-5 photos, with liveness off)", 'security': KEY,
                                       'requestBody': _upload(array='photos', extra={'user': {'type': 'string'}, 'consent': {'type': 'string', 'description': 'the version of the consent text shown'}, 'replace': {'type': 'string', 'enum': ['true', 'false']}, **LIVE}),
                                       'responses': {'201': _json(OBJ, 'enrolled'), '202': _json(OBJ, 'needs a human review'),
                                                     **_errors(400, 401, 403, 409, 413, 422, 503)}}},
            '/api/v1/users/{user}/verify': {'post': {'summary': 'Is this photo (or this live challenge) the enrolled user?', 'parameters': USER,
                                                     'requestBody': _upload(extra={'image': _files(1, 15, 'one photo, or up to 15 of one person'), **LIVE}, required=[]),
                                                     'responses': {'200': _json(OBJ), **_errors(400, 404, 409, 413, 429, 503)}}},
            '/api/v1/users/{user}/record': {'get': {'summary': 'What is held about a member: dates, consents, cases, decisions, flags (never a template or frame)',
                                                    'parameters': USER, 'security': KEY, 'responses': {'200': _json(OBJ), **_errors(400, 401, 403, 404, 503)}}},
            '/api/v1/cases': {'get': {'summary': "The moderators' queue, oldest first", 'security': MOD,
                                      'parameters': [{'name': 'reason', 'in': 'query', 'required': False, 'schema': {'type': 'string'}},
                                                     {'name': 'limit', 'in': 'query', 'required': False, 'schema': {'type': 'integer'}}],
                                      'responses': {'200': _json(OBJ), **_errors(400, 401, 403, 503)}}},
            '/api/v1/cases/{case_id}': {'get': {'summary': "One case: reasons, scores, her audit frames beside the resembled account's",
                                             'parameters': CASE, 'security': MOD, 'responses': {'200': _json(OBJ), **_errors(401, 403, 404, 503)}}},
            '/api/v1/cases/{case_id}/decision': {'post': {'summary': 'approve (enrol her), refuse or ban', 'parameters': CASE, 'security': MOD,
                                                       'requestBody': {'required': True, 'content': {'application/json': {'schema': DECISION}}},
                                                       'responses': {'200': _json(OBJ), **_errors(400, 401, 403, 404, 409, 503)}}},
            '/api/v1/cases/{case_id}/appeal': {'post': {'summary': "Appeal a refusal (its 'appeal' id) within the window", 'parameters': CASE, 'security': KEY,
                                                     'responses': {'202': _json(OBJ, 'in the queue'), **_errors(401, 403, 404, 409, 503)}}},
            '/api/v1/users/{user}': {'delete': {'summary': 'Erase a user and everything about them (with ban=true, keep only her template in the ban list)',
                                                'parameters': USER + [{'name': 'ban', 'in': 'query', 'required': False, 'schema': {'type': 'string', 'enum': ['true', 'false']}}], 'security': KEY,
                                                'responses': {'200': _json(OBJ), **_errors(400, 401, 403, 404, 503)}}},
        },
        'components': {
            'securitySchemes': {'apiKey': {'type': 'apiKey', 'in': 'header', 'name': 'X-API-Key'},
                                'moderatorKey': {'type': 'apiKey', 'in': 'header', 'name': 'X-Moderator-Key'}},
            'schemas': {'Error': {'type': 'object', 'required': ['error'], 'properties': {'error': {
                'type': 'object', 'required': ['code', 'message'],
                'properties': {'code': {'type': 'string'}, 'message': {'type': 'string'}}}}}}},
    }

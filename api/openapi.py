"""The OpenAPI 3 document of /api/v1; a test checks it against the registered routes."""
import femverify

ERROR = {'$ref': '#/components/schemas/Error'}


def _json(schema, description='OK'):
    return {'description': description, 'content': {'application/json': {'schema': schema}}}


def spec():
    "The OpenAPI document, as a dict."
    return {
        'openapi': '3.0.3',
        'info': {'title': 'femverify', 'version': femverify.__version__,
                 'description': 'One clear face, female or not, same person.'},
        'paths': {
            '/api/v1/health': {'get': {'summary': 'Version and the state of each model',
                                       'responses': {'200': _json({'type': 'object'})}}},
            '/api/v1/openapi.json': {'get': {'summary': 'This document', 'responses': {'200': _json({'type': 'object'})}}},
        },
        'components': {'schemas': {'Error': {
            'type': 'object', 'required': ['error'],
            'properties': {'error': {'type': 'object', 'required': ['code', 'message'],
                                     'properties': {'code': {'type': 'string'}, 'message': {'type': 'string'}}}}}}},
    }

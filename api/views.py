"""The /api/v1 blueprint: views parse the request, call the service, and jsonify — nothing more."""
from flask import Blueprint, current_app, jsonify
from .openapi import spec

bp = Blueprint('api', __name__, url_prefix='/api/v1')


def service():
    "The FaceService of this app."
    return current_app.extensions['femverify']


@bp.get('/health')
def health():
    return jsonify(service().health())


@bp.get('/openapi.json')
def openapi():
    return jsonify(spec())

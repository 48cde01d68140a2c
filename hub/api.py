"""The submission and review API under /api/v1/, and its OpenAPI document at /api/openapi.json."""
from __future__ import annotations

from flask import Blueprint

bp = Blueprint("api", __name__, url_prefix="/api")


def init_app(app) -> None:
    app.register_blueprint(bp)

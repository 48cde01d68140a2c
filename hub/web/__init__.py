"""The analysts' review web view under /review/ (server-rendered, JA/EN)."""
from __future__ import annotations

from flask import Blueprint

bp = Blueprint("web", __name__, url_prefix="/review", template_folder="templates", static_folder="static")


def init_app(app) -> None:
    app.register_blueprint(bp)

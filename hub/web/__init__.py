"""The analysts' review web view under /review/ (server-rendered, JA/EN, no JavaScript)."""
from __future__ import annotations

from flask import request

from . import queue_view, views  # noqa: F401 - register the routes on bp
from .blueprint import SECURITY_HEADERS, bp, is_web_path

__all__ = ["SECURITY_HEADERS", "bp", "init_app", "is_web_path"]


def init_app(app) -> None:
    """Register the review view and its session and header settings."""

    # The session cookie: not readable by script, not sent on cross-site requests, and only
    # sent to the review view (the TAXII feed and the API authenticate with keys, not cookies).
    app.config["SESSION_COOKIE_HTTPONLY"] = True
    if app.config.get("SESSION_COOKIE_SAMESITE") is None:
        app.config["SESSION_COOKIE_SAMESITE"] = "Lax"
    if app.config.get("SESSION_COOKIE_PATH") is None:
        app.config["SESSION_COOKIE_PATH"] = bp.url_prefix
    app.register_blueprint(bp)

    @app.after_request
    def _security_headers(response):
        # App-wide hook so that /review 404s and errors get the headers too.
        if is_web_path(request.path):
            for name, value in SECURITY_HEADERS.items():
                response.headers[name] = value
        return response

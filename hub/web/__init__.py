"""The analysts' review web view under /review/ (server-rendered, JA/EN, no JavaScript)."""
from __future__ import annotations

from flask import Blueprint, request

bp = Blueprint("web", __name__, url_prefix="/review", template_folder="templates", static_folder="static")

# No script at all, styles only from our own file, never framed, nothing cached or referred.
SECURITY_HEADERS = {
    "Content-Security-Policy": ("default-src 'self'; script-src 'none'; style-src 'self'; img-src 'self'; "
                                "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


def init_app(app) -> None:
    from . import views  # noqa: F401 - registers the routes on bp

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
        if request.path == bp.url_prefix or request.path.startswith(bp.url_prefix + "/"):
            for name, value in SECURITY_HEADERS.items():
                response.headers[name] = value
        return response

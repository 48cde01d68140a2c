"""The review view's blueprint and the security headers of every /review/ answer."""
from __future__ import annotations

from flask import Blueprint

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


def is_web_path(path: str) -> bool:
    """Whether a request path belongs to the review view (session sign-in, not keys)."""
    return path == bp.url_prefix or path.startswith(bp.url_prefix + "/")

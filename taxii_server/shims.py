"""Small fixes around medallion 3.0.0's views, where it departs from the TAXII 2.1
interoperability requirements. Each shim rewrites the request before the view sees it, so the
views themselves stay medallion's.

- Media types without a version (`Accept: application/taxii+json`, the same in Content-Type) must
  be served as TAXII 2.1; medallion answers 406/415 because its regex group for the version is
  empty. Parameters such as `q=0.9` and spaces are tolerated too.
- Malformed `added_after`, `match[...]` and `next` values are answered 400 by the backend
  (medallion passes them through unparsed), and `next` works without `limit`.
- `limit` must be written in ASCII digits: Python's int() behind medallion also takes " 5",
  "1_000" and full-width digits.
- A POST with an empty body is a 400 that says so (medallion answered 413 "exceeds maximum").
- HEAD is answered as GET without a body (medallion's views handle only GET and POST and
  returned nothing for HEAD: a 500).
- A body that is not JSON (invalid UTF-8, malformed, nested too deeply) is a 400 that says so,
  not Flask's generic "the browser (or proxy) sent a request…".
"""
from __future__ import annotations

import re

from flask import request
from medallion.exceptions import ProcessingError
from werkzeug.exceptions import BadRequest

TAXII_BLUEPRINTS = frozenset({"collections", "discovery", "manifest", "objects"})
_LIMIT = re.compile(r"[0-9]+", re.ASCII)

TAXII = "application/taxii+json"
TAXII21 = "application/taxii+json;version=2.1"


def normalise_media_type(header: str) -> str | None:
    """TAXII21 if the header accepts TAXII 2.1 (versioned or not), else None (leave it)."""
    for item in header.split(","):
        parts = [p.strip() for p in item.split(";")]
        if parts[0].lower() != TAXII:
            continue
        params = dict(p.split("=", 1) for p in parts[1:] if "=" in p)
        version = params.get("version", "2.1").strip()
        if version == "2.1":
            return TAXII21
    return None


def install(app) -> None:
    """Register the request rewrites on the app."""

    class HubRequest(app.request_class):
        def on_json_loading_failed(self, e):
            raise BadRequest("The request body is not valid JSON (UTF-8, nested at most 1024 levels deep)")

    app.request_class = HubRequest

    @app.before_request
    def _head_as_get():
        if request.method == "HEAD" and request.blueprint in TAXII_BLUEPRINTS:
            request.method = "GET"  # the WSGI environ still says HEAD, so no body is sent

    @app.before_request
    def _strict_limit():
        limit = request.args.get("limit")
        if limit is not None and request.blueprint in TAXII_BLUEPRINTS and not _LIMIT.fullmatch(limit):
            raise ProcessingError("limit must be a positive whole number", 400)

    @app.before_request
    def _post_body():
        if request.method == "POST" and request.blueprint in TAXII_BLUEPRINTS and request.content_length == 0:
            raise ProcessingError("The request body is empty: send a TAXII envelope", 400)

    @app.before_request
    def _media_types():
        env = request.environ
        accept = env.get("HTTP_ACCEPT", "")
        fixed = normalise_media_type(accept) if accept else None
        if fixed:
            env["HTTP_ACCEPT"] = fixed
        ctype = env.get("CONTENT_TYPE", "")
        fixed = normalise_media_type(ctype) if ctype else None
        if fixed:
            env["CONTENT_TYPE"] = fixed

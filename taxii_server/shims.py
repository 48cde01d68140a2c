"""Small fixes around medallion 3.0.0's views, where it departs from the TAXII 2.1
interoperability requirements. Each shim rewrites the request before the view sees it, so the
views themselves stay medallion's.

- Media types without a version (`Accept: application/taxii+json`, the same in Content-Type) must
  be served as TAXII 2.1; medallion answers 406/415 because its regex group for the version is
  empty. Parameters such as `q=0.9` and spaces are tolerated too.
- Malformed `added_after`, `match[...]` and `next` values are answered 400 by the backend
  (medallion passes them through unparsed), and `next` works without `limit`.
"""
from __future__ import annotations

from flask import request

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

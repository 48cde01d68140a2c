"""Authentication: HTTP Basic (user = key id, password = key) or `Authorization: Bearer|Token KEY`.

A key is shown once as "KEY_ID.SECRET", so one string identifies and proves the caller.

Medallion's views are decorated with its own HTTPBasicAuth object; we point that object's
verify callback at the principal this module resolved for the request, so every view is
guarded by our API keys instead of medallion's plaintext users.
"""
from __future__ import annotations

import base64
import binascii
import re

import medallion
from flask import current_app, g, request

from .errors import error_response

REALM = "TAXII"
# What a key id can look like ("hk_" and hex today); anything else is refused before the store
# is asked (PostgreSQL rejects a NUL byte in a text parameter with an error, not a miss).
_KEY_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")


def resolve_principal():
    """Authenticate the request's credentials against the store (None if absent or wrong)."""
    header = request.headers.get("Authorization", "")
    scheme, _, credentials = header.partition(" ")
    scheme = scheme.lower()
    credentials = credentials.strip()
    store = current_app.config["HUB_STORE"]
    if scheme == "basic":
        try:
            decoded = base64.b64decode(credentials, validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError, ValueError):
            return None
        key_id, sep, password = decoded.partition(":")
        if not sep or not _KEY_ID.fullmatch(key_id):
            return None
        # The password is the whole key ("KEY_ID.SECRET"); the bare secret is accepted too.
        secret = password[len(key_id) + 1:] if password.startswith(key_id + ".") else password
        return store.authenticate(key_id, secret)
    if scheme in ("bearer", "token"):
        key_id, found, secret = credentials.partition(".")
        return store.authenticate(key_id, secret) if found and _KEY_ID.fullmatch(key_id) else None
    return None


def install(app) -> None:
    """Resolve the principal before each request and make medallion's decorator use it."""

    @app.before_request
    def _authenticate():
        if "principal" not in g:  # another hook (the rate limiter) may have resolved it already
            g.principal = resolve_principal()

    # Medallion registered a plaintext-user lookup; our keys replace it.
    medallion.auth.get_password(lambda _username: None)

    @medallion.auth.verify_password
    def _verify(_username, _password):
        return g.get("principal")

    @medallion.auth.error_handler
    def _unauthorised(status=401):
        if status == 403:
            return error_response(403, "Forbidden", "This key may not do that")
        return error_response(401, "Unauthorized", "Valid credentials are required",
                              {"WWW-Authenticate": f'Basic realm="{REALM}"'})

"""Who is calling: the one authentication step of every request (the app's single
`before_request` hook, `hub.app`), for the TAXII feed, the API and the review view alike.

TAXII and the API: HTTP Basic (user = key id, password = key) or `Authorization: Bearer|Token
KEY`; a key is shown once as "KEY_ID.SECRET", so one string identifies and proves the caller.
The review view: the signed-in key of the session (`hub.web.auth`), looked up again each time.
"""
from __future__ import annotations

import base64
import binascii

from flask import request

from .domain import KEY_ID
from .store.base import Principal, Store

REALM = "TAXII"


def from_credentials(store: Store, header: str) -> Principal | None:
    """The principal of an Authorization header (None if absent, malformed or wrong)."""
    scheme, _, credentials = header.partition(" ")
    scheme = scheme.lower()
    credentials = credentials.strip()
    if scheme == "basic":
        try:
            decoded = base64.b64decode(credentials, validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError, ValueError):
            return None
        key_id, sep, password = decoded.partition(":")
        if not sep or not KEY_ID.fullmatch(key_id):
            return None
        # The password is the whole key ("KEY_ID.SECRET"); the bare secret is accepted too.
        secret = password[len(key_id) + 1:] if password.startswith(key_id + ".") else password
        return store.authenticate(key_id, secret)
    if scheme in ("bearer", "token"):
        key_id, found, secret = credentials.partition(".")
        return store.authenticate(key_id, secret) if found and KEY_ID.fullmatch(key_id) else None
    return None


def from_key(store: Store, key: str) -> Principal | None:
    """The principal of a whole key "KEY_ID.SECRET" as pasted into the review view's sign-in."""
    key_id, sep, secret = (key or "").strip().partition(".")
    if not sep or not KEY_ID.fullmatch(key_id):
        return None
    return store.authenticate(key_id, secret)


def from_request(store: Store) -> Principal | None:
    """The principal of the current request's Authorization header."""
    return from_credentials(store, request.headers.get("Authorization", ""))

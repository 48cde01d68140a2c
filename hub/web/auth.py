"""Who is signed in, and the CSRF token.

The session (Flask's signed cookie) holds only the key id, the time of sign-in, the language and
the CSRF token — never the key's secret. Every request looks the key up again, so a revoked key
is signed out at once, and rebuilds the principal from the key record and its organisation.
"""
from __future__ import annotations

import hmac
import secrets
import time

from flask import abort, request, session

from ..auth import from_key
from ..services.permissions import is_reviewer
from ..store.base import Principal, Store
# An absolute limit on a sign-in, whatever the activity: a forgotten browser is not signed in forever.
SESSION_MAX_AGE = 12 * 3600


def check_key(store: Store, key: str):
    """(principal, problem): problem is None, "invalid" or "refused" (a non-reviewer key)."""
    principal = from_key(store, key)
    if principal is None:
        return None, "invalid"
    if not is_reviewer(principal):
        return principal, "refused"
    return principal, None


def sign_in(principal: Principal) -> None:
    lang = session.get("lang")
    session.clear()  # a fresh session: nothing from before sign-in carries over (fixation)
    if lang:
        session["lang"] = lang
    session["key_id"] = principal.key_id
    session["since"] = int(time.time())
    session["csrf"] = secrets.token_urlsafe(32)


def sign_out() -> None:
    lang = session.get("lang")
    session.clear()
    if lang:
        session["lang"] = lang


def current_principal(store: Store) -> tuple[Principal | None, str | None]:
    """(principal, reason signed out): the signed-in reviewer, re-checked against the store."""
    key_id = session.get("key_id")
    if not key_id:
        return None, None
    if time.time() - session.get("since", 0) > SESSION_MAX_AGE:
        sign_out()
        return None, "login.expired"
    key = store.get_key(key_id)
    org = store.get_org(key.org) if key is not None else None
    principal = Principal(key.key_id, key.org, key.role, org.type) if key and org else None
    if key is None or key.revoked or not is_reviewer(principal):
        sign_out()
        return None, "login.revoked"
    return principal, None


def csrf_token() -> str:
    if "csrf" not in session:
        session["csrf"] = secrets.token_urlsafe(32)
    return session["csrf"]


def check_csrf() -> None:
    """Every POST carries the session's token in a hidden field; anything else is a 400."""
    expected = session.get("csrf")
    sent = request.form.get("csrf", "")
    if not expected or not hmac.compare_digest(expected.encode(), sent.encode()):
        abort(400, description="csrf")

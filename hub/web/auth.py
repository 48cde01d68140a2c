"""Who is signed in, and the CSRF token.

The cookie (Flask's signed session) holds a random session token, the language and the CSRF
token — never the key's secret. The session itself is a record in the store
(`hub.services.sessions`): every request looks it up and the key again, so signing out, a
revoked key, `hub sessions revoke` and the idle timeout end it at once, in every process.
"""
from __future__ import annotations

import hmac
import secrets

from flask import abort, current_app, request, session

from ..auth import from_key
from ..domain import KEY_ID
from ..services import sessions
from ..services.permissions import is_reviewer
from ..store.base import Principal, Store


def policy() -> sessions.Policy:
    """Idle timeout and sign-in throttle as configured (`hub serve` reads config.json)."""
    return current_app.config.get("HUB_SESSION_POLICY") or sessions.Policy()


def check_key(store: Store, key: str):
    """(principal, problem): problem is None, "invalid" or "refused" (a non-reviewer key)."""
    principal = from_key(store, key)
    if principal is None:
        return None, "invalid"
    if not is_reviewer(principal):
        return principal, "refused"
    return principal, None


def key_id_of(key: str) -> str | None:
    """The key id part of a key as typed (for the per-key throttle), None if it has none."""
    key_id, sep, _ = (key or "").strip().partition(".")
    return key_id if sep and KEY_ID.fullmatch(key_id) else None


def sign_in(store: Store, principal: Principal) -> None:
    lang = session.get("lang")
    session.clear()  # a fresh session: nothing from before sign-in carries over (fixation)
    if lang:
        session["lang"] = lang
    session["sid"] = sessions.start(store, principal, address=request.remote_addr)
    session["csrf"] = secrets.token_urlsafe(32)


def sign_out(store: Store | None = None) -> None:
    if store is not None:
        sessions.end(store, session.get("sid"))
    lang = session.get("lang")
    session.clear()
    if lang:
        session["lang"] = lang


def current_principal(store: Store) -> tuple[Principal | None, str | None]:
    """(principal, reason signed out): the signed-in reviewer, re-checked against the store."""
    if not session.get("sid"):
        return None, None
    key_id, ended = sessions.resolve(store, session.get("sid"), policy())
    if key_id is None:
        sign_out()
        return None, ended
    key = store.get_key(key_id)
    org = store.get_org(key.org) if key is not None else None
    principal = Principal(key.key_id, key.org, key.role, org.type) if key and org else None
    if key is None or key.revoked or not is_reviewer(principal):
        sign_out(store)
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

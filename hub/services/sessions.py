"""Review-view sessions and sign-in throttling, kept in the store (every `hub serve` process
sees the same sessions and the same failure counts).

A sign-in creates a session record; the cookie carries a random token whose SHA-256 is the
record's id. Every request looks the record up: signing out, revoking the key (`accounts`),
`hub sessions revoke` or the idle timeout end it at once. Failed sign-ins are counted per
client address and per key id (hashed); past the limit, sign-in answers 429 with Retry-After
until the window is over, whatever process the attempt reaches.
"""
from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

from ..domain import now_us
from ..errors import HubError, Missing
from ..store.base import Principal, Store
from ..store.base import WebSession
from . import audit, permissions

SIGNIN_LIMIT = 10            # failed sign-ins per window, per address and per key id
SIGNIN_WINDOW = 15 * 60      # seconds
IDLE_TIMEOUT = 30 * 60       # seconds without a request (config.json: session_idle_minutes)
MAX_AGE = 12 * 3600          # seconds, whatever the activity
TOUCH_EVERY = 60             # seconds: activity is written at most once a minute per session


class Throttled(HubError):
    """Too many failed sign-ins from this address or for this key (429 with Retry-After)."""

    status = 429

    def __init__(self, retry_after: int):
        super().__init__("too many failed sign-ins; try again later")
        self.retry_after = retry_after


@dataclass(frozen=True)
class Policy:
    idle: int = IDLE_TIMEOUT
    max_age: int = MAX_AGE
    limit: int = SIGNIN_LIMIT
    window: int = SIGNIN_WINDOW


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _buckets(address: str | None, key_id: str | None) -> list[str]:
    found = [_digest(f"addr:{address or '-'}")]
    if key_id:
        found.append(_digest(f"key:{key_id}"))
    return found


def check_throttle(store: Store, *, address: str | None, key_id: str | None, policy: Policy = Policy()) -> None:
    """Throttled when the address or the key id has used up its failed sign-ins."""
    now = now_us()
    for bucket in _buckets(address, key_id):
        failures, since = store.signin_failures(bucket)
        left = since + policy.window * 1_000_000 - now
        if failures >= policy.limit and left > 0:
            raise Throttled(max(1, -(-left // 1_000_000)))


# Who a failed sign-in is recorded as: nobody was authenticated.
ANONYMOUS = Principal(key_id="anonymous", org="-", role="none", org_type="-")


def record_failure(store: Store, *, address: str | None, key_id: str | None, policy: Policy = Policy()) -> None:
    """Count a failed sign-in per address and per key id, and audit it with the count in the
    window: under the key it named when that key exists, else as an unknown key (an unknown
    key id is input, never recorded). The throttle bounds how many entries one source adds."""
    known = key_id is not None and store.get_key(key_id) is not None
    with store.transaction():
        counts = [store.count_signin_failure(bucket, now_us(), policy.window * 1_000_000)[0]
                  for bucket in _buckets(address, key_id)]
        audit.record(store, ANONYMOUS, "sign-in-failed", key_id if known else "unknown-key",
                     {"failures_in_window": counts[-1] if known else counts[0]})


def start(store: Store, principal: Principal, *, address: str | None = None) -> str:
    """A new session for a signed-in reviewer; the token for the cookie."""
    token = secrets.token_urlsafe(32)
    now = now_us()
    with store.transaction():
        store.add_session(WebSession(_digest(token), principal.key_id, now, now))
        audit.record(store, principal, "sign-in", principal.key_id, {})
    store.clear_signin_failures(_buckets(address, None)[0])
    store.clear_signin_failures(_buckets(None, principal.key_id)[1])
    return token


def resolve(store: Store, token: object, policy: Policy = Policy()) -> tuple[str | None, str | None]:
    """(key id, reason signed out) of the session a cookie's token names."""
    if not isinstance(token, str) or not token:
        return None, None
    sid = _digest(token)
    record = store.get_session(sid)
    if record is None:
        return None, "login.ended"
    now = now_us()
    if now - record.created > policy.max_age * 1_000_000 or now - record.last_seen > policy.idle * 1_000_000:
        store.delete_sessions(session_id=sid)
        return None, "login.expired"
    if now - record.last_seen > TOUCH_EVERY * 1_000_000:
        store.touch_session(sid, now)
    return record.key_id, None


def end(store: Store, token: object) -> None:
    """Sign-out: the session's record goes, so a saved cookie no longer works."""
    if isinstance(token, str) and token:
        store.delete_sessions(session_id=_digest(token))


def list_sessions(store: Store, *, principal: Principal | None) -> dict:
    """Every open session (`hub sessions list`): a short id, the key, times; never a token."""
    permissions.require_admin(principal)
    return {"sessions": [{"id": s.id[:16], "key_id": s.key_id, "created": s.created, "last_seen": s.last_seen}
                         for s in store.list_sessions()]}


def revoke(store: Store, *, principal: Principal | None, session: str | None = None,
           key_id: str | None = None) -> dict:
    """End one session (by the short id `list` shows) or every session of a key."""
    permissions.require_admin(principal)
    with store.transaction():
        if session:
            matches = [s.id for s in store.list_sessions() if s.id.startswith(session)] if len(session) >= 8 else []
            if len(matches) != 1:
                raise Missing("no such session (give the id `hub sessions list` shows)")
            ended = store.delete_sessions(session_id=matches[0])
        elif key_id:
            ended = store.delete_sessions(key_id=key_id)
        else:
            raise Missing("name a session or a key (--key)")
        audit.record(store, principal, "sessions-revoke", key_id or session, {"ended": ended})
    return {"ended": ended}

"""Per-API-key rate limiting with the `limits` library (the engine of flask-limiter): a moving
window per caller, kept in a storage every web process shares.

Each authenticated API key may make `per_minute` requests in any 60 seconds, and at most `burst`
in any `burst * 60 / per_minute` seconds (what a token bucket of `burst` tokens refilled at
`per_minute` a minute allows). Over the limit: 429 with `Retry-After` (whole seconds, at least 1)
and a TAXII-style JSON error. Requests without valid credentials share one window per remote
address, so guessing keys is limited too and a wrong password never spends the real key's quota.

Limited: the TAXII endpoints (/taxii2/ and the API root) and everything under /api/.
Configured by the app config `RATE_LIMIT_PER_MINUTE` (default 600; 0 disables),
`RATE_LIMIT_BURST` (default: the per-minute figure) and `RATE_LIMIT_STORAGE`; `hub serve
--rate-limit N` and the data directory's config.json keys `rate_limit_per_minute`,
`rate_limit_burst` and `rate_limit_storage` set them.

Storage (why): `memory://` (default) is embedded and right for one `hub serve` process; with
several web processes (`hub serve --processes N`, or processes on several machines) each would
allow the whole rate, so they share `redis://host:6379/0` (atomic Lua scripts in Redis; the
`limits` storages have no SQL backend, and a counter table in PostgreSQL would add a write to
every feed request). `hub serve` refuses several processes with memory storage and refuses to
start when the storage cannot be reached; if Redis fails later, requests are let through and the
failure is logged (the feed stays up; authentication still applies).
"""
from __future__ import annotations

import logging
import math
import time

from flask import Flask, g, request
from limits import RateLimitItemPerMinute, RateLimitItemPerSecond
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter

from .errors import Invalid
from taxii_server.errors import error_response
from taxii_server.shims import TAXII_BLUEPRINTS

log = logging.getLogger(__name__)

DEFAULT_PER_MINUTE = 600
DEFAULT_STORAGE = "memory://"


class RateLimiter:
    """Moving-window limits by caller key over a `limits` storage URI (thread-safe)."""

    def __init__(self, per_minute: int, burst: int | None = None, *, storage: str = DEFAULT_STORAGE,
                 namespace: str = "hub"):
        if per_minute < 0 or (burst is not None and burst < 1):
            raise ValueError("per_minute must be >= 0 and burst >= 1")
        self.enabled = per_minute > 0
        self.items = []
        if self.enabled:
            self.items.append(RateLimitItemPerMinute(per_minute))
            if burst is not None and burst < per_minute:
                self.items.append(RateLimitItemPerSecond(burst, max(1, round(burst * 60 / per_minute))))
        self.storage = storage_from_string(storage, key_prefix=f"LIMITS:{namespace}") \
            if storage.startswith("redis") else storage_from_string(storage)
        self.limiter = MovingWindowRateLimiter(self.storage)
        self.namespace = namespace

    def check_storage(self) -> bool:
        return bool(self.storage.check())

    def take(self, key: str) -> int:
        """Count one request of `key`: 0 if allowed, else the whole seconds until it would be (>= 1)."""
        for item in self.items:
            if not self.limiter.hit(item, self.namespace, key):
                reset = self.limiter.get_window_stats(item, self.namespace, key).reset_time
                return max(1, math.ceil(reset - time.time()))
        return 0


def _limited_path(app: Flask) -> bool:
    if request.blueprint in TAXII_BLUEPRINTS or request.path.startswith("/api/"):
        return True
    backend = getattr(app, "medallion_backend", None)
    root = getattr(backend, "api_root", None)
    return request.path.startswith("/taxii2/") or bool(root and request.path.startswith(f"/{root}/"))


def _caller() -> str:
    """The rate-limit key: the authenticated API key, else the remote address."""
    principal = g.get("principal")  # set by the app's authentication hook, which runs first
    if principal is not None:
        return "key:" + principal.key_id
    return "addr:" + (request.remote_addr or "?")


def _too_many(retry_after: int):
    response = error_response(429, "Too Many Requests",
                              f"Rate limit exceeded for this caller; retry after {retry_after} seconds",
                              {"Retry-After": str(retry_after)})
    if request.path.startswith("/api/"):
        response.mimetype = "application/json"
    return response


def settings(config: dict, per_minute: int | None = None) -> dict:
    """App config for the limiter from `hub serve --rate-limit` (wins) and the data directory's
    config.json (`rate_limit_per_minute`, `rate_limit_burst`, `rate_limit_storage`); Invalid for
    a bad value."""
    out = {}
    for key, name, value, least in (("RATE_LIMIT_PER_MINUTE", "--rate-limit", per_minute, 0),
                                    ("RATE_LIMIT_PER_MINUTE", "rate_limit_per_minute",
                                     config.get("rate_limit_per_minute"), 0),
                                    ("RATE_LIMIT_BURST", "rate_limit_burst", config.get("rate_limit_burst"), 1)):
        if value is None or key in out:
            continue
        if isinstance(value, bool) or not isinstance(value, int) or value < least:
            raise Invalid(f"{name} must be a whole number of at least {least}")
        out[key] = value
    storage = config.get("rate_limit_storage", DEFAULT_STORAGE)
    if not isinstance(storage, str) or not storage.startswith(("memory://", "redis://", "rediss://")):
        raise Invalid("rate_limit_storage must be memory:// or a redis:// URL")
    out["RATE_LIMIT_STORAGE"] = storage
    return out


def check_reachable(limits: dict) -> None:
    """Invalid when a shared storage the limit needs does not answer (checked before `hub serve`
    starts any process; the app checks again)."""
    storage = limits.get("RATE_LIMIT_STORAGE", DEFAULT_STORAGE)
    if limits.get("RATE_LIMIT_PER_MINUTE", DEFAULT_PER_MINUTE) > 0 and not storage.startswith("memory"):
        if not RateLimiter(1, storage=storage).check_storage():
            raise Invalid("rate_limit_storage cannot be reached")


def check_processes(limits: dict, processes: int) -> None:
    """Several web processes with per-process (memory) storage would each allow the whole rate."""
    if (processes > 1 and limits.get("RATE_LIMIT_PER_MINUTE", DEFAULT_PER_MINUTE) > 0
            and limits.get("RATE_LIMIT_STORAGE", DEFAULT_STORAGE).startswith("memory")):
        raise Invalid("--processes above 1 needs a shared rate_limit_storage (redis://...) in config.json, "
                      "or --rate-limit 0")


def install(app: Flask) -> RateLimiter:
    """Limit the app's TAXII and /api/ requests: a before_request hook that runs right after the
    app's authentication hook (so malformed requests, refused later by the TAXII shims, count too)."""
    per_minute = int(app.config.get("RATE_LIMIT_PER_MINUTE", DEFAULT_PER_MINUTE))
    burst = app.config.get("RATE_LIMIT_BURST")
    limiter = RateLimiter(per_minute, int(burst) if burst else None,
                          storage=app.config.get("RATE_LIMIT_STORAGE", DEFAULT_STORAGE),
                          namespace=app.config.get("RATE_LIMIT_NAMESPACE", "hub"))
    app.extensions["hub_rate_limiter"] = limiter
    if not limiter.enabled:
        return limiter
    if not limiter.check_storage():
        raise Invalid("rate_limit_storage cannot be reached")

    def _rate_limit():
        if not _limited_path(app):
            return None
        try:
            retry_after = limiter.take(_caller())
        except Exception as exc:  # the shared storage failed: keep serving, say so in the log
            log.error("rate limit storage unavailable (%s); request let through", type(exc).__name__)
            return None
        return _too_many(retry_after) if retry_after else None

    # Right after authentication (hub.app installs that first), before every other hook.
    app.before_request_funcs.setdefault(None, []).insert(1, _rate_limit)
    return limiter

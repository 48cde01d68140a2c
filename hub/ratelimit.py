"""Per-API-key rate limiting: a token bucket per caller, per process.

Each authenticated API key has a bucket of `burst` tokens that refills at `per_minute / 60`
tokens a second (monotonic clock); a request takes one token. An empty bucket answers 429 with
`Retry-After` (whole seconds, at least 1) and a TAXII-style JSON error. Requests without valid
credentials share one bucket per remote address, so guessing keys is limited too and a wrong
password never spends the real key's tokens.

Limited: the TAXII endpoints (/taxii2/ and the API root) and everything under /api/.
Configured by the app config `RATE_LIMIT_PER_MINUTE` (default 600; 0 disables) and
`RATE_LIMIT_BURST` (default: the per-minute figure); `hub serve --rate-limit N` and the data
directory's config.json keys `rate_limit_per_minute` / `rate_limit_burst` set them.

The limit is per process: several `hub serve` processes behind one address each allow the rate.
"""
from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict
from typing import Callable

from flask import Flask, g, request

from .errors import Invalid
from taxii_server.errors import error_response
from taxii_server.shims import TAXII_BLUEPRINTS

DEFAULT_PER_MINUTE = 600
MAX_BUCKETS = 50_000  # callers remembered per process; the least recently seen are forgotten


class RateLimiter:
    """Token buckets by caller key. Thread-safe; `clock` is monotonic seconds."""

    def __init__(self, per_minute: int, burst: int | None = None, *, max_buckets: int = MAX_BUCKETS,
                 clock: Callable[[], float] = time.monotonic):
        if per_minute < 0 or (burst is not None and burst < 1):
            raise ValueError("per_minute must be >= 0 and burst >= 1")
        self.rate = per_minute / 60.0  # tokens per second
        self.burst = float(burst if burst is not None else max(per_minute, 1))
        self.max_buckets = max_buckets
        self.clock = clock
        self._buckets: OrderedDict[str, list[float]] = OrderedDict()  # key -> [tokens, updated]
        self._lock = threading.Lock()

    @property
    def enabled(self) -> bool:
        return self.rate > 0

    def take(self, key: str) -> int:
        """Spend one token of `key`: 0 if allowed, else the whole seconds until one is back (>= 1)."""
        if not self.enabled:
            return 0
        now = self.clock()
        with self._lock:
            bucket = self._buckets.get(key)
            if bucket is None:
                bucket = self._buckets[key] = [self.burst, now]
                if len(self._buckets) > self.max_buckets:
                    self._buckets.popitem(last=False)  # forgetting a caller only refills its bucket
            else:
                self._buckets.move_to_end(key)
                bucket[0] = min(self.burst, bucket[0] + (now - bucket[1]) * self.rate)
                bucket[1] = now
            if bucket[0] >= 1.0:
                bucket[0] -= 1.0
                return 0
            return max(1, math.ceil((1.0 - bucket[0]) / self.rate))


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
    config.json (`rate_limit_per_minute`, `rate_limit_burst`); Invalid for a bad value."""
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
    return out


def install(app: Flask) -> RateLimiter:
    """Limit the app's TAXII and /api/ requests: a before_request hook that runs right after the
    app's authentication hook (so malformed requests, refused later by the TAXII shims, count too)."""
    per_minute = int(app.config.get("RATE_LIMIT_PER_MINUTE", DEFAULT_PER_MINUTE))
    burst = app.config.get("RATE_LIMIT_BURST")
    limiter = RateLimiter(per_minute, int(burst) if burst else None)
    app.extensions["hub_rate_limiter"] = limiter
    if not limiter.enabled:
        return limiter

    def _rate_limit():
        if not _limited_path(app):
            return None
        retry_after = limiter.take(_caller())
        return _too_many(retry_after) if retry_after else None

    # Right after authentication (hub.app installs that first), before every other hook.
    app.before_request_funcs.setdefault(None, []).insert(1, _rate_limit)
    return limiter

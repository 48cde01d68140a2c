"""The figures of the analysts' overview page: how old the queue is, how many submissions came in
per day and in which state they are, how long publication took, which rules hold objects.
Counts only: no value, no organisation beyond what the queue already shows."""
from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta, timezone

import orjson

from ..context import HubContext
from ..domain import SUBMISSION_STATES, now_us
from ..store.base import Principal, SubmissionFilter
from . import permissions

HOUR = 3_600_000_000
# (label key, upper bound in microseconds); the last bucket is open-ended.
AGE_BUCKETS = (("lt1h", HOUR), ("lt4h", 4 * HOUR), ("lt1d", 24 * HOUR), ("lt3d", 72 * HOUR), ("ge3d", None))
WAITING = ("queued", "processing", "review")
DAYS = 14
MAX_SUBMISSIONS = 20_000
MAX_CORROBORATION_SOURCES = 2_000


def _bucket(micros: int) -> str:
    for name, bound in AGE_BUCKETS:
        if bound is None or micros < bound:
            return name
    return AGE_BUCKETS[-1][0]


def _day(micros: int) -> str:
    return datetime.fromtimestamp(micros / 1e6, timezone.utc).strftime("%Y-%m-%d")


def figures(ctx: HubContext, *, principal: Principal | None, now: int | None = None) -> dict:
    """Everything the overview charts draw, from the last MAX_SUBMISSIONS submissions."""
    permissions.require_reviewer(principal)
    now = now_us() if now is None else now
    subs = ctx.store.list_submissions(SubmissionFilter(), limit=MAX_SUBMISSIONS, offset=0)
    age = Counter(_bucket(now - s.created) for s in subs if s.status in WAITING)
    today = datetime.fromtimestamp(now / 1e6, timezone.utc).date()
    days = [(today - timedelta(days=n)).isoformat() for n in range(DAYS - 1, -1, -1)]
    per_day = {d: Counter() for d in days}
    for s in subs:
        if _day(s.created) in per_day:
            per_day[_day(s.created)][s.status] += 1
    to_publish = Counter(_bucket(s.decided - s.created) for s in subs
                         if s.status == "published" and s.decided is not None)
    holds = Counter()
    for s in subs:
        if s.status == "review" and s.report:
            for hold in orjson.loads(s.report).get("holds", []):
                if not hold.get("released") and not hold.get("withheld"):
                    holds.update(hold.get("rules", []))
    return {
        "queue_age": [(name, age.get(name, 0)) for name, _ in AGE_BUCKETS],
        "per_day": [(d, {st: per_day[d].get(st, 0) for st in SUBMISSION_STATES}) for d in days],
        "to_publication": [(name, to_publish.get(name, 0)) for name, _ in AGE_BUCKETS],
        "holds_by_rule": sorted(holds.items()),
        "corroborated": _corroborated(ctx, [s for s in subs if _day(s.created) in per_day], days),
        "waiting": sum(age.values()),
        "total": len(subs),
    }


def _corroborated(ctx: HubContext, subs: list, days: list[str]) -> list[tuple[str, int]]:
    """Per day: the values (counted by their HMAC key, never shown) that two or more member
    organisations reported, by the day of their latest report."""
    keys = {key for s in subs[:MAX_CORROBORATION_SOURCES] for key in ctx.store.corr_keys(s.id)}
    stats = ctx.store.corr_stats(sorted(keys)) if keys else {}
    per_day = Counter(_day(st.last_us) for st in stats.values() if st.count >= 2)
    return [(d, per_day.get(d, 0)) for d in days]

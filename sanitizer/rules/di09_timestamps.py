"""DI-09: coarsen the times of victim-derived events (policy granularity, UTC).

STIX timestamp properties are floored (or ceiled where the spec needs an end after a start),
so `modified >= created`, `last_seen >= first_seen` and `STOP > START` still hold. Date-times
precise to the second written in free text become a date.
"""
from __future__ import annotations

import functools
import re
from datetime import datetime, timedelta, timezone

from ..matching import ProfileIndex
from ..normalize import Folded
from . import ts_notations
from .base import Finding

RULE_ID = "DI-09"
TITLE = "Timestamps of victim-derived events and precise date-times in text"
ACTION = "coarsen to the policy granularity (default: day, UTC)"

# STIX properties holding timestamps, and those that must stay after their start.
FLOOR_PROPS = {"created", "modified", "first_seen", "last_seen", "first_observed", "last_observed",
               "valid_from", "date", "ctime", "mtime", "atime", "start", "created_time", "modified_time",
               "published", "analysis_started", "submitted", "account_created", "account_expires",
               "credential_last_changed", "account_first_login", "account_last_login", "validity_not_before",
               "object_modified"}
CEIL_PROPS = {"valid_until", "end", "analysis_ended", "validity_not_after", "stop_time"}
MILLIS_PROPS = {"created", "modified", "object_modified"}  # object_modified names a `modified`
# Timestamp properties inside extensions and nested dictionaries (any `*_time`, `*_date`, …).
NESTED_SUFFIXES = ("_time", "_date", "_stamp", "_timestamp", "_at")

_STIX_TS = re.compile(r"^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d+)?Z$")
# Free-text forms: 2025-03-14T02:13:45Z, 2025-03-14 02:13:45, 2025/03/14 11:13:45 JST, 2025年3月14日 11時13分45秒.
TEXT_TS = re.compile(
    r"(?<![0-9])(?P<y>\d{4})(?:[-/.](?P<m>\d{1,2})[-/.](?P<d>\d{1,2})|年(?P<m2>\d{1,2})月(?P<d2>\d{1,2})日)"
    r"(?:t|\s*|\s*[(（]?[月火水木金土日][)）]?\s*)"
    r"(?P<H>\d{1,2})(?::|時)(?P<M>\d{2})(?::|分)(?P<S>\d{2})(?:秒)?(?P<frac>[.,]\d+)?"
    r"(?:\s*(?P<tz>z|utc|gmt|jst|[+-]\d{2}:?\d{2})(?![a-z]))?")


class _AnyNotation:
    """`OTHER_TS.search(text)`: truthy when `text` (folded) holds a date-time precise to the second
    in any notation of `ts_notations` (kept under this name for the leak gate)."""

    def search(self, text: str):
        """The first (start, end, replacement) found, or None."""
        found = ts_notations.precise_datetimes(text)
        return found[0] if found else None

    def finditer(self, text: str):
        """Every (start, end, replacement) found."""
        return iter(ts_notations.precise_datetimes(text))


OTHER_TS = _AnyNotation()
precise_datetimes = ts_notations.precise_datetimes


def _format_date(dt: datetime, granularity: str) -> str:
    return dt.strftime("%Y-%m") if granularity == "month" else dt.strftime("%Y-%m-%d")


def _floor(dt: datetime, granularity: str) -> datetime:
    dt = dt.replace(hour=0, minute=0, second=0, microsecond=0)
    return dt.replace(day=1) if granularity == "month" else dt


def _ceil(dt: datetime, granularity: str) -> datetime:
    floored = _floor(dt, granularity)
    if floored == dt:
        return dt
    if granularity == "month":
        return (floored + timedelta(days=32)).replace(day=1)
    return floored + timedelta(days=1)


@functools.lru_cache(maxsize=65536)
def parse_stix_timestamp(value: str) -> datetime | None:
    """Parse a STIX timestamp (always UTC 'Z'); None if it is not one. Cached: a bundle repeats
    its timestamps (created = modified, the same day on many objects); datetimes are immutable."""
    m = _STIX_TS.match(value)
    if not m:
        return None
    y, mo, d, h, mi, s = (int(x) for x in m.groups()[:6])
    try:
        return datetime(y, mo, d, h, mi, s, tzinfo=timezone.utc)
    except ValueError:
        return None


def format_stix(dt: datetime, millis: bool) -> str:
    """Render a STIX timestamp."""
    return dt.strftime("%Y-%m-%dT%H:%M:%S") + (".000Z" if millis else "Z")


@functools.lru_cache(maxsize=65536)
def coarsen_property(prop: str, value: str, granularity: str) -> str | None:
    """Coarsened timestamp for a STIX property, or None if the value is not a timestamp (a pure
    function of its arguments, cached)."""
    dt = parse_stix_timestamp(value)
    if dt is None:
        return None
    dt = _ceil(dt, granularity) if prop in CEIL_PROPS else _floor(dt, granularity)
    return format_stix(dt, millis=prop in MILLIS_PROPS)


def coarsen_datetime(dt: datetime, granularity: str, ceil: bool = False) -> datetime:
    """Floor (or ceil) an aware datetime to the granularity, in UTC."""
    dt = dt.astimezone(timezone.utc)
    return _ceil(dt, granularity) if ceil else _floor(dt, granularity)


def coarsen_nested(path: str, value: str, granularity: str) -> str | None:
    """A timestamp property inside an extension or dictionary (`…time_date_stamp`, `…_time`):
    coarsened, still a valid STIX timestamp; None if the key or value is not a timestamp."""
    key = path.rsplit(".", 1)[-1].split("[", 1)[0]
    if not (key in FLOOR_PROPS or key in CEIL_PROPS or key.endswith(NESTED_SUFFIXES)):
        return None
    return coarsen_property(key, value, granularity)


def detect(folded: Folded, index: ProfileIndex, granularity: str = "day") -> list[Finding]:
    """Date-times precise to the second in free text, in every notation of `ts_notations`."""
    out = []
    for s, e, rep in index.view(ts_notations.precise_datetimes, folded.text, granularity):
        start, end = folded.orig_span(s, e)
        out.append(Finding(start, end, RULE_ID, "timestamp", rep))
    return out

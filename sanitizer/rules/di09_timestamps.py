"""DI-09: coarsen the times of victim-derived events (policy granularity, UTC).

STIX timestamp properties are floored (or ceiled where the spec needs an end after a start),
so `modified >= created`, `last_seen >= first_seen` and `STOP > START` still hold. Date-times
precise to the second written in free text become a date.
"""
from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

from ..matching import ProfileIndex
from ..normalize import Folded
from .base import Finding

RULE_ID = "DI-09"
TITLE = "Timestamps of victim-derived events and precise date-times in text"
ACTION = "coarsen to the policy granularity (default: day, UTC)"

# STIX properties holding timestamps, and those that must stay after their start.
FLOOR_PROPS = {"created", "modified", "first_seen", "last_seen", "first_observed", "last_observed",
               "valid_from", "date", "ctime", "mtime", "atime", "start", "created_time", "modified_time",
               "published", "analysis_started", "submitted", "account_created", "account_expires",
               "credential_last_changed", "account_first_login", "account_last_login", "validity_not_before"}
CEIL_PROPS = {"valid_until", "end", "analysis_ended", "validity_not_after", "stop_time"}
MILLIS_PROPS = {"created", "modified"}

_STIX_TS = re.compile(r"^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d+)?Z$")
_ZONES = {"z": 0, "utc": 0, "gmt": 0, "jst": 9 * 60}
# Free-text forms: 2025-03-14T02:13:45Z, 2025-03-14 02:13:45, 2025/03/14 11:13:45 JST, 2025年3月14日 11時13分45秒.
TEXT_TS = re.compile(
    r"(?<![0-9])(?P<y>\d{4})(?:[-/.](?P<m>\d{1,2})[-/.](?P<d>\d{1,2})|年(?P<m2>\d{1,2})月(?P<d2>\d{1,2})日)"
    r"(?:t|\s*|\s*[(（]?[月火水木金土日][)）]?\s*)"
    r"(?P<H>\d{1,2})(?::|時)(?P<M>\d{2})(?::|分)(?P<S>\d{2})(?:秒)?(?P<frac>[.,]\d+)?"
    r"(?:\s*(?P<tz>z|utc|gmt|jst|[+-]\d{2}:?\d{2})(?![a-z]))?")


_MONTHS = "jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec"
# Other notations: RFC 2822 (e-mail Date headers), "Mar 14 2025 02:13:45", "14/03/2025 02:13:45",
# compact ISO 8601 and PDF dates. They become a date; the time of day goes.
OTHER_TS = re.compile(
    r"(?:(?:mon|tue|wed|thu|fri|sat|sun)[a-z]*,?\s*)?"
    r"(?P<rd>\d{1,2})\s+(?P<rmon>" + _MONTHS + r")[a-z]*\.?,?\s+(?P<ry>\d{4})\s+(?P<rt>\d{1,2}:\d{2}:\d{2})"
    r"(?:\s*(?P<rtz>[+-]\d{4}|gmt|utc|jst|z))?"
    r"|(?P<mmon>" + _MONTHS + r")[a-z]*\.?\s+(?P<md>\d{1,2}),?\s+(?P<my>\d{4})\s+\d{1,2}:\d{2}:\d{2}"
    r"(?:\s*(?:[+-]\d{4}|gmt|utc|jst|z)(?![a-z]))?"
    r"|(?<![0-9/])(?P<dmy>\d{1,2}/\d{1,2}/\d{4})[ t]\d{1,2}:\d{2}:\d{2}(?:\s*(?:[+-]\d{2}:?\d{2}|gmt|utc|jst|z)(?![a-z]))?"
    r"|(?<![0-9a-z])(?:d:)?(?P<cy>(?:19|20)\d{2})(?P<cm>[01]\d)(?P<cd>[0-3]\d)t?(?P<ct>[0-2]\d[0-5]\d[0-5]\d)"
    r"(?:z|[+-]\d{2}'?\d{2}'?)?(?![0-9a-z])")


def _other_replacement(m: re.Match, granularity: str) -> str:
    from email.utils import parsedate_to_datetime

    months = _MONTHS.split("|")
    if m.group("rd"):
        text = f"{m.group('rd')} {m.group('rmon').title()} {m.group('ry')} {m.group('rt')} {m.group('rtz') or '+0000'}"
        try:
            dt = parsedate_to_datetime(text.replace("jst", "+0900").replace("JST", "+0900"))
            return _format_date(coarsen_datetime(dt, granularity), granularity)
        except (TypeError, ValueError):
            return m.group("ry")
    if m.group("mmon"):
        try:
            dt = datetime(int(m.group("my")), months.index(m.group("mmon")) + 1, int(m.group("md")), tzinfo=timezone.utc)
            return _format_date(_floor(dt, granularity), granularity)
        except ValueError:
            return m.group("my")
    if m.group("dmy"):
        return m.group("dmy")  # day/month order is ambiguous: keep the date as written
    try:
        dt = datetime(int(m.group("cy")), int(m.group("cm")), int(m.group("cd")), tzinfo=timezone.utc)
    except ValueError:
        return m.group(0)
    return _format_date(_floor(dt, granularity), granularity)


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


def parse_stix_timestamp(value: str) -> datetime | None:
    """Parse a STIX timestamp (always UTC 'Z'); None if it is not one."""
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


def coarsen_property(prop: str, value: str, granularity: str) -> str | None:
    """Coarsened timestamp for a STIX property, or None if the value is not a timestamp."""
    dt = parse_stix_timestamp(value)
    if dt is None:
        return None
    dt = _ceil(dt, granularity) if prop in CEIL_PROPS else _floor(dt, granularity)
    return format_stix(dt, millis=prop in MILLIS_PROPS)


def coarsen_datetime(dt: datetime, granularity: str, ceil: bool = False) -> datetime:
    """Floor (or ceil) an aware datetime to the granularity, in UTC."""
    dt = dt.astimezone(timezone.utc)
    return _ceil(dt, granularity) if ceil else _floor(dt, granularity)


def _text_replacement(m: re.Match, granularity: str) -> str | None:
    y = int(m.group("y"))
    mo = int(m.group("m") or m.group("m2"))
    d = int(m.group("d") or m.group("d2"))
    try:
        dt = datetime(y, mo, d, int(m.group("H")), int(m.group("M")), int(m.group("S")))
    except ValueError:
        return None
    tz = (m.group("tz") or "z").lower()
    if tz in _ZONES:
        offset = _ZONES[tz]
    else:
        sign = -1 if tz[0] == "-" else 1
        digits = tz[1:].replace(":", "")
        offset = sign * (int(digits[:2]) * 60 + int(digits[2:]))
    dt = (dt - timedelta(minutes=offset)).replace(tzinfo=timezone.utc)
    return _format_date(_floor(dt, granularity), granularity)


def detect(folded: Folded, index: ProfileIndex, granularity: str = "day") -> list[Finding]:
    """Date-times precise to the second in free text."""
    out = []
    for m in TEXT_TS.finditer(folded.text):
        rep = _text_replacement(m, granularity)
        if rep is not None:
            start, end = folded.orig_span(m.start(), m.end())
            out.append(Finding(start, end, RULE_ID, "timestamp", rep))
    for m in OTHER_TS.finditer(folded.text):
        rep = _other_replacement(m, granularity)
        if rep != m.group(0):
            start, end = folded.orig_span(m.start(), m.end())
            out.append(Finding(start, end, RULE_ID, "timestamp", rep))
    return out

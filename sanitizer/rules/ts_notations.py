"""Date-times precise to the second in every notation people and tools write (DI-09 v2).

`precise_datetimes(text)` returns (start, end, replacement) for each one in a folded (NFKC,
case-folded) string: ISO 8601 and its Japanese form, EXIF, Apache/nginx, RFC 2822 and English
prose, syslog (no year), US/EU numeric dates, Japanese 時分秒 with 午前/午後, era years (令和, 平成,
昭和; `R7.2.22`), compact ISO (`20250222T130751Z`, PDF `D:…`), a time of day next to a date
written elsewhere (`同日 22:15:30`, or any bare `HH:MM:SS` when the text holds a date), and epoch
seconds / ms / µs in URL parameters, request ids and Slack permalinks (in 2000–2040).
A date-time becomes its date (UTC, policy granularity), a bare time `[TIME]`, an epoch the start
of its day in the same unit. Digits that merely look like a date-time (mutex `Local\\20231105120000`,
`Local\\1719934218`) are left alone: compact forms need a `T`, `D:` or a zone, epochs a context.
"""
from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_MON = r"(?P<mon>jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?"
_TIME = r"(?P<H>\d{1,2}):(?P<M>\d{2}):(?P<S>\d{2})(?:[.,]\d{1,9})?"
_TZ = r"(?:\s*(?P<tz>z|utc|gmt|jst|[+-]\d{2}:?\d{2})(?![a-z0-9]))?"
_AT = r"(?:,?\s*(?:at\s+|@\s*)?|\s+)"
_DOW = r"(?:(?:mon|tue|wed|thu|fri|sat|sun)[a-z]*\.?,?\s*)?"
_ERA_BASE = {"令和": 2018, "平成": 1988, "昭和": 1925, "r": 2018, "h": 1988, "s": 1925}
_JTIME = r"(?P<ampm>午前|午後)?\s*(?P<H>\d{1,2})時(?P<M>\d{1,2})分(?P<S>\d{1,2})秒"
_ANYTIME = r"(?:" + _JTIME.replace("P<", "P<j") + r"|(?P<ampm2>午前|午後)?\s*" + _TIME + r")"

NOTATIONS = {
    "iso": re.compile(
        r"(?<![0-9])(?P<y>\d{4})(?:[-/.](?P<m>\d{1,2})[-/.](?P<d>\d{1,2})|年(?P<m2>\d{1,2})月(?P<d2>\d{1,2})日)"
        r"(?:t|\s*|\s*[(（]?[月火水木金土日][)）]?\s*)" + _ANYTIME + _TZ),
    "exif": re.compile(r"(?<![0-9:])(?P<y>\d{4}):(?P<m>\d{2}):(?P<d>\d{2})[ t]" + _TIME + _TZ),
    "apache": re.compile(r"(?<![0-9])(?P<d>\d{1,2})/" + _MON + r"/(?P<y>\d{4}):" + _TIME + _TZ),
    "dmy-name": re.compile(_DOW + r"(?<![0-9])(?P<d>\d{1,2})(?:st|nd|rd|th)?(?:[-\s]|\s+of\s+)" + _MON
                           + r"[-\s,]+(?P<y>\d{4})" + _AT + _TIME + _TZ),
    "mdy-name": re.compile(_DOW + r"(?<![a-z])" + _MON + r"\s+(?P<d>\d{1,2})(?:st|nd|rd|th)?,?\s+(?P<y>\d{4})"
                           + _AT + _TIME + _TZ),
    "syslog": re.compile(r"(?<![a-z0-9])" + _MON + r"\s+(?P<d>\d{1,2})\s+" + _TIME + r"(?![0-9:])"),
    "numeric": re.compile(r"(?<![0-9/])(?P<date>\d{1,2}[/.-]\d{1,2}[/.-]\d{4})[ t,]+" + _TIME + _TZ),
    "era": re.compile(
        r"(?:(?P<era>令和|平成|昭和)(?P<ey>\d{1,2}|元)年(?P<m>\d{1,2})月(?P<d>\d{1,2})日"
        r"|(?<![a-z0-9])(?P<era2>[rhs])(?P<ey2>\d{1,2})[./](?P<m2>\d{1,2})[./](?P<d2>\d{1,2}))"
        r"\s*" + _ANYTIME),
    "ja-time": re.compile(r"(?:(?P<md>\d{1,2}月\d{1,2}日)\s*)?" + _JTIME),
    "compact": re.compile(
        r"(?<![0-9a-z\\])(?P<pdf>d:)?(?P<y>(?:19|20)\d{2})(?P<m>[01]\d)(?P<d>[0-3]\d)(?P<t>t)?"
        r"(?P<H>[0-2]\d)(?P<M>[0-5]\d)(?P<S>[0-5]\d)(?P<tz>z|[+-]\d{2}'?\d{2}'?)?(?![0-9a-z])"),
    "same-day": re.compile(
        r"(?:同日|当日|翌日|前日|same day|that day|the next day|the following day)\s*(?:at\s+|の\s*|,\s*)?"
        r"(?P<time>(?:午前|午後)?\s*\d{1,2}:\d{2}:\d{2}(?:[.,]\d{1,9})?)"),
}
# A bare time of day; it counts only when the same text holds a date.
BARE_TIME = re.compile(r"(?<![0-9a-f:.])(?:[01]?\d|2[0-3]):[0-5]\d:[0-5]\d(?:[.,]\d{1,9})?(?![0-9:])")
_HAS_DATE = re.compile(
    r"(?<![0-9])\d{4}[-/.年]\d{1,2}[-/.月]\d{1,2}|\d{1,2}月\d{1,2}日|同日|当日|翌日|same day|令和|平成"
    r"|(?<![a-z])(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?\s+\d{1,2}(?![0-9])"
    r"|(?<![0-9])\d{1,2}(?:[-\s]|/)(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)")
# Epochs: after a time-like key or any URL query key, in a request/trace id, a Slack permalink.
_EPOCH = re.compile(
    r"(?:(?<=[?&;])[a-z0-9_.\[\]-]{1,24}=|(?<![a-z0-9])(?:ts|t|time|timestamp|date|epoch|since|until|start|end|"
    r"exp|iat|nbf|_|v|cb|nocache|x-request-id|request[ _-]?id|req[ _-]?id|trace[ _-]?id|event[ _-]?id)"
    r"\W{0,3}|/p(?=\d{15,16}(?![0-9])))(?P<n>\d{15,16}|\d{12,13}|\d{9,10})(?![0-9])")
_WHOLE_EPOCH = re.compile(r"^\s*(?P<n>\d{12,13}|\d{15,16})\s*$")
_EPOCH_MIN, _EPOCH_MAX = 946684800, 2208988800  # 2000-01-01 .. 2040-01-01 (seconds)
_COARSE_STIX = re.compile(r"\d{4}-\d\d-\d\dt00:00:00(?:\.0+)?z", re.IGNORECASE)  # what coarsening writes
_MIDNIGHT = re.compile(r"0?0:00:00(?:[.,]0+)?")
_CANDIDATE = re.compile(r"\d:\d\d|時|\d{10}|\dt\d")
# Cheap tests that must pass before a notation's full expression runs (speed only).
_MONTH_WORD = re.compile(r"(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?[-\s/,]")
_GUARDS = {
    "apache": _MONTH_WORD, "dmy-name": _MONTH_WORD, "mdy-name": _MONTH_WORD, "syslog": _MONTH_WORD,
    "era": re.compile(r"令和|平成|昭和|(?<![a-z0-9])[rhs]\d{1,2}[./]"), "ja-time": re.compile("時"),
    "exif": re.compile(r"\d{4}:\d\d:\d\d"), "compact": re.compile(r"\d{8}t?\d{6}"),
    "numeric": re.compile(r"\d{1,2}[/.-]\d{1,2}[/.-]\d{4}"),
    "same-day": re.compile(r"同日|当日|翌日|前日|day"),
}
_ZONES = {"z": 0, "utc": 0, "gmt": 0, "jst": 9 * 60}


def _offset(tz: str | None) -> int:
    tz = (tz or "z").lower().replace("'", "")
    if tz in _ZONES:
        return _ZONES[tz]
    sign = -1 if tz[0] == "-" else 1
    digits = tz[1:].replace(":", "")
    return sign * (int(digits[:2]) * 60 + int(digits[2:4] or 0))


def _date(y: int, m: int, d: int, hms: tuple[int, int, int], tz: str | None, granularity: str) -> str | None:
    try:
        dt = datetime(y, m, d, *hms)
    except ValueError:
        return None
    dt = dt - timedelta(minutes=_offset(tz))
    return dt.strftime("%Y-%m") if granularity == "month" else dt.strftime("%Y-%m-%d")


def _hms(m: re.Match, prefix: str = "") -> tuple[int, int, int] | None:
    g = m.groupdict()
    if g.get(prefix + "H") is None and g.get("jH") is not None:
        prefix = "j"
    h, mi, s = (int(g[prefix + k]) for k in ("H", "M", "S"))
    ampm = g.get(prefix + "ampm") or g.get("ampm2")
    if ampm == "午後" and h < 12:
        h += 12
    if h > 23 or mi > 59 or s > 60:
        return None
    return h, mi, min(s, 59)


def _replace(kind: str, m: re.Match, granularity: str) -> str | None:
    g = m.groupdict()
    if kind == "same-day":
        return None  # handled by the caller: only the time goes
    hms = _hms(m)
    if hms is None or hms == (0, 0, 0):  # midnight is what coarsening writes
        return None
    if kind in ("iso", "exif"):
        return _date(int(g["y"]), int(g.get("m") or g["m2"]), int(g.get("d") or g["d2"]), hms, g.get("tz"),
                     granularity)
    if kind in ("apache", "dmy-name", "mdy-name"):
        return _date(int(g["y"]), MONTHS.index(g["mon"]) + 1, int(g["d"]), hms, g.get("tz"), granularity)
    if kind == "syslog":
        return g["mon"].title() if granularity == "month" else f"{g['mon'].title()} {int(g['d'])}"
    if kind == "numeric":
        return g["date"]  # day/month order is ambiguous: keep the date as written
    if kind == "era":
        era, ey = (g["era"], g["ey"]) if g.get("era") else (g["era2"], g["ey2"])
        year = _ERA_BASE[era] + (1 if ey == "元" else int(ey))
        return _date(year, int(g.get("m") or g["m2"]), int(g.get("d") or g["d2"]), hms, None, granularity)
    if kind == "ja-time":
        return g["md"] or "[TIME]"
    if kind == "compact":
        # A bare 14-digit run is an attacker constant (mutex) as often as a time; a Message-ID
        # (`20131031123417.u1BK…@mail-gw`) stamps the sending time.
        if not (g["pdf"] or g["t"] or g["tz"] or m.string[m.end():m.end() + 1] in (".", "@")):
            return None
        return _date(int(g["y"]), int(g["m"]), int(g["d"]), hms, g["tz"], granularity)
    return None


def _epoch_replacement(digits: str, granularity: str) -> str | None:
    unit = 1 if len(digits) <= 10 else 1000 if len(digits) <= 13 else 1_000_000
    value = int(digits)
    seconds = value // unit
    if not _EPOCH_MIN <= seconds < _EPOCH_MAX:
        return None
    start = datetime.fromtimestamp(seconds - seconds % 86400, timezone.utc)
    if granularity == "month":
        start = start.replace(day=1)
    floored = int(start.timestamp()) * unit
    return None if floored == value else str(floored)


def precise_datetimes(text: str, granularity: str = "day") -> list[tuple[int, int, str]]:
    """(start, end, replacement) of every date-time precise to the second in folded `text`."""
    if not _CANDIDATE.search(text) or _COARSE_STIX.fullmatch(text):
        return []
    out: list[tuple[int, int, str]] = []
    for kind, rx in NOTATIONS.items():
        guard = _GUARDS.get(kind)
        if guard is not None and not guard.search(text):
            continue
        for m in rx.finditer(text):
            if kind == "same-day":
                if _MIDNIGHT.fullmatch(m.group("time").strip()):
                    continue
                out.append((m.start("time"), m.end("time"), "[TIME]"))
                continue
            rep = _replace(kind, m, granularity)
            if rep is not None:
                out.append((m.start(), m.end(), rep))
    if _HAS_DATE.search(text):
        out.extend((m.start(), m.end(), "[TIME]") for m in BARE_TIME.finditer(text)
                   if not _MIDNIGHT.fullmatch(m.group(0)) and not any(s <= m.start() < e for s, e, _r in out))
    for m in list(_EPOCH.finditer(text)) + list(_WHOLE_EPOCH.finditer(text)):
        rep = _epoch_replacement(m.group("n"), granularity)
        if rep is not None:
            out.append((m.start("n"), m.end("n"), rep))
    return out

"""The analysts' queue as a reviewer reads it: each row with a title and its IOC counts per
class, searchable by reference, organisation or value; a CSV export of the same rows; and the
figures of the overview page. Reads only; every call checks that the caller is a reviewer."""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass, replace

import orjson

from ..context import HubContext
from ..domain import IOC_CLASSES, format_us, ioc_counts
from ..store.base import Principal, Submission, SubmissionFilter
from . import corroboration, permissions
from .agreements import publication_gate
from .submissions import listing

MAX_TITLE = 120
CSV_LIMIT = 10_000


@dataclass(frozen=True)
class QueueRow:
    sub: Submission
    title: str
    counts: dict
    open_holds: int
    agreement: str


TITLE_TYPES = ("report", "grouping", "campaign", "intrusion-set", "malware", "indicator", "attack-pattern")


def _title(sub: Submission, objects: list) -> str:
    """The draft's own name for itself: its report's name, else a campaign's, a malware's, ..."""
    named = [o for o in objects if isinstance(o, dict) and isinstance(o.get("name"), str) and o["name"].strip()]
    first = next((o for kind in TITLE_TYPES for o in named if o.get("type") == kind), None)
    if first is None:
        return ""
    text = " ".join(first["name"].split())
    return text if len(text) <= MAX_TITLE else text[: MAX_TITLE - 1] + "…"


def _row(ctx: HubContext, sub: Submission, today: str) -> QueueRow:
    full = ctx.store.get_submission(sub.id) if sub.draft is None else sub
    bundle = orjson.loads(full.draft) if full is not None and full.draft else {}
    objects = bundle.get("objects", []) if isinstance(bundle, dict) else []
    report = orjson.loads(sub.report) if sub.report else {}
    holds = [h for h in report.get("holds", []) if not h.get("released") and not h.get("withheld")]
    return QueueRow(sub=sub, title=_title(sub, objects), counts=ioc_counts(objects), open_holds=len(holds),
                    agreement=publication_gate(ctx.store, sub.org, sub.victim_ref, today).status)


def search(ctx: HubContext, *, principal: Principal | None, flt: SubmissionFilter, query: str,
           orgs: list[str]) -> SubmissionFilter:
    """The queue filter for a search: an organisation's exact name, else the submissions that
    reported the value (any written form, through the HMAC index), else a part of a reference."""
    permissions.require_reviewer(principal)
    if query in orgs and flt.org is None:
        return replace(flt, org=query)
    found = corroboration.find_submissions_by_value(ctx, principal=principal, value=query)
    if found:
        return replace(flt, ids=tuple(s.id for s in found))
    return replace(flt, victim_ref=query)


def rows(ctx: HubContext, *, principal: Principal | None, flt: SubmissionFilter, limit: int,
         offset: int) -> list[QueueRow]:
    """One page of the queue (a draft is read only for the rows shown)."""
    permissions.require_reviewer(principal)
    today = ctx.today()
    return [_row(ctx, s, today) for s in listing(ctx, principal=principal, flt=flt, limit=limit, offset=offset)]


CSV_COLUMNS = ("id", "org", "victim_ref", "status", "tlp", "needs_review", "open_holds", "created", "agreement",
               "title", *IOC_CLASSES)


def _cell(value: object) -> str:
    """A spreadsheet must not run a cell as a formula (CSV injection): such text gets a quote mark."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def export_csv(ctx: HubContext, *, principal: Principal | None, flt: SubmissionFilter) -> str:
    """The queue as CSV: the columns the queue page shows, nothing more (no victim value: the
    titles come from the sanitised drafts)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for row in rows(ctx, principal=principal, flt=replace(flt), limit=CSV_LIMIT, offset=0):
        s = row.sub
        writer.writerow([_cell(v) for v in (
            s.id, s.org, s.victim_ref, s.status, s.tlp, "yes" if s.needs_review else "no", row.open_holds,
            format_us(s.created), row.agreement, row.title, *(row.counts[c] for c in IOC_CLASSES))])
    return out.getvalue()

"""Submitting and sanitising: accept a submission (sealed at once) and queue it; the worker
(hub.worker, never a request thread) sanitises it and stores the draft; reading submissions back.

The raw input, the victim profile and the analysts' edits are kept only in one sealed blob per
submission; nothing from them reaches a log, an error message or the draft except through the
sanitiser and its leak gate.
"""
from __future__ import annotations

import logging
from dataclasses import replace

import orjson

from sanitizer import BadInput, LeakRefused

from ..context import HubContext
from ..domain import IOC_TYPES, format_us, new_id, now_us
from ..errors import Busy, Missing, WrongState
from ..store.base import Principal, Submission, SubmissionFilter
from . import audit, corroboration, permissions, validation
from .agreements import publication_gate
from .permissions import HUB
from .corrholds import annotate
from .pipeline import draft_columns, run_sanitiser
from .publication import maybe_auto_publish
from .redactions import entry_keys
from .sealed import open_payload, open_private_report, open_profile_record, seal_payload, shown_message

log = logging.getLogger(__name__)


def submit(ctx: HubContext, *, principal: Principal | None, body: object, source: str = "api",
           raw_size: int | None = None, status_id: str | None = None) -> Submission:
    """Accept a submission: seal it, queue it and wake the workers (this process's at once, other
    processes' through the store's signal at commit)."""
    permissions.require_submitter(principal)
    validation.check_tree(body)  # also for TAXII inbox pushes, whose JSON parser allows deeper nesting
    req = validation.submission_request(body)
    default_ref = None
    if req.profile_id is not None:
        stored = ctx.store.get_profile(principal.org, req.profile_id)
        if stored is None:
            raise Missing("no such profile for this organisation")
        record = open_profile_record(ctx, stored)
        profile, default_ref = record["profile"], record.get("victim_ref")
        validation.profile(profile)
    else:
        profile = req.profile
        validation.profile(profile, "victim_profile")
    tlp = validation.tlp(req.tlp if req.tlp is not None else "amber")
    victim_ref = validation.victim_ref(req.victim_ref if req.victim_ref is not None else default_ref)
    attribution = validation.flag(req.attribution, "'attribution'")
    data = req.source_input["data"]
    # The cost against the organisation's queue budget: the input's and the profile's bytes.
    cost = (raw_size if raw_size is not None else len(orjson.dumps(data))) + len(orjson.dumps(profile))
    sid = new_id("sub")
    objects = data.get("objects") if req.source_input["format"] == "stix" else None
    now = now_us()
    payload = {"input": req.source_input, "profile": profile, "edits": [], "received": now}
    sub = Submission(
        id=sid, org=principal.org, key_id=principal.key_id, source=source, input_format=req.source_input["format"],
        tlp=tlp, victim_ref=victim_ref, attribution=attribution, status="queued", mode="background", needs_review=True,
        object_count=len(objects) if isinstance(objects, list) else 0, created=now, updated=now,
        sealed=seal_payload(ctx, sid, payload), status_id=status_id, queue_cost=cost)
    with ctx.store.transaction():
        if ctx.store.queued_cost(principal.org) + cost > ctx.queue_budget:
            raise Busy("this organisation's queue is full (queue_budget_bytes); retry when its earlier "
                       "submissions are processed / キューが一杯です。処理後に再送してください")
        ctx.store.add_submission(sub)
        audit.record(ctx.store, principal, "submit", sid, {"org": principal.org, "source": source,
                                                           "format": sub.input_format, "tlp": tlp})
        ctx.store.signal_queued()
    ctx.notify_work()
    log.info("submission %s queued (%s)", sid, sub.input_format)
    return sub


def sanitise(ctx: HubContext, *, submission: Submission) -> Submission:
    """Sanitise a claimed submission and store the outcome (review, failed or refused); then
    auto-publish it when its CSIRT chose that and nothing needs an analyst."""
    try:
        payload = open_payload(ctx, submission)
        draft, private, holds = run_sanitiser(ctx, submission, payload)
    except BadInput as exc:
        return _finish(ctx, submission, "failed", message=str(exc))
    except LeakRefused as exc:
        refused = [{"rule": h.rule, "what": h.what, "where": h.where} for h in exc.hits]
        return _finish(ctx, submission, "refused",
                       message=f"refused by the leak gate ({len(refused)} finding(s)); nothing will be published",
                       report=orjson.dumps({"refused": refused}).decode())
    except Exception as exc:  # never leave a claimed submission in processing; never log its content
        # The exception's text may quote input (a KeyError of a value): only its type is logged.
        log.error("submission %s: sanitiser failed unexpectedly (%s)", submission.id, type(exc).__name__)
        return _finish(ctx, submission, "failed", message="internal error while sanitising; an operator was notified")
    # Its values as they would be published join the index with the move to review (one unit of
    # work); its own report now counts too.
    with ctx.store.transaction():
        keys = corroboration.record_submission(ctx, submission=submission, bundle=draft)
        holds = annotate(ctx, draft, private, holds)
        columns = draft_columns(ctx, submission.id, draft, private, holds)
        if submission.input_format != "stix":  # a CSV or text list has no objects until the sanitiser made them
            columns["object_count"] = sum(1 for o in draft.get("objects", []) if o.get("type") in IOC_TYPES)
        sub = ctx.store.update_submission(submission.id, expect_status=("processing",), status="review", **columns)
    corroboration.propagate(ctx, keys=keys, exclude=sub.id)  # earlier submissions with these values
    return maybe_auto_publish(ctx, submission=sub)


def _finish(ctx: HubContext, submission: Submission, status: str, *, message: str,
            report: str | None = None) -> Submission:
    with ctx.store.transaction():
        sub = ctx.store.update_submission(submission.id, expect_status=("processing",), status=status,
                                          message=message, report=report, decided=now_us())
        audit.record(ctx.store, HUB, status, submission.id, {"org": submission.org})
    return sub


# -- reading ---------------------------------------------------------------------------------

def listing(ctx: HubContext, *, principal: Principal | None, flt: SubmissionFilter, limit: int,
            offset: int) -> list[Submission]:
    """Submissions the caller may list: a submitter its own organisation's, reviewers any."""
    org = permissions.require_list_scope(principal, flt.org)
    return ctx.store.list_submissions(replace(flt, org=org), limit=limit, offset=offset)


def draft(ctx: HubContext, *, principal: Principal | None, submission_id: object) -> str:
    """The sanitised bundle as stored (canonical JSON)."""
    sub = permissions.visible_submission(ctx, principal=principal, submission_id=submission_id)
    if sub.draft is None:
        raise WrongState(f"the submission is {sub.status}; it has no draft")
    return sub.draft


def private_report(ctx: HubContext, *, principal: Principal | None, submission_id: object) -> dict:
    """The private report (original values) with each entry's undo key; the read is audited."""
    sub = permissions.visible_submission(ctx, principal=principal, submission_id=submission_id)
    if sub.purged is not None:
        raise Missing("the private report was purged after the retention period")
    report = open_private_report(ctx, sub)
    if report is None:
        raise WrongState(f"the submission is {sub.status}; it has no report")
    for entry, key in zip(report["entries"], entry_keys(report["entries"])):
        entry["key"] = key  # what POST .../redactions/undo names
    audit.record(ctx.store, principal, "read-private-report", sub.id, {"org": sub.org})
    return report


def describe(ctx: HubContext, sub: Submission) -> dict:
    """The JSON form of a submission (the public report and the agreement status; never sealed data)."""
    view = {
        "id": sub.id, "org": sub.org, "status": sub.status, "source": sub.source,
        "input_format": sub.input_format, "tlp": sub.tlp, "victim_ref": sub.victim_ref,
        "attribution": sub.attribution, "needs_review": sub.needs_review, "object_count": sub.object_count,
        "created": format_us(sub.created), "updated": format_us(sub.updated), "decided": format_us(sub.decided),
        "message": shown_message(ctx, sub), "publication_id": sub.publication_id,
        "report": orjson.loads(sub.report) if sub.report else None,
        "purged": sub.purged is not None,
    }
    gate = publication_gate(ctx.store, sub.org, sub.victim_ref, ctx.today())
    view["agreement"] = {"status": gate.status, "allowed": gate.allowed, "message": gate.message}
    return view

"""Corroboration (issue 15): members' reports of the same infrastructure value add up without
anyone but the operator learning who reported it.

A submission that reaches review records its values in the index (HMAC keys, see
`corrvalues`); when a value reaches k distinct organisations the DI-17 holds on it release
themselves in every submission still in review (`refresh`: the draft is recomputed from the raw
input, so nothing bypasses the sanitiser; audit "corroboration-release"), and auto-publish may
then publish them. A rejected submission's reports are taken out again and its peers rechecked.
"""
from __future__ import annotations

import logging

import orjson

from sanitizer import BadInput, LeakRefused

from ..context import HubContext
from ..domain import now_us
from ..errors import Invalid
from ..store.base import Conflict, Principal, Submission
from . import audit, corrvalues, permissions
from .corrholds import all_keys, keys_by_object
from .permissions import HUB
from .pipeline import draft_columns, run_sanitiser
from .publication import maybe_auto_publish
from .sealed import open_payload

log = logging.getLogger(__name__)


def record_submission(ctx: HubContext, *, submission: Submission, bundle: dict) -> list[str]:
    """Add the submission's organisation to the set of every value it names; the value keys."""
    pairs = all_keys(keys_by_object(ctx, bundle))
    ctx.store.corr_add(submission.id, submission.org, pairs, now_us())
    return [key for key, _kind in pairs]


def forget_submission(ctx: HubContext, *, submission_id: str) -> list[str]:
    """Take a submission's reports out of the index (it was rejected, refused or failed); the
    value keys it had reported."""
    keys = ctx.store.corr_keys(submission_id)
    ctx.store.corr_remove_source(submission_id)
    return keys


def propagate(ctx: HubContext, *, keys: list[str], exclude: str | None = None,
              reached_k_only: bool = True) -> list[Submission]:
    """Recheck the submissions in review that share any of these values (only values with k
    reporters when `reached_k_only`); the submissions whose holds changed."""
    if reached_k_only:
        stats = ctx.store.corr_stats(keys)
        keys = [key for key in keys if key in stats and stats[key].count >= ctx.corroboration_k]
    changed = []
    for source in ctx.store.corr_sources(keys):
        if source == exclude or source.startswith("sighting:"):
            continue
        sub = ctx.store.get_submission(source)
        if sub is not None and sub.status == "review":
            updated = refresh(ctx, submission=sub)
            if updated is not None:
                changed.append(updated)
    return changed


def _open_objects(report_json: str | None) -> set[str]:
    report = orjson.loads(report_json) if report_json else {}
    return {h["object"] for h in report.get("holds", []) if not h.get("released") and not h.get("withheld")}


def refresh(ctx: HubContext, *, submission: Submission) -> Submission | None:
    """Recompute a draft in review against the index; store it (with an audit entry) and try
    auto-publish if its open holds changed. None when nothing changed."""
    try:
        payload = open_payload(ctx, submission)
        draft, private, holds = run_sanitiser(ctx, submission, payload)
    except (BadInput, LeakRefused) as exc:  # the draft stays as it was; never log content
        log.warning("submission %s: corroboration recheck failed (%s)", submission.id, type(exc).__name__)
        return None
    before = _open_objects(submission.report)
    after = {h["object"] for h in holds}
    if before == after:
        return None
    columns = draft_columns(ctx, submission.id, draft, private, holds)
    try:
        with ctx.store.transaction():
            updated = ctx.store.update_submission(submission.id, expect_status=("review",), status="review",
                                                  **columns)
            audit.record(ctx.store, HUB, "corroboration-release", submission.id,
                         {"released": len(before - after), "held_again": len(after - before),
                          "k": ctx.corroboration_k})
    except Conflict:  # approved or rejected meanwhile
        return None
    return maybe_auto_publish(ctx, submission=updated)


# -- queries for the review view -------------------------------------------------------------

def _keys_for(ctx: HubContext, value_kind: str | None, value: object) -> list[str]:
    if not isinstance(value, str) or not value.strip() or len(value) > 2048:
        raise Invalid("'value' must be a non-empty string of at most 2048 characters")
    if value_kind is not None and value_kind not in corrvalues.KINDS:
        raise Invalid(f"'value_kind' must be one of {', '.join(corrvalues.KINDS)}")
    keys = []
    for kind in (value_kind,) if value_kind else corrvalues.KINDS:
        norm = corrvalues.normalise(kind, value)
        if norm:
            keys.append(corrvalues.value_key(ctx.id_secret, kind, norm))
    return keys


def reporter_count(ctx: HubContext, *, value_kind: str, value: object) -> int:
    """How many distinct member organisations reported this value (0 if none)."""
    stats = ctx.store.corr_stats(_keys_for(ctx, value_kind, value))
    return max((s.count for s in stats.values()), default=0)


def find_submissions_by_value(ctx: HubContext, *, principal: Principal | None, value: object,
                              value_kind: str | None = None) -> list[Submission]:
    """Analysts' search: the submissions (not rejected) that reported this value, through the
    HMAC index (the value is normalised, so any written form finds them)."""
    permissions.require_reviewer(principal)
    found = []
    for source in ctx.store.corr_sources(_keys_for(ctx, value_kind, value)):
        sub = None if source.startswith("sighting:") else ctx.store.get_submission(source)
        if sub is not None:
            found.append(sub)
    return sorted(found, key=lambda s: (s.created, s.id))


def hold_reporters(ctx: HubContext, *, principal: Principal | None, submission_id: object) -> dict[str, dict]:
    """For each DI-17-held object of a submission: {"reported_by": n, "k": k} as of now."""
    permissions.require_reviewer(principal)
    sub = permissions.visible_submission(ctx, principal=principal, submission_id=submission_id)
    if sub.draft is None:
        return {}
    report = orjson.loads(sub.report) if sub.report else {"holds": []}
    by_object = keys_by_object(ctx, orjson.loads(sub.draft))
    stats = ctx.store.corr_stats([key for key, _kind in all_keys(by_object)])
    out = {}
    for hold in report.get("holds", []):
        pairs = by_object.get(hold.get("object", ""))
        if pairs and "DI-17" in hold.get("rules", []):
            out[hold["object"]] = {"reported_by": min(stats[k].count if k in stats else 0 for k, _ in pairs),
                                   "k": ctx.corroboration_k}
    return out


def reporters(ctx: HubContext, *, principal: Principal | None, value_kind: str, value: object) -> list[str]:
    """The organisations that reported a value: for the hub's administrators only."""
    permissions.require_admin(principal)
    return sorted({org for key in _keys_for(ctx, value_kind, value) for org in ctx.store.corr_orgs(key)})

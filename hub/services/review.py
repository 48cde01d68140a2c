"""Analyst actions on a draft: add a redaction, undo one (with a justification, through the leak
gate again), change the TLP, release a DI-17/DI-04 hold, reject. Approval is `publication.approve`.

Every edit is recorded inside the sealed payload and the draft is recomputed from the raw input,
so the draft always equals sanitise(input, profile + added values) followed by the undo and
release edits — an edit can never bypass the sanitiser or the leak gate. The new draft, the
sealed payload and the audit entry are written in one unit of work.
"""
from __future__ import annotations

from dataclasses import replace

import orjson

from sanitizer import BadInput, LeakRefused

from ..context import HubContext
from ..domain import now_us
from ..errors import Invalid, Refused, WrongState
from ..store.base import Conflict, Principal, Submission
from . import audit, corroboration, permissions, validation
from .pipeline import draft_columns, run_sanitiser
from .redactions import find_entry, undoable
from .sealed import REJECTED_NOTE, open_payload, open_private_report, seal_payload, seal_reason

# What an analyst may add, as the profile field it extends and the rule that then applies.
ADD_FIELDS = {
    "organization_names": "DI-03", "people": "DI-03", "keywords": "DI-03", "hostnames": "DI-03",
    "accounts": "DI-03", "domains": "DI-04", "ip_ranges": "DI-05", "email_addresses": "DI-06",
}
MAX_VALUE = 500
MAX_JUSTIFICATION = 2000


def _editable(ctx: HubContext, principal: Principal | None, submission_id: object) -> Submission:
    permissions.require_reviewer(principal)
    sub = permissions.visible_submission(ctx, principal=principal, submission_id=submission_id)
    if sub.status != "review":
        raise WrongState(f"the submission is {sub.status}; only drafts in review can be changed")
    return sub


def _recompute(ctx: HubContext, principal: Principal, sub: Submission, edit: dict | None, *,
               tlp: str | None = None, action: str, details: dict, extra: list[dict] = ()) -> Submission:
    payload = open_payload(ctx, sub)
    for more in extra:
        payload["edits"].append({**more, "by": principal.key_id, "at": now_us()})
    if edit is not None:
        payload["edits"].append({**edit, "by": principal.key_id, "at": now_us()})
    changed = sub if tlp is None else replace(sub, tlp=tlp)
    try:
        draft, private, holds = run_sanitiser(ctx, changed, payload)
    except LeakRefused as exc:
        where = ", ".join(sorted({f"{h.rule} at {h.where}" for h in exc.hits})[:5])
        raise Refused(f"refused by the leak gate ({where}); the draft is unchanged") from None
    except BadInput as exc:
        raise Invalid(str(exc)) from None
    columns = draft_columns(ctx, sub.id, draft, private, holds)
    columns["sealed"] = seal_payload(ctx, sub.id, payload)
    if tlp is not None:
        columns["tlp"] = tlp
    try:
        with ctx.store.transaction():
            updated = ctx.store.update_submission(sub.id, expect_status=("review",), status="review", **columns)
            audit.record(ctx.store, principal, action, sub.id, details)
    except Conflict:  # another analyst approved or rejected it meanwhile
        raise WrongState("the submission changed meanwhile (approved or rejected by someone else); reload it") from None
    return updated


def add_redaction(ctx: HubContext, *, principal: Principal | None, submission_id: object, value: object,
                  field: object) -> Submission:
    """Redact one more value, as the given profile field (and so by that field's rule)."""
    sub = _editable(ctx, principal, submission_id)
    if not isinstance(field, str) or field not in ADD_FIELDS:
        raise Invalid(f"'field' must be one of {', '.join(ADD_FIELDS)}")
    if not isinstance(value, str) or not value.strip() or len(value) > MAX_VALUE:
        raise Invalid(f"'value' must be a non-empty string of at most {MAX_VALUE} characters")
    probe = {"organization_names": ["x"], field: [value.strip()]}
    if field == "organization_names":
        probe = {"organization_names": [value.strip()]}
    try:
        validation.profile(probe)  # a bad domain, range or address is refused
    except Invalid:
        raise Invalid(f"'value' is not a valid entry for {field}") from None
    return _recompute(ctx, principal, sub, {"op": "add", "field": field, "value": value.strip()},
                      action="add-redaction", details={"rule": ADD_FIELDS[field], "field": field})


def undo_redaction(ctx: HubContext, *, principal: Principal | None, submission_id: object, entry_key: object,
                   justification: object) -> Submission:
    """Put back one replaced value (text placeholders and coarsened times only), with a reason."""
    sub = _editable(ctx, principal, submission_id)
    _require_justification(justification)
    private = open_private_report(ctx, sub) or {"entries": []}
    if not isinstance(entry_key, str):
        raise Invalid("'entry' must be a string (a redaction's key)")
    entry = find_entry(private["entries"], entry_key)
    if entry is None:
        raise Invalid("no such redaction in this draft")
    if entry.get("undone"):
        raise WrongState("that redaction is already undone")
    if not undoable(entry):
        raise Invalid("this redaction removed an object or a pattern comparison and cannot be undone; "
                      "reject the submission and ask the CSIRT to resubmit instead")
    return _recompute(ctx, principal, sub, {"op": "undo", "entry": entry_key, "justification": justification.strip()},
                      action="undo-redaction",
                      details={"rule": entry["rule"], "justification_chars": len(justification)})


def change_tlp(ctx: HubContext, *, principal: Principal | None, submission_id: object, tlp: object) -> Submission:
    """Publish under another TLP level (the draft's marking is recomputed)."""
    sub = _editable(ctx, principal, submission_id)
    validation.tlp(tlp)
    return _recompute(ctx, principal, sub, None, tlp=tlp, action="change-tlp", details={"from": sub.tlp, "to": tlp})


def release_hold(ctx: HubContext, *, principal: Principal | None, submission_id: object, obj: object,
                 justification: object) -> Submission:
    """Release a DI-04/DI-17 hold on one object, with a reason."""
    sub = _editable(ctx, principal, submission_id)
    _require_justification(justification)
    if not isinstance(obj, str) or obj not in _open_holds(sub):
        raise Invalid("no open hold on that object")
    return _recompute(ctx, principal, sub, {"op": "release", "object": obj, "justification": justification.strip()},
                      action="release-hold", details={"object": obj})


def drop_object(ctx: HubContext, *, principal: Principal | None, submission_id: object, obj: object,
                justification: object) -> Submission:
    """Leave one object (and the relationships and sightings that only link to it) out of the
    draft, with a reason: how an analyst fixes a draft that is not strict STIX (issue 12)."""
    sub = _editable(ctx, principal, submission_id)
    _require_justification(justification)
    draft = orjson.loads(sub.draft) if sub.draft else {"objects": []}
    if not isinstance(obj, str) or obj not in {o.get("id") for o in draft.get("objects", [])}:
        raise Invalid("no such object in this draft")
    return _recompute(ctx, principal, sub, {"op": "drop", "object": obj, "justification": justification.strip()},
                      action="drop-object", details={"object": obj})


def release_all_holds(ctx: HubContext, *, principal: Principal | None, submission_id: object,
                      justification: object) -> Submission:
    """Release every open hold of a draft with one written reason (one recomputation, one audit entry)."""
    return _on_every_open_hold(ctx, principal, submission_id, justification, op="release",
                               action="release-all-holds")


def withhold_held(ctx: HubContext, *, principal: Principal | None, submission_id: object,
                  justification: object) -> Submission:
    """Leave every object still on hold out of the draft, so the rest can be published now."""
    return _on_every_open_hold(ctx, principal, submission_id, justification, op="withhold",
                               action="withhold-held")


def _on_every_open_hold(ctx: HubContext, principal: Principal | None, submission_id: object,
                        justification: object, *, op: str, action: str) -> Submission:
    sub = _editable(ctx, principal, submission_id)
    _require_justification(justification)
    held = _open_holds(sub)
    if not held:
        raise Invalid("no open hold on this submission")
    reason = justification.strip()
    payload_edits = [{"op": op, "object": obj, "justification": reason} for obj in held]
    return _recompute_many(ctx, principal, sub, payload_edits, action=action, details={"objects": len(held)})


def _open_holds(sub: Submission) -> list[str]:
    report = orjson.loads(sub.report) if sub.report else {}
    return sorted({h["object"] for h in report.get("holds", []) if not h.get("released") and not h.get("withheld")})


def _recompute_many(ctx: HubContext, principal: Principal, sub: Submission, edits: list[dict], *, action: str,
                    details: dict) -> Submission:
    *head, last = edits
    return _recompute(ctx, principal, sub, last, action=action, details=details, extra=head)


def reject(ctx: HubContext, *, principal: Principal | None, submission_id: object, reason: object) -> Submission:
    """Reject a draft (or a refused or failed submission) with a reason; nothing is published."""
    permissions.require_reviewer(principal)
    sub = permissions.visible_submission(ctx, principal=principal, submission_id=submission_id)
    if not isinstance(reason, str) or not reason.strip() or len(reason) > MAX_JUSTIFICATION:
        raise Invalid(f"a reason (1 to {MAX_JUSTIFICATION} characters) is required to reject")
    try:
        with ctx.store.transaction():
            # The reason is free text that may quote the input: sealed, like the input itself.
            updated = ctx.store.update_submission(sub.id, expect_status=("review", "refused", "failed"),
                                                  status="rejected", message=REJECTED_NOTE,
                                                  sealed_reason=seal_reason(ctx, sub.id, reason.strip()),
                                                  decided=now_us())
            keys = corroboration.forget_submission(ctx, submission_id=sub.id)
            audit.record(ctx.store, principal, "reject", sub.id, {"reason_chars": len(reason)})
    except Conflict as exc:
        raise WrongState(str(exc)) from None
    # Its reports no longer count: holds it had helped release in other drafts come back.
    corroboration.propagate(ctx, keys=keys, reached_k_only=False)
    return updated


def _require_justification(text: object) -> None:
    if not isinstance(text, str) or len(text.strip()) < 10 or len(text) > MAX_JUSTIFICATION:
        raise Invalid(f"a written justification of 10 to {MAX_JUSTIFICATION} characters is required")

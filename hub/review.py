"""Analyst actions on a draft: add a redaction, undo one (with a justification, through the leak
gate again), change the TLP, release a DI-17/DI-04 hold, reject, approve (→ `publication`).

Every action is recorded as an edit inside the sealed payload and the draft is recomputed from
the raw input, so the draft always equals sanitise(input, profile + added values) followed by
the undo and release edits — and an edit can never bypass the sanitiser or the leak gate.
"""
from __future__ import annotations

import copy
import re
import time
from dataclasses import replace

import orjson

from sanitizer import BadInput, LeakRefused, VictimProfile, recheck
from sanitizer.policy import TLP_LEVELS

from .errors import Forbidden, Invalid, Refused, WrongState
from .intake import (is_reviewer, open_payload, open_private_report, run_sanitiser, seal_payload, store_draft,
                     visible_submission)
from .store.base import Conflict, Principal, Submission

# What an analyst may add, as the profile field it extends and the rule that then applies.
ADD_FIELDS = {
    "organization_names": "DI-03", "people": "DI-03", "keywords": "DI-03", "hostnames": "DI-03",
    "accounts": "DI-03", "domains": "DI-04", "ip_ranges": "DI-05", "email_addresses": "DI-06",
}
MAX_VALUE = 500
MAX_JUSTIFICATION = 2000
_REPLACED = re.compile(r"^replaced with (.+)$")


def _now_us() -> int:
    return time.time_ns() // 1000


def require_reviewer(principal: Principal | None) -> None:
    if not is_reviewer(principal):
        raise Forbidden("only the hub's analysts may review submissions")


# -- recomputing a draft -----------------------------------------------------------------------

def apply_edits(ctx, result, original: dict, profile: VictimProfile, edits: list[dict]):
    """(draft, private report, open holds) after the analysts' undo and release edits."""
    draft = copy.deepcopy(result.bundle)
    private = result.report.private()
    undone = False
    for edit in edits:
        if edit.get("op") == "undo":
            entry = _find_entry(private["entries"], edit["entry"])
            if entry is None or entry.get("undone"):
                continue  # the redaction no longer happens (e.g. after a later edit)
            _restore(draft, private["entries"], entry)
            entry["undone"] = True
            entry["justification"] = edit["justification"]
            undone = True
    if undone:
        hits = recheck(draft, original, profile)
        if hits:
            raise LeakRefused(hits)
    released = {e["object"]: e["justification"] for e in edits if e.get("op") == "release"}
    open_holds = []
    for hold in private["holds"]:
        if hold["object"] in released:
            hold["released"] = True
            hold["justification"] = released[hold["object"]]
        else:
            open_holds.append(hold)
    return draft, private, open_holds


def entry_keys(entries: list[dict]) -> list[str]:
    """A stable name for each report entry across recomputations (same fields + occurrence)."""
    seen: dict[str, int] = {}
    keys = []
    for entry in entries:
        base = "|".join(str(entry.get(k)) for k in ("rule", "original_id", "path", "action", "original"))
        seen[base] = seen.get(base, 0) + 1
        keys.append(f"{base}#{seen[base]}")
    return keys


def _find_entry(entries: list[dict], key: object) -> dict | None:
    return next((e for e, k in zip(entries, entry_keys(entries)) if k == key), None)


def undoable(entry: dict) -> bool:
    """Text replacements and coarsened timestamps can be put back; dropped objects cannot."""
    return entry.get("original") is not None and not entry["object"].endswith("(dropped)") and (
        bool(_REPLACED.match(entry["action"])) or entry["action"] == "coarsened")


def _restore(draft: dict, entries: list[dict], entry: dict) -> None:
    obj = next((o for o in draft["objects"] if o.get("id") == entry["object"]), None)
    if obj is None:
        return
    holder, key = _locate(obj, entry["path"])
    if holder is None:
        return
    if entry["action"] == "coarsened":
        holder[key] = entry["original"]
        return
    placeholder = _REPLACED.match(entry["action"]).group(1)
    # The n-th entry with this placeholder at this path replaced the n-th occurrence.
    same = [e for e in entries if e["object"] == entry["object"] and e["path"] == entry["path"]
            and e["action"] == entry["action"]]
    nth = [e for e in same if not e.get("undone")].index(entry)
    text = holder[key]
    if not isinstance(text, str):
        return
    pos = -1
    for _ in range(nth + 1):
        pos = text.find(placeholder, pos + 1)
        if pos < 0:
            return
    holder[key] = text[:pos] + entry["original"] + text[pos + len(placeholder):]


_STEP = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


def _locate(obj: dict, path: str):
    """(container, key) of a report path such as `description` or `extensions.x.name[2]`."""
    if not path or " " in path:
        return None, None
    steps = [(m.group(1), m.group(2)) for m in _STEP.finditer(path)]
    node = obj
    for i, (name, index) in enumerate(steps):
        key = name if name is not None else int(index)
        last = i == len(steps) - 1
        try:
            if last:
                node[key]  # noqa: B018 - existence check
                return node, key
            node = node[key]
        except (KeyError, IndexError, TypeError):
            return None, None
    return None, None


# -- actions -----------------------------------------------------------------------------------

def _editable(ctx, principal, submission_id) -> Submission:
    require_reviewer(principal)
    sub = visible_submission(ctx, principal, submission_id)
    if sub.status != "review":
        raise WrongState(f"the submission is {sub.status}; only drafts in review can be changed")
    return sub


def _recompute(ctx, principal, sub: Submission, edit: dict | None, *, tlp: str | None = None,
               audit: tuple[str, dict]) -> Submission:
    payload = open_payload(ctx, sub)
    if edit is not None:
        payload["edits"].append({**edit, "by": principal.key_id, "at": _now_us()})
    changed = sub if tlp is None else replace(sub, tlp=tlp)
    try:
        draft, private, holds = run_sanitiser(ctx, changed, payload)
    except LeakRefused as exc:
        where = ", ".join(sorted({f"{h.rule} at {h.where}" for h in exc.hits})[:5])
        raise Refused(f"refused by the leak gate ({where}); the draft is unchanged") from None
    except BadInput as exc:
        raise Invalid(str(exc)) from None
    extra = {"sealed": seal_payload(ctx, sub.id, payload)}
    if tlp is not None:
        extra["tlp"] = tlp
    try:
        updated = store_draft(ctx, sub, draft, private, holds, expect=("review",), status="review", **extra)
    except Conflict:  # another analyst approved or rejected it meanwhile
        raise WrongState("the submission changed meanwhile (approved or rejected by someone else); reload it") from None
    action, details = audit
    ctx.store.append_audit(principal.key_id, action, sub.id, details)
    return updated


def add_redaction(ctx, principal, submission_id: str, value: object, field: object) -> Submission:
    sub = _editable(ctx, principal, submission_id)
    if field not in ADD_FIELDS:
        raise Invalid(f"'field' must be one of {', '.join(ADD_FIELDS)}")
    if not isinstance(value, str) or not value.strip() or len(value) > MAX_VALUE:
        raise Invalid(f"'value' must be a non-empty string of at most {MAX_VALUE} characters")
    probe = {"organization_names": ["x"], field: [value.strip()]}
    if field == "organization_names":
        probe = {"organization_names": [value.strip()]}
    try:
        VictimProfile.from_dict(probe)  # a bad domain, range or address is refused
    except BadInput:
        raise Invalid(f"'value' is not a valid entry for {field}") from None
    return _recompute(ctx, principal, sub, {"op": "add", "field": field, "value": value.strip()},
                      audit=("add-redaction", {"rule": ADD_FIELDS[field], "field": field}))


def undo_redaction(ctx, principal, submission_id: str, entry_key: object, justification: object) -> Submission:
    sub = _editable(ctx, principal, submission_id)
    _require_justification(justification)
    private = open_private_report(ctx, sub) or {"entries": []}
    entry = _find_entry(private["entries"], entry_key)
    if entry is None:
        raise Invalid("no such redaction in this draft")
    if entry.get("undone"):
        raise WrongState("that redaction is already undone")
    if not undoable(entry):
        raise Invalid("this redaction removed an object or a pattern comparison and cannot be undone; "
                      "reject the submission and ask the CSIRT to resubmit instead")
    return _recompute(ctx, principal, sub, {"op": "undo", "entry": entry_key, "justification": justification.strip()},
                      audit=("undo-redaction", {"rule": entry["rule"], "justification_chars": len(justification)}))


def change_tlp(ctx, principal, submission_id: str, tlp: object) -> Submission:
    sub = _editable(ctx, principal, submission_id)
    if tlp not in TLP_LEVELS:
        raise Invalid(f"'tlp' must be one of {', '.join(TLP_LEVELS)}")
    return _recompute(ctx, principal, sub, None, tlp=tlp, audit=("change-tlp", {"from": sub.tlp, "to": tlp}))


def release_hold(ctx, principal, submission_id: str, obj: object, justification: object) -> Submission:
    sub = _editable(ctx, principal, submission_id)
    _require_justification(justification)
    report = orjson.loads(sub.report) if sub.report else {}
    held = {h["object"] for h in report.get("holds", []) if not h.get("released")}
    if obj not in held:
        raise Invalid("no open hold on that object")
    return _recompute(ctx, principal, sub, {"op": "release", "object": obj, "justification": justification.strip()},
                      audit=("release-hold", {"object": obj}))


def reject(ctx, principal, submission_id: str, reason: object) -> Submission:
    require_reviewer(principal)
    sub = visible_submission(ctx, principal, submission_id)
    if not isinstance(reason, str) or not reason.strip() or len(reason) > MAX_JUSTIFICATION:
        raise Invalid(f"a reason (1 to {MAX_JUSTIFICATION} characters) is required to reject")
    try:
        updated = ctx.store.update_submission(sub.id, expect_status=("review", "refused", "failed"),
                                              status="rejected", message=reason.strip(), decided=_now_us())
    except Conflict as exc:
        raise WrongState(str(exc)) from None
    ctx.store.append_audit(principal.key_id, "reject", sub.id, {"reason_chars": len(reason)})
    return updated


def _require_justification(text: object) -> None:
    if not isinstance(text, str) or len(text.strip()) < 10 or len(text) > MAX_JUSTIFICATION:
        raise Invalid(f"a written justification of 10 to {MAX_JUSTIFICATION} characters is required")

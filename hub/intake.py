"""Submission intake: validate, seal, sanitise (in the request or in the background worker),
store the draft and its redaction report. Registered victim profiles live here too.

The raw input, the victim profile and the analysts' edits are kept only in one sealed blob per
submission (`hub.crypto`, associated data "submission:<id>"); nothing from them reaches a log,
an error message or the draft except through the sanitiser and its leak gate.
"""
from __future__ import annotations

import logging
import secrets
import time
from datetime import datetime, timezone

import orjson

from sanitizer import BadInput, LeakRefused, Policy, VictimProfile, sanitize
from sanitizer.policy import TLP_LEVELS

from .errors import Forbidden, Invalid, Missing
from .store.base import Principal, StoredProfile, Submission

log = logging.getLogger(__name__)

INPUT_KINDS = ("bundle", "csv", "text")
FORMAT_OF = {"bundle": "stix", "csv": "csv", "text": "text"}
MAX_REF = 200


def _now_us() -> int:
    return time.time_ns() // 1000


def new_id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(10)}"


# -- sealed payloads ---------------------------------------------------------------------------

def seal_payload(ctx, submission_id: str, payload: dict) -> bytes:
    return ctx.sealer.seal(orjson.dumps(payload), f"submission:{submission_id}")


def open_payload(ctx, submission: Submission) -> dict:
    if submission.sealed is None:
        raise Missing("the raw submission was purged after the retention period")
    return orjson.loads(ctx.sealer.open(submission.sealed, f"submission:{submission.id}"))


def open_private_report(ctx, submission: Submission) -> dict | None:
    if submission.sealed_report is None:
        return None
    return orjson.loads(ctx.sealer.open(submission.sealed_report, f"report:{submission.id}"))


# -- who may submit ----------------------------------------------------------------------------

def require_submitter(store, principal: Principal | None) -> None:
    if principal is None:
        raise Forbidden("a submitter key is required")
    if principal.role != "submitter" or principal.org_type != "csirt":
        raise Forbidden("only a CSIRT's submitter key may submit")


# -- registered profiles -----------------------------------------------------------------------

def register_profile(ctx, principal: Principal, name: object, profile: object, default: object = False,
                     victim_ref: object = None) -> StoredProfile:
    """Register a victim profile for reuse; `victim_ref` (the CSIRT's case reference for that
    victim) is then the default reference of submissions that use it, TAXII inbox pushes included."""
    require_submitter(ctx.store, principal)
    if victim_ref is not None and (not isinstance(victim_ref, str) or not victim_ref.strip() or len(victim_ref) > MAX_REF):
        raise Invalid(f"victim_ref must be a non-empty string of at most {MAX_REF} characters")
    if not isinstance(name, str) or not name.strip() or len(name) > 200:
        raise Invalid("name must be a non-empty string of at most 200 characters")
    if not isinstance(default, bool):
        raise Invalid("default must be true or false")
    VictimProfile.from_dict(profile)  # BadInput names the field, never the value
    pid = new_id("prof")
    record = {"profile": profile, "victim_ref": victim_ref.strip() if victim_ref else None}
    sealed = ctx.sealer.seal(orjson.dumps(record), f"profile:{pid}")
    stored = ctx.store.add_profile(StoredProfile(pid, principal.org, name.strip(), default, sealed, _now_us()))
    ctx.store.append_audit(principal.key_id, "profile-add", pid, {"org": principal.org, "default": default})
    return stored


def open_profile(ctx, stored: StoredProfile) -> dict:
    """The registered profile document."""
    return open_profile_record(ctx, stored)["profile"]


def open_profile_record(ctx, stored: StoredProfile) -> dict:
    """{"profile": ..., "victim_ref": ...} as registered."""
    return orjson.loads(ctx.sealer.open(stored.sealed, f"profile:{stored.id}"))


def profile_view(p: StoredProfile) -> dict:
    return {"id": p.id, "name": p.name, "default": p.is_default,
            "created": datetime.fromtimestamp(p.created / 1e6, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")}


# orjson re-serialises (sealing, storing) at most 254 levels; no STIX bundle needs a fraction of that.
MAX_DEPTH = 100


def check_tree(body: object) -> None:
    """No NUL in any text (PostgreSQL refuses it) and no nesting beyond MAX_DEPTH; iterative,
    so a hostile body cannot exhaust the stack."""
    stack = [(body, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, str):
            if "\x00" in value:
                raise Invalid("text must not contain NUL characters")
            continue
        if not isinstance(value, (dict, list)):
            continue
        if depth > MAX_DEPTH:
            raise Invalid(f"the request body is nested more than {MAX_DEPTH} levels deep")
        if isinstance(value, dict):
            if any("\x00" in k for k in value):
                raise Invalid("text must not contain NUL characters")
            value = value.values()
        stack.extend((v, depth + 1) for v in value)


# -- submitting --------------------------------------------------------------------------------

def _validated_request(ctx, principal: Principal, body: object) -> tuple[dict, dict, str, str | None, bool]:
    if not isinstance(body, dict):
        raise Invalid("the request body must be a JSON object")
    unknown = sorted(set(body) - {*INPUT_KINDS, "victim_profile", "profile_id", "tlp", "victim_ref", "attribution"})
    if unknown:
        raise Invalid(f"unknown field {unknown[0]!r}")
    kinds = [k for k in INPUT_KINDS if k in body]
    if len(kinds) != 1:
        raise Invalid("give exactly one of 'bundle', 'csv' or 'text'")
    kind = kinds[0]
    data = body[kind]
    if kind == "bundle" and not isinstance(data, dict):
        raise Invalid("'bundle' must be a STIX 2.1 bundle object")
    if kind != "bundle" and not isinstance(data, str):
        raise Invalid(f"'{kind}' must be a string")
    if ("victim_profile" in body) == ("profile_id" in body):
        raise Invalid("give exactly one of 'victim_profile' or 'profile_id'")
    if "profile_id" in body:
        if not isinstance(body["profile_id"], str):
            raise Invalid("'profile_id' must be a string")
        stored = ctx.store.get_profile(principal.org, body["profile_id"])
        if stored is None:
            raise Missing("no such profile for this organisation")
        record = open_profile_record(ctx, stored)
        profile, default_ref = record["profile"], record.get("victim_ref")
    else:
        profile, default_ref = body["victim_profile"], None
    VictimProfile.from_dict(profile)
    tlp = body.get("tlp", "amber")
    if tlp not in TLP_LEVELS:
        raise Invalid(f"'tlp' must be one of {', '.join(TLP_LEVELS)} (TLP:RED is never shared)")
    victim_ref = body.get("victim_ref", default_ref)
    if victim_ref is not None and (not isinstance(victim_ref, str) or not victim_ref.strip() or len(victim_ref) > MAX_REF):
        raise Invalid(f"'victim_ref' must be a non-empty string of at most {MAX_REF} characters")
    attribution = body.get("attribution", False)
    if not isinstance(attribution, bool):
        raise Invalid("'attribution' must be true or false")
    return {"format": FORMAT_OF[kind], "data": data}, profile, tlp, victim_ref, attribution


def submit(ctx, principal: Principal, body: object, *, source: str = "api", raw_size: int | None = None,
           status_id: str | None = None) -> Submission:
    """Accept a submission: seal it, then sanitise now (small) or queue it (large)."""
    require_submitter(ctx.store, principal)
    check_tree(body)  # also for TAXII inbox pushes, whose JSON parser allows deeper nesting
    source_input, profile, tlp, victim_ref, attribution = _validated_request(ctx, principal, body)
    size = raw_size if raw_size is not None else len(orjson.dumps(source_input["data"]))
    mode = "inline" if size <= ctx.inline_limit else "background"
    sid = new_id("sub")
    objects = source_input["data"].get("objects") if source_input["format"] == "stix" else None
    now = _now_us()
    payload = {"input": source_input, "profile": profile, "edits": [], "received": now}
    sub = Submission(
        id=sid, org=principal.org, key_id=principal.key_id, source=source, input_format=source_input["format"],
        tlp=tlp, victim_ref=victim_ref.strip() if victim_ref else None, attribution=attribution,
        status="queued", mode=mode, needs_review=True,
        object_count=len(objects) if isinstance(objects, list) else 0, created=now, updated=now,
        sealed=seal_payload(ctx, sid, payload), status_id=status_id)
    ctx.store.add_submission(sub)
    ctx.store.append_audit(principal.key_id, "submit", sid, {"org": principal.org, "source": source,
                                                             "format": sub.input_format, "mode": mode, "tlp": tlp})
    log.info("submission %s accepted (%s, %s)", sid, sub.input_format, mode)
    if mode == "inline":
        claimed = ctx.store.update_submission(sid, expect_status=("queued",), status="processing")
        return process(ctx, claimed)
    return sub


# -- the pipeline ------------------------------------------------------------------------------

def sector_counts(store) -> dict[str, int]:
    """DI-16: how many member organisations share each sector."""
    counts: dict[str, int] = {}
    for org in store.list_orgs():
        if org.sector and org.type != "operator":
            counts[org.sector] = counts.get(org.sector, 0) + 1
    return counts


def input_bundle(payload: dict, received_us: int) -> dict:
    """The submission as a STIX bundle (CSV and text are converted as of their arrival)."""
    source = payload["input"]
    if source["format"] == "stix":
        return source["data"]
    from sanitizer.formats import csv_to_bundle, text_to_bundle

    now = datetime.fromtimestamp(received_us / 1e6, timezone.utc).replace(microsecond=0)
    convert = csv_to_bundle if source["format"] == "csv" else text_to_bundle
    return convert(source["data"], now=now)


def effective_profile(payload: dict) -> dict:
    """The submitted profile plus every value an analyst added as a redaction."""
    profile = {k: (list(v) if isinstance(v, list) else v) for k, v in payload["profile"].items()}
    for edit in payload.get("edits", []):
        if edit.get("op") == "add":
            profile.setdefault(edit["field"], [])
            if edit["value"] not in profile[edit["field"]]:
                profile[edit["field"]].append(edit["value"])
    return profile


def run_sanitiser(ctx, submission: Submission, payload: dict):
    """Sanitise the sealed input with the effective profile and the submission's settings."""
    from .review import apply_edits  # analysts' undo and release edits

    profile = VictimProfile.from_dict(effective_profile(payload))
    policy = Policy(tlp=submission.tlp, attribution=submission.attribution,
                    sector_member_counts=sector_counts(ctx.store), hub_name=ctx.hub_name, ner=ctx.ner)
    bundle = input_bundle(payload, payload.get("received", submission.created))
    result = sanitize(bundle, profile, policy, secret=ctx.id_secret)
    return apply_edits(ctx, result, bundle, profile, payload.get("edits", []))


def process(ctx, submission: Submission) -> Submission:
    """Sanitise a claimed submission and store the outcome (review, failed or refused)."""
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
    sub = store_draft(ctx, submission, draft, private, holds, expect=("processing",), status="review")
    from .publication import maybe_auto_publish

    return maybe_auto_publish(ctx, sub)


def store_draft(ctx, submission: Submission, draft: dict, private: dict, holds: list, *,
                expect: tuple[str, ...], status: str, **extra) -> Submission:
    public = dict(private)
    public["entries"] = [{k: v for k, v in e.items() if k not in ("original", "original_id")}
                         for e in private["entries"]]
    public["holds"] = [{k: v for k, v in h.items() if k != "original"} for h in private["holds"]]
    return ctx.store.update_submission(
        submission.id, expect_status=expect, status=status,
        draft=orjson.dumps(draft, option=orjson.OPT_SORT_KEYS).decode(),
        report=orjson.dumps(public).decode(),
        sealed_report=ctx.sealer.seal(orjson.dumps(private), f"report:{submission.id}"),
        needs_review=bool(holds), message=None, **extra)


def _finish(ctx, submission: Submission, status: str, *, message: str, report: str | None = None) -> Submission:
    sub = ctx.store.update_submission(submission.id, expect_status=("processing",), status=status,
                                      message=message, report=report, decided=_now_us())
    ctx.store.append_audit("hub", status, submission.id, {"org": submission.org})
    return sub


def visible_submission(ctx, principal: Principal | None, submission_id: str) -> Submission:
    """A submission the caller may see: its own organisation's, or any for the hub's analysts."""
    if principal is None:
        raise Forbidden("a key is required")
    sub = ctx.store.get_submission(submission_id) if isinstance(submission_id, str) else None
    if sub is None or not (is_reviewer(principal) or (principal.role == "submitter" and principal.org == sub.org)):
        raise Missing("no such submission")  # another CSIRT's submission is not even confirmed to exist
    return sub


def is_reviewer(principal: Principal | None) -> bool:
    """The hub's analysts and administrators (operator organisation) review submissions."""
    return principal is not None and principal.org_type == "operator" and principal.role in ("analyst", "admin")


def submission_view(ctx, sub: Submission) -> dict:
    """The JSON form of a submission for the API (the public report; never sealed data)."""
    from .agreements import publication_gate

    view = {
        "id": sub.id, "org": sub.org, "status": sub.status, "mode": sub.mode, "source": sub.source,
        "input_format": sub.input_format, "tlp": sub.tlp, "victim_ref": sub.victim_ref,
        "attribution": sub.attribution, "needs_review": sub.needs_review, "object_count": sub.object_count,
        "created": _iso(sub.created), "updated": _iso(sub.updated), "decided": _iso(sub.decided),
        "message": sub.message, "publication_id": sub.publication_id,
        "report": orjson.loads(sub.report) if sub.report else None,
        "purged": sub.purged is not None,
    }
    gate = publication_gate(ctx.store, sub.org, sub.victim_ref, ctx.today())
    view["agreement"] = {"status": gate.status, "allowed": gate.allowed, "message": gate.message}
    return view


def _iso(micros: int | None) -> str | None:
    if micros is None:
        return None
    return datetime.fromtimestamp(micros / 1e6, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")

"""The sanitise step shared by intake and review: the draft is always sanitise(raw input,
profile + analysts' added values) followed by their undo and release edits."""
from __future__ import annotations

from datetime import datetime, timezone

import orjson

from sanitizer import Policy, VictimProfile, report, sanitize
from sanitizer.formats import csv_to_bundle, text_to_bundle

from ..context import HubContext
from ..store.base import Store, Submission
from .corrholds import annotate
from .redactions import apply_edits
from .sealed import seal_private_report


def sector_counts(store: Store) -> dict[str, int]:
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


def run_sanitiser(ctx: HubContext, submission: Submission, payload: dict):
    """(draft, private report, open holds): sanitise the sealed input with the effective profile
    and the submission's settings, then apply the analysts' undo and release edits."""
    profile = VictimProfile.from_dict(effective_profile(payload))
    policy = Policy(tlp=submission.tlp, attribution=submission.attribution,
                    sector_member_counts=sector_counts(ctx.store), hub_name=ctx.hub_name, ner=ctx.ner)
    bundle = input_bundle(payload, payload.get("received", submission.created))
    result = sanitize(bundle, profile, policy, secret=ctx.id_secret)
    draft, private, holds = apply_edits(result, bundle, profile, payload.get("edits", []))
    return draft, private, annotate(ctx, draft, private, holds)


def draft_columns(ctx: HubContext, submission_id: str, draft: dict, private: dict, holds: list) -> dict:
    """The submission columns of a new draft: the bundle and public report in clear (they hold
    no victim data), the private report sealed."""
    public = report.public_form(private)
    # The reporter count stays private: a submitter must not learn who else reported a value.
    public["holds"] = [{k: v for k, v in h.items() if k != "reported_by"} for h in public["holds"]]
    return {"draft": orjson.dumps(draft, option=orjson.OPT_SORT_KEYS).decode(),
            "report": orjson.dumps(public).decode(),
            "sealed_report": seal_private_report(ctx, submission_id, private),
            "needs_review": bool(holds), "message": None}

"""The sealed blobs of a submission and of a registered profile (AES-256-GCM, `hub.crypto`):
each opens only under its own associated data, so a blob moved to another row does not open."""
from __future__ import annotations

import orjson

from ..context import HubContext
from ..errors import Missing
from ..store.base import StoredProfile, Submission


def seal_payload(ctx: HubContext, submission_id: str, payload: dict) -> bytes:
    """The raw input, the victim profile and the analysts' edits, sealed."""
    return ctx.sealer.seal(orjson.dumps(payload), f"submission:{submission_id}")


def open_payload(ctx: HubContext, submission: Submission) -> dict:
    """The sealed payload (Missing once purged)."""
    if submission.sealed is None:
        raise Missing("the raw submission was purged after the retention period")
    return orjson.loads(ctx.sealer.open(submission.sealed, f"submission:{submission.id}"))


def seal_private_report(ctx: HubContext, submission_id: str, report: dict) -> bytes:
    """The private report (original values), sealed."""
    return ctx.sealer.seal(orjson.dumps(report), f"report:{submission_id}")


def open_private_report(ctx: HubContext, submission: Submission) -> dict | None:
    """The private report, or None when there is none (or it was purged)."""
    if submission.sealed_report is None:
        return None
    return orjson.loads(ctx.sealer.open(submission.sealed_report, f"report:{submission.id}"))


# What `message` holds, in clear, for a rejected submission: the reason itself is sealed.
REJECTED_NOTE = "rejected by an analyst (the reason is sealed) / 分析者が却下しました（理由は暗号化して保存）"


def seal_reason(ctx: HubContext, submission_id: str, reason: str) -> bytes:
    """An analyst's rejection reason (free text that may quote the input), sealed."""
    return ctx.sealer.seal(reason.encode(), f"reason:{submission_id}")


def shown_message(ctx: HubContext, submission: Submission) -> str | None:
    """What the submission's viewers read as its message: the rejection reason, opened, else the
    hub's own note."""
    if submission.sealed_reason is None:
        return submission.message
    return ctx.sealer.open(submission.sealed_reason, f"reason:{submission.id}").decode()


def seal_profile(ctx: HubContext, profile_id: str, record: dict) -> bytes:
    """A registered profile record {"profile", "victim_ref"}, sealed."""
    return ctx.sealer.seal(orjson.dumps(record), f"profile:{profile_id}")


def open_profile_record(ctx: HubContext, stored: StoredProfile) -> dict:
    """{"profile": ..., "victim_ref": ...} as registered."""
    return orjson.loads(ctx.sealer.open(stored.sealed, f"profile:{stored.id}"))

"""TAXII push: objects POSTed to a CSIRT's write-only inbox collection become a submission,
sanitised with that CSIRT's default registered profile (and its victim reference).

The TAXII status resource follows the submission: `pending` while it waits for the sanitiser,
then `complete` with every object counted as a success (a draft for review exists) or as a
failure (bad input, or refused by the leak gate). Messages never carry a submitted value.
"""
from __future__ import annotations

import uuid
from datetime import datetime, timezone

from medallion.exceptions import ProcessingError

from sanitizer.stixmeta import TLP_LEVEL_OF_ID, TLP_ORDER

from .context import HubContext
from .domain import format_time
from .errors import HubError
from .services import sightings, submissions
from .store.base import Principal

DONE = {"review": "accepted for analyst review", "published": "accepted and published",
        "rejected": "accepted, then rejected by an analyst"}


def _tlp_of(objects: list) -> str:
    """The strictest TLP 2.0 marking on the pushed objects; AMBER when there is none."""
    found = [TLP_LEVEL_OF_ID[ref] for o in objects if isinstance(o, dict)
             for ref in (o.get("object_marking_refs") or []) if isinstance(ref, str) and ref in TLP_LEVEL_OF_ID]
    if "red" in found:
        raise ProcessingError("TLP:RED information is never shared through the hub", 422)
    found = [t for t in found if t in TLP_ORDER]
    return max(found, key=TLP_ORDER.index) if found else "amber"


class SubmissionInbox:
    """The `taxii_server.ports.Inbox` the TAXII backend hands pushes to: they become
    submissions (services)."""

    def __init__(self, ctx: HubContext):
        self.ctx = ctx

    def push(self, principal: Principal, objects: list, request_time: datetime | None) -> dict:
        """Submit the pushed objects with the CSIRT's default profile; the TAXII status to answer."""
        return push(self.ctx, principal, objects, request_time)

    def refresh(self, status: dict) -> dict:
        """The stored status as of now."""
        return refresh(self.ctx, status)


def _confirmed_indicators(objects: list) -> list[str] | None:
    """The indicators a push of nothing but `sighting`s confirms (issue 15), else None."""
    refs = [o.get("sighting_of_ref") for o in objects if isinstance(o, dict) and o.get("type") == "sighting"]
    if not objects or len(refs) != len(objects) or not all(isinstance(r, str) for r in refs):
        return None
    return refs


def _confirm(ctx: HubContext, principal: Principal, objects: list, indicators: list[str],
             request_time: datetime | None) -> dict:
    """Each pushed sighting confirms its indicator for the member's organisation, at once."""
    successes, failures = [], []
    for n, (obj, indicator) in enumerate(zip(objects, indicators)):
        oid = f"objects[{n}]"  # a position, never the pushed id: the status row is stored in clear
        try:
            sightings.confirm(ctx, principal=principal, indicator=indicator)
            successes.append({"id": oid, "message": "confirmed: counted in the hub's sighting of the indicator"})
        except HubError as exc:
            failures.append({"id": oid, "message": str(exc)})
    status = {"id": str(uuid.uuid4()), "status": "complete",
              "request_timestamp": format_time(request_time or datetime.now(timezone.utc)),
              "total_count": len(objects), "success_count": len(successes), "successes": successes,
              "failure_count": len(failures), "failures": failures, "pending_count": 0, "pendings": [],
              "_org": principal.org, "_submission": None}
    ctx.store.save_status(status)
    return {k: v for k, v in status.items() if not k.startswith("_")}


def push(ctx: HubContext, principal: Principal, objects: list, request_time: datetime | None) -> dict:
    """Submit the pushed objects with the CSIRT's default profile; the TAXII status to answer.
    A push of sightings only confirms published indicators instead (no submission)."""
    indicators = _confirmed_indicators(objects)
    if indicators is not None:
        return _confirm(ctx, principal, objects, indicators, request_time)
    stored = ctx.store.default_profile(principal.org)
    if stored is None:
        raise ProcessingError("register a default victim profile first (POST /api/v1/profiles with "
                              "\"default\": true); the inbox sanitises with it", 422)
    status_id = str(uuid.uuid4())
    tlp = _tlp_of(objects)
    body = {"bundle": {"type": "bundle", "id": f"bundle--{uuid.uuid4()}", "objects": objects},
            "profile_id": stored.id, "tlp": tlp}
    try:
        sub = submissions.submit(ctx, principal=principal, body=body, source="taxii", status_id=status_id)
    except HubError as exc:
        raise ProcessingError(str(exc), exc.status) from None
    # Positions, never the pushed ids: a status row is stored in clear and an id is input (a
    # victim's name fits in one); the published objects get new ids from the sanitiser anyway.
    ids = [f"objects[{n}]" for n in range(len(objects))]
    requested = format_time(request_time or datetime.now(timezone.utc))
    status = {"id": status_id, "status": "pending", "request_timestamp": requested,
              "total_count": len(objects), "success_count": 0, "successes": [], "failure_count": 0,
              "failures": [], "pending_count": len(objects), "pendings": [{"id": i} for i in ids],
              "_org": principal.org, "_submission": sub.id}
    ctx.store.save_status(status)
    return {k: v for k, v in refresh(ctx, status).items() if not k.startswith("_")}


def refresh(ctx: HubContext, status: dict) -> dict:
    """The status resource as of now, from the submission it became."""
    if status.get("_submission") is None:  # a confirmation: complete when answered
        return status
    sub = ctx.store.get_submission(status["_submission"])
    if sub is None or sub.status in ("queued", "processing"):
        return status
    ids = [p["id"] for p in status["pendings"]]  # the stored status keeps its pending list
    out = {**status, "status": "complete", "pending_count": 0, "pendings": []}
    if sub.status in DONE:
        message = f"{DONE[sub.status]} as submission {sub.id}"
        out.update(success_count=len(ids), successes=[{"id": i, "message": message} for i in ids],
                   failure_count=0, failures=[])
    else:  # failed or refused
        message = f"submission {sub.id} {sub.status}: {sub.message or ''}".strip()
        out.update(success_count=0, successes=[], failure_count=len(ids),
                   failures=[{"id": i, "message": message} for i in ids])
    return out

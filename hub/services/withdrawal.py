"""Withdrawal instead of deletion (issue 12): the operator's administrators take an object back
from a TLP collection (`hub withdraw`, TAXII DELETE). Nothing is silently removed: a withdrawn
SDO/SRO is re-published as a new version with `revoked: true`, so pollers learn it; an SCO (no
versions) is removed. Either way one Ed25519-signed withdrawal manifest and one chained audit
entry are written in the same unit of work, and `hub verify` accounts for the withdrawal.
"""
from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

import orjson

from ..context import HubContext
from ..domain import TIMESTAMP_FORMAT, new_id, normalise_timestamp, now_timestamp, parse_timestamp
from ..errors import Invalid, Missing, WrongState
from ..manifest import WITHDRAWAL, object_digest
from ..store.base import Collection, ObjectFilter, Principal
from . import audit, permissions
from .accounts import collection_of

STIX_ID = re.compile(r"^[a-z0-9][a-z0-9-]*--[0-9a-fA-F-]{36}$")
MAX_REASON = 500


def withdraw(ctx: HubContext, *, principal: Principal | None, collection: str | Collection, object_id: object,
             reason: object) -> dict:
    """Withdraw the object `object_id` from a TLP collection; what was done, and the publication."""
    permissions.require_admin(principal)
    coll = collection if isinstance(collection, Collection) else collection_of(ctx.store, collection)
    if coll.tlp is None:
        raise Invalid("only objects of a TLP collection are withdrawn")
    if not isinstance(object_id, str) or not STIX_ID.match(object_id):
        raise Invalid("OBJECT_ID must be a STIX identifier")
    if not isinstance(reason, str) or not reason.strip() or len(reason) > MAX_REASON:
        raise Invalid(f"--reason must say why, in 1 to {MAX_REASON} characters")
    page = ctx.store.get_objects(coll.id, ObjectFilter(ids=(object_id,), versions=("last",)), 1)
    if not page.items:
        raise Missing("no such object in that collection")
    latest = orjson.loads(page.items[0])
    if latest.get("revoked") is True:
        raise WrongState("the object is already withdrawn")
    pub_id, created = new_id("pub"), now_timestamp()
    if "modified" in latest:  # an SDO or SRO: a new, revoked version
        revoked = {**latest, "revoked": True, "modified": _later(latest["modified"])}
        listed = [{"id": object_id, "version": revoked["modified"], "sha256": object_digest(revoked)}]
        withdrawn = [{"id": object_id, "kind": "revoked", "version": revoked["modified"]}]
    else:  # an SCO: removed
        revoked, listed = None, []
        withdrawn = [{"id": object_id, "kind": "removed", "sha256": object_digest(latest)}]
    manifest = {"type": WITHDRAWAL, "id": pub_id, "collection": coll.id, "collection_title": coll.title,
                "tlp": coll.tlp, "created": created, "reason": reason.strip(), "objects": listed,
                "withdrawn": withdrawn}
    with ctx.store.transaction():
        publication = audit.signed_publication(ctx, manifest, submission_id="")
        if revoked is not None:
            result = ctx.store.add_objects(coll.id, [revoked])
            if result.failures:
                raise Invalid(f"the revoked version could not be stored: {result.failures[0][1]}")
        else:
            ctx.store.delete_object(coll.id, object_id, ObjectFilter(versions=("all",)))
        ctx.store.add_publication(publication)
        audit.record(ctx.store, principal, "withdraw", object_id,
                     {"collection": coll.id, "publication": pub_id, "kind": withdrawn[0]["kind"],
                      "reason": reason.strip()})
    return {"withdrawn": object_id, "collection": coll.id, "kind": withdrawn[0]["kind"], "publication": pub_id}


def _later(modified: str) -> str:
    """A `modified` after the current one, at day granularity where possible (DI-09): today
    00:00:00.000Z, or a millisecond after the current version."""
    today = datetime.now(timezone.utc).strftime("%Y-%m-%dT00:00:00.000000Z")
    bumped = (parse_timestamp(normalise_timestamp(modified) or today) + timedelta(milliseconds=1)
              ).strftime(TIMESTAMP_FORMAT)
    return max(today, bumped)[:23] + "Z"


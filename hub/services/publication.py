"""Publication: an approved draft becomes objects in the collection of its TLP level, in one unit
of work with its signed manifest and its audit entry; auto-publish; reading publications.

Before anything is written: the NDA gate (an active agreement of the CSIRT covers the victim
reference), no open hold, and the leak gate once more over exactly what will be published. The
manifest lists every object's id, version and SHA-256 (of its canonical JSON); the hub's Ed25519
key signs the manifest's canonical bytes, so a peer can check what it received (`hub verify`).
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import orjson

from sanitizer import VictimProfile, recheck
from sanitizer.rules import di18_leak_gate

from ..context import HubContext
from ..domain import (COLLECTION_OF_TLP, TIMESTAMP_FORMAT, new_id, normalise_timestamp, now_timestamp,
                      parse_timestamp)
from ..errors import Invalid, Missing, Refused, WrongState
from ..manifest import canonical, object_digest
from ..store.base import Collection, Conflict, ObjectFilter, Principal, Publication, Store, Submission
from . import audit, corrpublish, permissions, stix_strict
from .agreements import publication_gate
from .bulk_publish import present_in
from .permissions import HUB
from .pipeline import effective_profile, input_bundle
from .sealed import open_payload


def approve(ctx: HubContext, *, principal: Principal | None, submission_id: object) -> Submission:
    """An analyst approves a draft: publish it if every gate passes (Refused otherwise, draft kept)."""
    permissions.require_reviewer(principal)
    sub = permissions.visible_submission(ctx, principal=principal, submission_id=submission_id)
    if sub.status != "review":
        raise WrongState(f"the submission is {sub.status}; only drafts in review can be approved")
    if sub.needs_review:
        raise Refused("release or resolve every hold (DI-04/DI-17) before approving")
    return _publish(ctx, sub, actor=principal, action="approve-publish")


def maybe_auto_publish(ctx: HubContext, *, submission: Submission) -> Submission:
    """Publish without review when the CSIRT chose auto-publish and nothing needs an analyst."""
    org = ctx.store.get_org(submission.org)
    if submission.status != "review" or submission.needs_review or org is None or not org.auto_publish:
        return submission
    try:
        return _publish(ctx, submission, actor=HUB, action="auto-publish")
    except Refused as exc:  # e.g. no agreement: the draft waits for an analyst
        return ctx.store.update_submission(submission.id, expect_status=("review",),
                                           message=f"not auto-published: {exc}")


def set_auto_publish(ctx: HubContext, *, principal: Principal | None, org: object, enabled: object) -> dict:
    """An administrator lets a CSIRT's clean, agreement-covered submissions publish without review."""
    permissions.require_admin(principal)
    if not isinstance(enabled, bool):
        raise Invalid("'enabled' must be true or false")
    found = ctx.store.get_org(org) if isinstance(org, str) else None
    if found is None:
        raise Missing("no such organisation")
    if found.type != "csirt":
        raise Invalid("auto-publish applies to CSIRTs only")
    with ctx.store.transaction():
        ctx.store.set_auto_publish(found.name, enabled)
        audit.record(ctx.store, principal, "auto-publish", found.name, {"enabled": enabled})
    return {"org": found.name, "auto_publish": enabled}


def collection_for(store: Store, tlp: str) -> Collection:
    """The collection that publishes a TLP level (found by its `tlp`, not by its title)."""
    found = next((c for c in store.list_collections() if c.tlp == tlp and c.inbox_of is None), None)
    if found is None:
        raise Refused(f"the hub has no {COLLECTION_OF_TLP.get(tlp, tlp)} collection")
    return found


def _publish(ctx: HubContext, sub: Submission, *, actor: Principal, action: str) -> Submission:
    gate = publication_gate(ctx.store, sub.org, sub.victim_ref, ctx.today())
    if not gate.allowed:
        raise Refused(f"publication refused: {gate.message} (agreement status: {gate.status}); the draft is kept")
    collection = collection_for(ctx.store, sub.tlp)
    draft = orjson.loads(sub.draft)
    # One indicator per normalised value set and collection, with the hub's sighting (issue 15).
    objects = [versioned(ctx.store, collection.id, o)
               for o in corrpublish.merge(ctx, collection.id, draft["objects"])]
    # The leak gate once more, over exactly what leaves the hub.
    payload = open_payload(ctx, sub)
    final = {"type": "bundle", "id": draft["id"], "objects": objects}
    hits = recheck(final, input_bundle(payload, payload.get("received", sub.created)),
                   VictimProfile.from_dict(effective_profile(payload))) + di18_leak_gate.scan_generic(objects)
    if hits:
        raise Refused(f"refused by the leak gate ({hits[0].rule} at {hits[0].where}); nothing was published")
    failures = stix_strict.check(objects, present_in(ctx.store, collection.id))
    if failures:  # fix the draft (e.g. drop the object: review.drop_object) and approve again
        raise Refused(stix_strict.refusal(failures) + "\nthe draft is kept")
    try:
        with ctx.store.transaction():
            publication = signed_publication(ctx, sub.id, collection, sub.tlp, objects)
            ctx.store.publish_submission(sub.id, collection.id, objects, publication)
            audit.record(ctx.store, actor, action, sub.id, {"publication": publication.id,
                                                            "collection": collection.title, "objects": len(objects)})
    except Conflict as exc:
        raise WrongState(str(exc)) from None
    return ctx.store.get_submission(sub.id)


def signed_publication(ctx: HubContext, subject: str, collection: Collection, tlp: str,
                       objects: list[dict]) -> Publication:
    """The manifest of what goes out (ids, versions, SHA-256 of each object) with the audit head,
    signed by the hub: call it inside the unit of work that writes the objects and their audit
    entry, so the head cannot move meanwhile."""
    pub_id = new_id("pub")
    created = now_timestamp()
    manifest = {
        "type": "hub-publication", "id": pub_id, "submission": subject, "collection": collection.id,
        "collection_title": collection.title, "tlp": tlp, "created": created,
        "objects": [{"id": o["id"], "version": o.get("modified") or o.get("created"), "sha256": object_digest(o)}
                    for o in objects],
    }
    return audit.signed_publication(ctx, manifest, submission_id=subject)


def versioned(store: Store, collection_id: str, obj: dict) -> dict:
    """A versioned object whose id is already published with other content gets a newer
    `modified`, so a later submission of the same thing becomes a new version rather than a
    duplicate; the very same content is left to be a duplicate. Times stay at day granularity
    (DI-09): the first version of a day is 00:00:00.000Z, later ones add a millisecond."""
    if "modified" not in obj:
        return obj
    page = store.get_objects(collection_id, ObjectFilter(ids=(obj["id"],), versions=("all",)), 10_000)
    stored = [orjson.loads(body) for body in page.items]
    if not stored:
        return obj
    # Content already published (perhaps under a re-versioned `modified`): that stored version
    # is what this publication lists, and the store keeps it as a duplicate.
    same = [s for s in stored if _without_modified(s) == _without_modified(obj)]
    if same:
        return same[-1]
    latest = max(normalise_timestamp(s.get("modified") or s.get("created")) or "" for s in stored)
    mine = normalise_timestamp(obj["modified"]) or ""
    if mine > latest:
        return obj
    today = datetime.now(timezone.utc).strftime("%Y-%m-%dT00:00:00.000000Z")
    bumped = (parse_timestamp(latest) + timedelta(milliseconds=1)).strftime(TIMESTAMP_FORMAT)
    candidate = max(today, bumped)
    return {**obj, "modified": candidate[:23] + "Z"}


def _without_modified(obj: dict) -> bytes:
    return canonical({k: v for k, v in obj.items() if k != "modified"})


# -- reading -----------------------------------------------------------------------------------

def strict_failures(ctx: HubContext, *, principal: Principal | None, sub: Submission) -> list[tuple[str, str]]:
    """(object id, failure) for every object of a draft in review that is not strict STIX 2.1
    (what approval would refuse); the analyst drops or fixes them (review.drop_object)."""
    permissions.require_reviewer(principal)
    if sub.status != "review" or not sub.draft:
        return []
    objects = orjson.loads(sub.draft).get("objects", [])
    coll = next((c for c in ctx.store.list_collections() if c.tlp == sub.tlp and c.inbox_of is None), None)
    present = present_in(ctx.store, coll.id) if coll is not None else (lambda ids: set())
    out = []
    for line in stix_strict.check(objects, present):
        n = int(line.split("#", 1)[1].split(" ", 1)[0].rstrip(":"))
        obj = objects[n - 1] if 0 < n <= len(objects) else {}
        out.append((obj.get("id", "") if isinstance(obj, dict) else "", line))
    return out


def readable(ctx: HubContext, *, principal: Principal | None, publication_id: object) -> Publication:
    """A publication the caller may read: analysts any, others those of collections they read."""
    permissions.require_key(principal)
    pub = ctx.store.get_publication(publication_id) if isinstance(publication_id, str) else None
    if pub is not None and not permissions.is_reviewer(principal):
        coll = ctx.store.find_collection(pub.collection_id)
        if coll is None or not ctx.store.access(principal, coll).can_read:
            pub = None  # not even confirmed to exist
    if pub is None:
        raise Missing("no such publication")
    return pub

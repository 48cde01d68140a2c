"""Publication: an approved draft becomes objects in its TLP collection, in one transaction with
its signed manifest and its audit entry.

Before anything is written: the NDA gate (an active agreement of the CSIRT covers the victim
reference), no open hold, and the leak gate once more over exactly what will be published. The
manifest lists every object's id, version and SHA-256 (of its canonical JSON); the hub's Ed25519
key signs the manifest's canonical bytes, so a peer can check what it received (`hub verify`).
"""
from __future__ import annotations

import hashlib
import json
from datetime import datetime, timedelta, timezone

import orjson

from sanitizer import VictimProfile, recheck
from sanitizer.rules import di18_leak_gate

from .agreements import publication_gate
from .crypto import verify_signature
from .errors import Refused, WrongState
from .intake import effective_profile, input_bundle, new_id, open_payload, visible_submission
from .review import require_reviewer
from .store.base import GENESIS_HASH, Conflict, ObjectFilter, Publication, Submission, audit_hash

COLLECTION_OF_TLP = {"clear": "TLP:CLEAR", "green": "TLP:GREEN", "amber": "TLP:AMBER",
                     "amber+strict": "TLP:AMBER+STRICT"}


def canonical(obj) -> bytes:
    """The bytes that are hashed and signed: sorted keys, no white space, UTF-8."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def object_digest(obj: dict) -> str:
    return hashlib.sha256(canonical(obj)).hexdigest()


def approve(ctx, principal, submission_id: str) -> Submission:
    """An analyst approves a draft: publish it if every gate passes (Refused otherwise, draft kept)."""
    require_reviewer(principal)
    sub = visible_submission(ctx, principal, submission_id)
    if sub.status != "review":
        raise WrongState(f"the submission is {sub.status}; only drafts in review can be approved")
    if sub.needs_review:
        raise Refused("release or resolve every hold (DI-04/DI-17) before approving")
    return publish(ctx, sub, actor=principal.key_id, action="approve-publish")


def maybe_auto_publish(ctx, sub: Submission) -> Submission:
    """Publish without review when the CSIRT chose auto-publish and nothing needs an analyst."""
    org = ctx.store.get_org(sub.org)
    if sub.status != "review" or sub.needs_review or org is None or not org.auto_publish:
        return sub
    try:
        return publish(ctx, sub, actor="hub", action="auto-publish")
    except Refused as exc:  # e.g. no agreement: the draft waits for an analyst
        return ctx.store.update_submission(sub.id, expect_status=("review",), message=f"not auto-published: {exc}")


def publish(ctx, sub: Submission, *, actor: str, action: str) -> Submission:
    gate = publication_gate(ctx.store, sub.org, sub.victim_ref, ctx.today())
    if not gate.allowed:
        raise Refused(f"publication refused: {gate.message} (agreement status: {gate.status}); the draft is kept")
    collection = ctx.store.find_collection(COLLECTION_OF_TLP[sub.tlp])
    if collection is None:
        raise Refused(f"the hub has no {COLLECTION_OF_TLP[sub.tlp]} collection")
    draft = orjson.loads(sub.draft)
    objects = [_versioned(ctx.store, collection.id, o) for o in draft["objects"]]
    # The leak gate once more, over exactly what leaves the hub.
    payload = open_payload(ctx, sub)
    final = {"type": "bundle", "id": draft["id"], "objects": objects}
    hits = recheck(final, input_bundle(payload, payload.get("received", sub.created)),
                   VictimProfile.from_dict(effective_profile(payload))) + di18_leak_gate.scan_generic(objects)
    if hits:
        raise Refused(f"refused by the leak gate ({hits[0].rule} at {hits[0].where}); nothing was published")
    pub_id = new_id("pub")
    created = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    manifest = {
        "type": "hub-publication", "id": pub_id, "submission": sub.id, "collection": collection.id,
        "collection_title": collection.title, "tlp": sub.tlp, "created": created,
        "objects": [{"id": o["id"], "version": o.get("modified") or o.get("created"), "sha256": object_digest(o)}
                    for o in objects],
    }
    body = canonical(manifest)
    publication = Publication(pub_id, sub.id, collection.id, created, body.decode("utf-8"),
                              ctx.signer.sign(body), ctx.signer.public_key_b64)
    try:
        ctx.store.publish_submission(sub.id, collection.id, objects, publication,
                                     (actor, action, {"publication": pub_id, "collection": collection.title,
                                                      "objects": len(objects)}))
    except Conflict as exc:
        raise WrongState(str(exc)) from None
    return ctx.store.get_submission(sub.id)


def _versioned(store, collection_id: str, obj: dict) -> dict:
    """A versioned object whose id is already published with other content gets a newer
    `modified`, so a later submission of the same thing becomes a new version rather than a
    duplicate; the very same content is left to be a duplicate. Times stay at day granularity
    (DI-09): the first version of a day is 00:00:00.000Z, later ones add a millisecond."""
    if "modified" not in obj:
        return obj
    from .store.sql import normalise_timestamp

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
    bumped = (datetime.strptime(latest, "%Y-%m-%dT%H:%M:%S.%fZ") + timedelta(milliseconds=1)
              ).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    candidate = max(today, bumped)
    return {**obj, "modified": candidate[:23] + "Z"}


def _without_modified(obj: dict) -> bytes:
    return canonical({k: v for k, v in obj.items() if k != "modified"})


# -- verification ------------------------------------------------------------------------------

def verify_publication(publication: Publication, fetched: dict[str, dict] | None = None,
                       trusted_key: str | None = None) -> list[str]:
    """Problems found (empty = valid): signature over the manifest by the (trusted) key, and,
    when `fetched` (id -> object as received) is given, every listed object present and unchanged."""
    problems = []
    key = trusted_key or publication.public_key
    if trusted_key and publication.public_key != trusted_key:
        problems.append("signed by a key other than the hub's")
    if not verify_signature(key, publication.manifest.encode("utf-8"), publication.signature):
        problems.append("signature does not match the manifest")
    if fetched is not None:
        manifest = json.loads(publication.manifest)
        for item in manifest["objects"]:
            got = fetched.get((item["id"], item["version"]))
            if got is None:
                problems.append(f"{item['id']} is missing")
            elif object_digest(got) != item["sha256"]:
                problems.append(f"{item['id']} differs from what was signed")
    return problems


def verify_audit(entries) -> tuple[int, str | None]:
    """(entries checked, first problem or None) over the audit chain in order."""
    prev = GENESIS_HASH
    count = 0
    for e in entries:
        count += 1
        if e.prev_hash != prev:
            return count, f"entry {e.seq}: does not follow entry {e.seq - 1} (chain broken: removed or reordered)"
        if audit_hash(e.prev_hash, e.at, e.actor, e.action, e.subject, e.details) != e.hash:
            return count, f"entry {e.seq}: content was changed after it was written"
        prev = e.hash
    return count, None

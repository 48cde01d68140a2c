"""The operator's bulk publication (`hub publish`): a STIX bundle into a TLP collection, signed
like an approval (issue 12). In order, before anything is written: the leak gate's generic
checks (Refused, exit 3), strict STIX 2.1 (`stix_strict`: Invalid, exit 2, one line per failure,
never a value). Then one unit of work: the objects (in store batches), one Ed25519-signed
publication manifest and one chained audit entry; a kill or an error leaves nothing."""
from __future__ import annotations

import time
from typing import Callable

import orjson

from sanitizer.rules import di18_leak_gate

from ..context import HubContext
from ..domain import new_id, now_timestamp
from ..errors import Invalid, Refused
from ..manifest import object_digest
from ..store.base import ObjectFilter, Principal, Store
from . import audit, permissions, stix_strict
from .accounts import collection_of

BATCH = 50_000  # objects per store call: large enough for the store's bulk path


def present_in(store: Store, collection_id: str) -> Callable[[set[str]], set[str]]:
    """`present(ids)`: which of `ids` the collection holds (for reference checks)."""
    def present(ids: set[str]) -> set[str]:
        wanted, found = sorted(ids), set()
        for i in range(0, len(wanted), 100):
            page = store.get_objects(collection_id, ObjectFilter(ids=tuple(wanted[i:i + 100]), versions=("all",)),
                                     10_000)
            found |= {orjson.loads(body)["id"] for body in page.items}
        return found
    return present


def parse_bundle(raw: bytes) -> list:
    try:
        bundle = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise Invalid(f"input: not valid JSON (line {exc.lineno}, column {exc.colno})") from None
    objects = bundle.get("objects") if isinstance(bundle, dict) and bundle.get("type") == "bundle" else None
    if not isinstance(objects, list):
        raise Invalid("input: not a STIX bundle with an 'objects' list")
    return objects


def publish_bundle(ctx: HubContext, *, principal: Principal | None, collection: str, raw: bytes,
                   batch: int = BATCH, progress: Callable[[int, int], None] | None = None) -> dict:
    """Publish a bundle's objects; a summary with the publication id."""
    permissions.require_admin(principal)
    coll = collection_of(ctx.store, collection)
    if coll.tlp is None or coll.inbox_of is not None:
        raise Invalid("hub publish writes a TLP collection")
    started = time.perf_counter()
    objects = parse_bundle(raw)
    # One pass over the whole text is enough when it is clean; objects are scanned one by one
    # only to say where a hit is.
    hits = di18_leak_gate.scan_generic(objects) if di18_leak_gate.text_has_generic_leak(raw) else []
    if hits:
        h = hits[0]
        raise Refused(f"refused by the leak gate: {h.rule} {h.what} at {h.where} (+{len(hits) - 1} more); "
                      "nothing was published")
    failures = stix_strict.check(objects, present_in(ctx.store, coll.id))
    if failures:
        raise Invalid(stix_strict.refusal(failures))
    checked = time.perf_counter()
    pub_id, created = new_id("pub"), now_timestamp()
    manifest = {"type": "hub-publication", "id": pub_id, "submission": None, "collection": coll.id,
                "collection_title": coll.title, "tlp": coll.tlp, "created": created,
                "objects": [{"id": o["id"], "version": o.get("modified") or o.get("created"),
                             "sha256": object_digest(o)} for o in objects]}
    added = duplicates = 0
    with ctx.store.transaction():
        publication = audit.signed_publication(ctx, manifest, submission_id="")
        for i in range(0, len(objects), batch):
            result = ctx.store.add_objects(coll.id, objects[i:i + batch])
            if result.failures:
                where, message = result.failures[0]
                raise Invalid(f"object {where}: {message}; nothing was published")
            added += len(result.added)
            duplicates += len(result.duplicates)
            if progress:
                progress(min(i + batch, len(objects)), len(objects))
        ctx.store.add_publication(publication)
        audit.record(ctx.store, principal, "publish", coll.id, {"publication": pub_id, "objects": len(objects),
                                                                "added": added, "duplicates": duplicates})
    done = time.perf_counter()
    # Seconds per phase: parsing and the checks (leak gate, strict STIX), then the signed store phase.
    return {"collection": coll.id, "title": coll.title, "publication": pub_id, "objects": len(objects),
            "added": added, "duplicates": duplicates, "failures": [], "failure_count": 0,
            "check_seconds": round(checked - started, 3), "store_seconds": round(done - checked, 3)}

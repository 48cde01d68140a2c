"""Writes that arrive over TAXII on ordinary collections (not a CSIRT's inbox, which is
`submissions`): TLP collections are written only by publication, so an add is refused and a
delete is the operator's withdrawal (`withdrawal.withdraw`). Collections without a TLP level
(none by default) take adds behind the leak gate's generic checks and audited deletes."""
from __future__ import annotations

from sanitizer.rules import di18_leak_gate

from ..context import HubContext
from ..errors import Forbidden, Refused
from ..store.base import AddResult, Collection, ObjectFilter, Principal, Store
from . import audit, permissions
from .withdrawal import withdraw

TAXII_DELETE_REASON = "withdrawn over TAXII DELETE"


def taxii_add(store: Store, *, principal: Principal, collection: Collection, objects: list) -> AddResult:
    """Objects POSTed to a collection: refused on a TLP collection (403), else stored."""
    permissions.refuse_write_to_published(collection)
    # Nothing unreviewed is published: the leak gate's generic checks run on every write.
    hits = di18_leak_gate.scan_generic(objects)
    if hits:
        h = hits[0]
        raise Refused(f"refused by the leak gate: {h.rule} {h.what} at {h.where}")
    with store.transaction():
        result = store.add_objects(collection.id, objects)
        audit.record(store, principal, "taxii-add", collection.id, {"added": len(result.added)})
    return result


def taxii_delete(ctx: HubContext | None, store: Store, *, principal: Principal, collection: Collection,
                 object_id: str, flt: ObjectFilter) -> int:
    """A TAXII DELETE: on a TLP collection the operator admin's withdrawal, else a delete."""
    if collection.tlp is not None:
        if ctx is None:
            raise Forbidden("this server does not withdraw objects")
        withdraw(ctx, principal=principal, collection=collection, object_id=object_id, reason=TAXII_DELETE_REASON)
        return 1
    permissions.require_admin(principal)
    with store.transaction():
        deleted = store.delete_object(collection.id, object_id, flt)
        if deleted:
            audit.record(store, principal, "taxii-delete", object_id, {"collection": collection.id,
                                                                       "versions": deleted})
    return deleted

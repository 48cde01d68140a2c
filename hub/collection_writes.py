"""The `taxii_server.ports.Writer` the TAXII feed hands adds and deletes on ordinary (non-inbox)
collections to. The medallion views have already checked `can_write` for the caller."""
from __future__ import annotations

from taxii_server.ports import FeedRefused, ObjectFilter

from sanitizer.rules import di18_leak_gate

from .store.base import AddResult, Collection, Principal, Store


class StoreWriter:
    """Writes straight to the store, behind the leak gate's generic checks."""

    def __init__(self, store: Store):
        self.store = store

    def add(self, principal: Principal, collection: Collection, objects: list) -> AddResult:
        # Nothing unreviewed is published: the leak gate's generic checks run on every write.
        hits = di18_leak_gate.scan_generic(objects)
        if hits:
            h = hits[0]
            raise FeedRefused(f"refused by the leak gate: {h.rule} {h.what} at {h.where}", 422)
        return self.store.add_objects(collection.id, objects)

    def delete(self, principal: Principal, collection: Collection, object_id: str, flt: ObjectFilter) -> int:
        return self.store.delete_object(collection.id, object_id, flt)

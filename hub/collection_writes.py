"""The `taxii_server.ports.Writer` the TAXII feed hands adds and deletes on ordinary (non-inbox)
collections to: each calls one service (`services.feed_writes`), whose refusals become TAXII
errors. The medallion views have already checked `can_write` for the caller."""
from __future__ import annotations

from taxii_server.ports import FeedRefused, ObjectFilter

from .context import HubContext
from .errors import HubError
from .services import feed_writes
from .store.base import AddResult, Collection, Principal, Store


class ServiceWriter:
    """Adds and deletes through the services; `ctx` (signer) is needed for withdrawals."""

    def __init__(self, store: Store, ctx: HubContext | None = None):
        self.store = store
        self.ctx = ctx

    def add(self, principal: Principal, collection: Collection, objects: list) -> AddResult:
        try:
            return feed_writes.taxii_add(self.store, principal=principal, collection=collection, objects=objects)
        except HubError as exc:
            raise FeedRefused(str(exc), exc.status) from None

    def delete(self, principal: Principal, collection: Collection, object_id: str, flt: ObjectFilter) -> int:
        try:
            return feed_writes.taxii_delete(self.ctx, self.store, principal=principal, collection=collection,
                                            object_id=object_id, flt=flt)
        except HubError as exc:
            raise FeedRefused(str(exc), exc.status) from None

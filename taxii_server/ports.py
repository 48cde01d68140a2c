"""What the TAXII layer needs from the application around it, as small types and Protocols.

`taxii_server` is a library: it imports nothing of the hub. The hub's store, principals,
collections and inbox satisfy these shapes (structurally); the hub imports this package, never
the other way round.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol, Sequence


class BadCursor(Exception):
    """A `next` cursor the store did not issue (or that is corrupt): answered 400."""


class FeedRefused(Exception):
    """A write the application refuses (`status` 403/404/409/422, `message` safe to show)."""

    def __init__(self, message: str, status: int = 403):
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class ObjectFilter:
    """TAXII 2.1 filters: added_after, match[id|type|version|spec_version]."""

    added_after: datetime | None = None
    ids: tuple[str, ...] = ()
    types: tuple[str, ...] = ()
    versions: tuple[str, ...] = ("last",)  # "last" | "first" | "all" | timestamps
    spec_versions: tuple[str, ...] = ()


class Principal(Protocol):
    """The authenticated caller (`flask.g.principal`): the backend reads its organisation."""

    @property
    def org(self) -> str: ...


class Collection(Protocol):
    @property
    def id(self) -> str: ...
    @property
    def title(self) -> str: ...
    @property
    def description(self) -> str: ...
    @property
    def inbox_of(self) -> str | None: ...  # set on a write-only inbox: pushes go to the Inbox


class Access(Protocol):
    @property
    def can_read(self) -> bool: ...
    @property
    def can_write(self) -> bool: ...


class Page(Protocol):
    """One page of a listing; `items` are JSON texts (objects) or dicts (manifest, versions)."""

    @property
    def items(self) -> list: ...
    @property
    def more(self) -> bool: ...
    @property
    def next(self) -> str | None: ...
    @property
    def first_added(self) -> str | None: ...
    @property
    def last_added(self) -> str | None: ...


class FeedStore(Protocol):
    """The store methods the backend calls (reads, and the status resources it keeps)."""

    def list_collections(self) -> Sequence[Collection]: ...
    def access(self, principal, collection) -> Access: ...
    def get_objects(self, collection_id: str, flt: ObjectFilter, limit: int, cursor: str | None = None) -> Page: ...
    def get_manifest(self, collection_id: str, flt: ObjectFilter, limit: int, cursor: str | None = None) -> Page: ...
    def get_versions(self, collection_id: str, object_id: str, flt: ObjectFilter, limit: int,
                     cursor: str | None = None) -> Page: ...
    def save_status(self, status: dict) -> None: ...
    def get_status(self, status_id: str) -> dict | None: ...


class Inbox(Protocol):
    """What a CSIRT's write-only inbox does with a push (the hub turns it into a submission)."""

    def push(self, principal, objects: list, request_time: datetime | None) -> dict: ...
    def refresh(self, status: dict) -> dict: ...


class Writer(Protocol):
    """Writes to ordinary collections (TAXII add and delete). The application decides who may
    write what; a refusal is a `FeedRefused`. `add` answers an AddResult-like object with
    `added`, `duplicates` and `failures` ((id, message) pairs); `delete` the rows affected."""

    def add(self, principal, collection, objects: list) -> object: ...
    def delete(self, principal, collection, object_id: str, flt: ObjectFilter) -> int: ...

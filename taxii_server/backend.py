"""A medallion backend over a store-like port (`ports.FeedStore`).

Medallion's views (the TAXII 2.1 protocol layer) call these methods; each one checks what the
calling principal may see, turns TAXII query parameters into a store filter and returns
resources. Objects come back from the store as JSON text and are served as such. Writes go to
the application: pushes to an inbox collection to `ports.Inbox`, adds and deletes elsewhere to
`ports.Writer`, which decides who may change what.
"""
from __future__ import annotations

import re
import time
import uuid
from datetime import datetime, timezone

from flask import current_app, g
from medallion.backends.base import Backend
from medallion.exceptions import ProcessingError

from .ports import BadCursor, Collection, FeedRefused, FeedStore, Inbox, ObjectFilter, Writer
from .rawjson import RawEnvelope

MEDIA_TYPE_STIX = "application/stix+json;version=2.1"
COLLECTION_TTL = 2.0  # seconds a process trusts its list of collections
_TS = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?Z$")
_ID = re.compile(r"^[a-z0-9][a-z0-9-]*--[0-9a-fA-F-]{36}$")
_TYPE = re.compile(r"^[a-z0-9][a-z0-9-]{0,249}$")
_STATUS_ID = re.compile(r"^[A-Za-z0-9-]{1,100}$")
# Objects in one add request: a 10 MiB body of empty objects would be ~3 million, each with an
# entry in the status resource (a 190 MB answer, stored); real envelopes stay far below this.
MAX_OBJECTS_PER_REQUEST = 100_000
TIMESTAMP_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"


def format_time(moment: datetime) -> str:
    return moment.strftime(TIMESTAMP_FORMAT)


def now_timestamp() -> str:
    return datetime.now(timezone.utc).strftime(TIMESTAMP_FORMAT)


def parse_timestamp(value: str, what: str) -> datetime:
    """A TAXII timestamp, or 400."""
    if not _TS.match(value):
        raise ProcessingError(f"{what} must be a timestamp like 2025-01-31T12:00:00.000Z", 400)
    fmt = "%Y-%m-%dT%H:%M:%S.%fZ" if "." in value else "%Y-%m-%dT%H:%M:%SZ"
    try:
        return datetime.strptime(value, fmt).replace(tzinfo=timezone.utc)
    except ValueError:
        raise ProcessingError(f"{what} is not a valid date-time", 400) from None


def _split(value: str | None) -> tuple[str, ...]:
    return tuple(v.strip() for v in value.split(",") if v.strip()) if value else ()


def build_filter(args: dict, allowed: tuple[str, ...]) -> ObjectFilter:
    """TAXII query parameters → ObjectFilter; malformed values are a 400, never a 500."""
    added_after = parse_timestamp(args["added_after"], "added_after") if args.get("added_after") else None
    ids = _split(args.get("match[id]")) if "id" in allowed else ()
    if any(not _ID.match(i) for i in ids):
        raise ProcessingError("match[id] must list STIX identifiers", 400)
    types = _split(args.get("match[type]")) if "type" in allowed else ()
    if any(not _TYPE.match(t) for t in types):
        raise ProcessingError("match[type] must list STIX type names", 400)
    versions = _split(args.get("match[version]")) if "version" in allowed else ()
    for v in versions:
        if v not in ("last", "first", "all"):
            parse_timestamp(v, "match[version]")
    spec_versions = _split(args.get("match[spec_version]")) if "spec_version" in allowed else ()
    if any(s not in ("2.0", "2.1") for s in spec_versions):
        raise ProcessingError("match[spec_version] must be 2.0 or 2.1", 400)
    return ObjectFilter(added_after=added_after, ids=ids, types=types, versions=versions or ("last",),
                        spec_versions=spec_versions)


def _headers(page) -> dict:
    headers = {}
    if page.first_added:
        headers["X-TAXII-Date-Added-First"] = page.first_added
    if page.last_added:
        headers["X-TAXII-Date-Added-Last"] = page.last_added
    return headers


def _body(page, key: str, raw: bool = False) -> dict:
    """A TAXII envelope / manifest / versions resource for one page."""
    body = (RawEnvelope if raw else dict)(more=page.more)
    if page.next:
        body["next"] = page.next
    if page.items:
        body[key] = page.items
    return body


class HubBackend(Backend):
    """Medallion's Backend interface, answered from the store port for the calling principal."""

    def __init__(self, store: FeedStore, api_root: str = "hub", title: str = "Attack-technique sharing hub",
                 max_content_length: int = 10 * 1024 * 1024, inbox: Inbox | None = None,
                 writer: Writer | None = None, **_kwargs):
        self.store = store
        self.inbox = inbox
        self.writer = writer
        self.api_root = api_root
        self.title = title
        self.max_content_length = max_content_length
        self._collections_by_id: dict[str, Collection] = {}
        self._collections_expire = 0.0

    # -- helpers -----------------------------------------------------------------------
    def _visible(self, collection_id: str) -> tuple[Collection, object] | None:
        """A collection and the principal's access, cached for the request; None if invisible."""
        cache = g.setdefault("taxii_access", {})
        if collection_id not in cache:
            coll = self._collections().get(collection_id)
            if coll is None or g.get("principal") is None:
                cache[collection_id] = None
            else:
                access = self.store.access(g.principal, coll)
                cache[collection_id] = (coll, access) if (access.can_read or access.can_write) else None
        return cache[collection_id]

    def _collections(self) -> dict[str, Collection]:
        """All collections by id, re-read at most every COLLECTION_TTL seconds: they change only
        when an operator adds one, and a lookup per request was a database round trip."""
        now = time.monotonic()
        if now >= self._collections_expire:
            self._collections_by_id = {c.id: c for c in self.store.list_collections()}
            self._collections_expire = now + COLLECTION_TTL
        return self._collections_by_id

    def _resource(self, coll: Collection, access) -> dict:
        return {"id": coll.id, "title": coll.title, "description": coll.description,
                "can_read": access.can_read, "can_write": access.can_write, "media_types": [MEDIA_TYPE_STIX]}

    def _page_args(self, filter_args: dict) -> str | None:
        return filter_args.get("next") or None

    # -- discovery ---------------------------------------------------------------------
    def server_discovery(self):
        # The operator's public URL (`hub serve --public-url`), never the request's Host header
        # (a client could point peers elsewhere); without one, a path relative to this server.
        public = current_app.config.get("PUBLIC_URL")
        root = (public.rstrip("/") if public else "") + f"/{self.api_root}/"
        return {"title": self.title, "description": "TAXII 2.1 feed of de-identified attack-technique information",
                "default": root, "api_roots": [root]}

    def get_api_root_information(self, api_root):
        if api_root != self.api_root:
            return None
        return {"title": self.title, "description": "De-identified attack-technique information",
                "versions": ["application/taxii+json;version=2.1"], "max_content_length": self.max_content_length}

    def get_status(self, api_root, status_id):
        if not _STATUS_ID.match(status_id):
            return None  # never a status id we issued (and PostgreSQL refuses NUL bytes)
        status = self.store.get_status(status_id)
        if status is None or status.get("_org") != g.principal.org:
            return None
        if status.get("_submission") and self.inbox is not None:
            # An inbox push: its status follows the submission it became (pending → complete).
            status = self.inbox.refresh(status)
        return {k: v for k, v in status.items() if not k.startswith("_")}

    # -- collections -------------------------------------------------------------------
    def get_collections(self, api_root):
        out = []
        for coll in sorted(self._collections().values(), key=lambda c: c.title):
            seen = self._visible(coll.id)
            if seen:
                out.append(self._resource(*seen))
        return {"collections": out} if out else {}

    def get_collection(self, api_root, collection_id):
        seen = self._visible(collection_id)
        return self._resource(*seen) if seen else None

    # -- objects -----------------------------------------------------------------------
    def _page(self, method, collection_id, filter_args, allowed, limit, *extra):
        flt = build_filter(filter_args, allowed)
        try:
            return method(collection_id, *extra, flt, limit, self._page_args(filter_args))
        except BadCursor:
            raise ProcessingError("next is not a cursor this server issued", 400) from None

    def get_objects(self, api_root, collection_id, filter_args, allowed_filters, limit):
        page = self._page(self.store.get_objects, collection_id, filter_args, allowed_filters, limit)
        return _body(page, "objects", raw=True), _headers(page)

    def get_object(self, api_root, collection_id, object_id, filter_args, allowed_filters, limit):
        if not _ID.match(object_id):
            raise ProcessingError("object id is not a STIX identifier", 400)
        args = dict(filter_args)
        args["match[id]"] = object_id
        page = self._page(self.store.get_objects, collection_id, args, ("id",) + tuple(allowed_filters), limit)
        return (_body(page, "objects", raw=True) if page.items or filter_args else None), _headers(page)

    def get_object_manifest(self, api_root, collection_id, filter_args, allowed_filters, limit):
        page = self._page(self.store.get_manifest, collection_id, filter_args, allowed_filters, limit)
        return _body(page, "objects"), _headers(page)

    def get_object_versions(self, api_root, collection_id, object_id, filter_args, allowed_filters, limit):
        if not _ID.match(object_id):
            raise ProcessingError("object id is not a STIX identifier", 400)
        page = self._page(self.store.get_versions, collection_id, filter_args, allowed_filters, limit, object_id)
        if not page.items and not filter_args:
            raise ProcessingError(f"Object '{object_id}' not found", 404)
        return _body(page, "versions"), _headers(page)

    def delete_object(self, api_root, collection_id, object_id, filter_args, allowed_filters):
        if not _ID.match(object_id):
            raise ProcessingError("object id is not a STIX identifier", 400)
        flt = build_filter(filter_args, allowed_filters)
        if not filter_args.get("match[version]"):
            flt = ObjectFilter(versions=("all",), spec_versions=flt.spec_versions)
        seen = self._visible(collection_id)
        if self.writer is None or seen is None:
            raise ProcessingError("this server does not delete objects", 403)
        try:
            deleted = self.writer.delete(g.principal, seen[0], object_id, flt)
        except FeedRefused as exc:
            raise ProcessingError(str(exc), exc.status) from None
        if deleted == 0:
            raise ProcessingError(f"Object '{object_id}' not found", 404)

    def add_objects(self, api_root, collection_id, objs, request_time):
        if not isinstance(objs, dict) or not isinstance(objs.get("objects"), list):
            raise ProcessingError("The body must be a TAXII envelope with an 'objects' list", 400)
        objects = objs["objects"]
        if len(objects) > MAX_OBJECTS_PER_REQUEST:
            raise ProcessingError(f"An envelope may hold at most {MAX_OBJECTS_PER_REQUEST} objects; "
                                  "split it into several requests", 413)
        seen = self._visible(collection_id)
        if seen and seen[0].inbox_of is not None:
            # A CSIRT's inbox: the objects are raw victim data and become a submission for the
            # sanitiser and the analysts; nothing is stored in the collection itself.
            if self.inbox is None:
                raise ProcessingError("this server does not accept submissions", 422)
            return self.inbox.push(g.principal, objects, request_time)
        if self.writer is None or seen is None:
            raise ProcessingError("this server does not accept objects", 403)
        try:
            result = self.writer.add(g.principal, seen[0], objects)
        except FeedRefused as exc:
            raise ProcessingError(str(exc), exc.status) from None
        now = now_timestamp()
        status = {
            "id": str(uuid.uuid4()), "status": "complete",
            "request_timestamp": format_time(request_time) if request_time else now,
            "total_count": len(objects), "success_count": len(result.added) + len(result.duplicates),
            "successes": [{"id": i, "message": "stored"} for i in result.added]
            + [{"id": i, "message": "already present"} for i in result.duplicates],
            "failure_count": len(result.failures),
            "failures": [{"id": i, "message": m} for i, m in result.failures],
            "pending_count": 0, "pendings": [],
        }
        self.store.save_status({**status, "_org": g.principal.org})
        return status


def install(app, store: FeedStore, **options) -> HubBackend:
    """Attach the backend the way medallion's views look for it."""
    backend = HubBackend(store, **options)
    app.medallion_backend = backend
    app.taxii_config = {"max_page_size": options.get("max_page_size", 1000)}
    return backend

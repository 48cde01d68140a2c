"""STIX objects and TAXII status resources: the feed part of `SqlStore`.

Concurrency model. Object writers are serialised (PostgreSQL: a transaction-scoped advisory
lock; SQLite: BEGIN IMMEDIATE, the single write lock), and each batch takes date_added values
above every value already stored. Hence commit order equals date_added order, and a reader
paging by (date_added, id) can never be passed by a row that commits later with a smaller
position: new rows always appear after the reader's cursor. Reads take no locks.
"""
from __future__ import annotations

import logging
import re
import threading
from datetime import datetime, timezone
from typing import Iterator, Sequence

import orjson
from sqlalchemy import Text, any_, bindparam, delete, func, or_, select, text, true, update
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import SQLAlchemyError

from ..domain import format_us as format_micros
from ..domain import normalise_timestamp
from .base import AddResult, InvalidArgument, NotFound, ObjectFilter, Page
from .cursor import decode_cursor, encode_cursor
from .schema import collections, objects, statuses
from .sql_core import SqlCore, _check_text, to_micros

INSERT_CHUNK = 2000   # rows per executemany
BULK_ROWS = 10_000    # batches larger than this take the bulk path
SQLITE_BULK_CACHE_KIB = -262144  # 256 MiB page cache while a bulk batch is written
_COPY_COLUMNS = ("collection_id", "object_id", "object_type", "spec_version", "version", "date_added",
                 "is_latest", "is_first", "body")
SELECT_CHUNK = 900    # ids per IN (...) list; below SQLite's old 999-variable limit
PG_SELECT_CHUNK = 5000  # ids per PostgreSQL array parameter
ANALYZE_FIRST = 1000  # rows a process inserts before it first refreshes planner statistics
ANALYZE_GROWTH = 0.2  # then again each time it has inserted this fraction of the table
MEDIA_TYPE = "application/stix+json;version="

log = logging.getLogger(__name__)

_STIX_ID = re.compile(r"([a-z0-9][a-z0-9-]{0,248}[a-z0-9]|[a-z0-9])--"
                      r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_SPEC_VERSION = re.compile(r"\d{1,3}\.\d{1,3}")


def _prepare(obj: object, n: int) -> tuple[tuple | None, tuple[str, str] | None]:
    """((id, type, spec_version, version or None, body), None) or (None, (key, problem)).

    The key is the object's id once that is known to be a well-formed STIX id, else "#n"
    (1-based position in the batch). Problems name the property, never its value:
    submissions may hold victim data."""
    position = f"#{n}"
    if not isinstance(obj, dict):
        return None, (position, "not a JSON object")
    obj_type, obj_id = obj.get("type"), obj.get("id")
    if not isinstance(obj_type, str) or not obj_type:
        return None, (position, "'type' is missing or not a string")
    if not isinstance(obj_id, str):
        return None, (position, "'id' is missing or not a string")
    match = _STIX_ID.fullmatch(obj_id)
    if not match or match.group(1) != obj_type:
        return None, (position, "'id' is not of the form <type>--<uuid>")
    spec_version = obj.get("spec_version", "2.1")
    if not isinstance(spec_version, str) or not _SPEC_VERSION.fullmatch(spec_version):
        return None, (obj_id, "'spec_version' is not a version number")
    version = None
    for prop in ("modified", "created"):
        if prop in obj:
            version = normalise_timestamp(obj[prop])
            if version is None:
                return None, (obj_id, f"'{prop}' is not a STIX timestamp")
            break
    try:
        body = orjson.dumps(obj).decode()
    except TypeError:
        return None, (obj_id, "not serialisable as JSON")
    return (obj_id, obj_type, spec_version, version, body), None


def _chunks(items: Sequence, size: int) -> Iterator[Sequence]:
    for start in range(0, len(items), size):
        yield items[start:start + size]



class ObjectsPart(SqlCore):
    """Implements the object and status parts of `Store`, and `_add_prepared` for publication."""

    def __init__(self, engine: Engine):
        super().__init__(engine)
        self._stats_lock = threading.Lock()
        self._inserted_since_analyze = 0
        self._analyze_after = ANALYZE_FIRST

    def prepare_objects(self, objects_in: list[dict]) -> tuple[list, list[tuple[str, str]]]:
        """(prepared rows, failures): validation and serialisation, before any lock is taken."""
        prepared, failures = [], []
        for n, obj in enumerate(objects_in, 1):
            item, failure = _prepare(obj, n)
            if failure:
                failures.append(failure)
            else:
                prepared.append(item)
        return prepared, failures

    # -- objects: writes ----------------------------------------------------------------
    def add_objects(self, collection_id: str, objects_in: list[dict], now: datetime | None = None) -> AddResult:
        # Validation and serialisation happen before the write lock is taken.
        prepared, failures = self.prepare_objects(objects_in)
        result = AddResult(failures=failures)
        now_us = to_micros(now or datetime.now(timezone.utc))

        with self._write(objects_lock=True) as conn:
            rows = self._add_prepared(conn, collection_id, prepared, now_us, result)
        self._note_inserted(len(rows))
        return result

    def _add_prepared(self, conn: Connection, collection_id: str, prepared: list, now_us: int,
                      result: AddResult) -> list[dict]:
        """Insert prepared objects inside the caller's object-writer transaction; fills `result`
        and returns the rows written."""
        if conn.execute(select(collections.c.id).where(collections.c.id == collection_id)).first() is None:
            raise NotFound("no such collection")
        if not prepared:
            return []
        date_added = max(now_us, self._last_date_added(conn, collection_id) + 1)
        existing = self._existing_versions(conn, collection_id, {p[0] for p in prepared})

        rows: list[dict] = []
        new_rows: dict[str, list[dict]] = {}  # object id -> its rows in this batch
        for obj_id, obj_type, spec_version, version, body in prepared:
            stored = existing.get(obj_id)
            batch = new_rows.get(obj_id)
            if version is None:
                # Without modified/created the version would be the date_added, so every
                # re-submission of the same SCO would count as a new version; an id that
                # is already here is taken as a duplicate instead.
                if stored or batch:
                    result.duplicates.append(obj_id)
                    continue
                version = format_micros(date_added)
            elif (stored and version in stored) or (batch and any(r["version"] == version for r in batch)):
                result.duplicates.append(obj_id)
                continue
            row = {"collection_id": collection_id, "object_id": obj_id, "object_type": obj_type,
                   "spec_version": spec_version, "version": version, "date_added": date_added,
                   "is_latest": True, "is_first": True, "body": body}
            rows.append(row)
            if batch is None:
                new_rows[obj_id] = [row]
            else:
                batch.append(row)
            result.added.append(obj_id)
            date_added += 1  # strictly increasing: date_added order is insertion order

        self._fix_flags_for_batch(conn, collection_id, existing, new_rows)
        self._insert_rows(conn, rows)
        return rows

    def _insert_rows(self, conn: Connection, rows: list[dict]) -> None:
        """Write new object rows: COPY on PostgreSQL (one stream instead of a round trip per
        row), executemany on SQLite with a larger page cache for big batches (fewer dirty-page
        spills of the random-UUID index)."""
        if not rows:
            return
        if self._pg and len(rows) > BULK_ROWS:
            cursor = conn.connection.driver_connection.cursor()
            with cursor.copy(f"COPY objects ({', '.join(_COPY_COLUMNS)}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(tuple(row[c] for c in _COPY_COLUMNS))
            return
        bulk = not self._pg and len(rows) > BULK_ROWS
        if bulk:
            conn.exec_driver_sql(f"PRAGMA cache_size={SQLITE_BULK_CACHE_KIB}")
        try:
            for chunk in _chunks(rows, INSERT_CHUNK):
                conn.execute(objects.insert(), list(chunk))
        finally:
            if bulk:
                conn.exec_driver_sql("PRAGMA cache_size=-2000")  # back to SQLite's default

    def _note_inserted(self, count: int) -> None:
        """Refresh the planner statistics of `objects` as it grows.

        Without statistics (a new database, or PostgreSQL without autovacuum) both planners
        misjudge the listing queries: PostgreSQL sorts a whole collection for a 100-row page,
        SQLite scans the latest-version index for a match[id]. ANALYZE is cheap here (sampled:
        PostgreSQL's default, SQLite's analysis_limit) and runs after the batch committed,
        outside the objects lock, each time this process has added ANALYZE_GROWTH of the table."""
        with self._stats_lock:
            self._inserted_since_analyze += count
            if self._inserted_since_analyze < self._analyze_after or self.in_transaction():
                return
            self._inserted_since_analyze = 0
        try:
            with self._write() as conn:
                if self._pg:
                    conn.execute(text("ANALYZE objects"))
                    rows = conn.execute(text("SELECT reltuples FROM pg_class WHERE oid = 'objects'::regclass")
                                        ).scalar_one()
                else:
                    conn.execute(text("PRAGMA analysis_limit=10000"))
                    conn.execute(text("ANALYZE objects"))
                    stat = conn.execute(text("SELECT stat FROM sqlite_stat1 WHERE idx = 'objects_page'")
                                        ).scalar_one_or_none()
                    rows = int(stat.split()[0]) if stat else 0
        except SQLAlchemyError as exc:  # the objects are stored; stale statistics only cost speed
            log.warning("could not refresh planner statistics: %s", type(exc).__name__)
            return
        with self._stats_lock:
            self._analyze_after = max(ANALYZE_FIRST, int(ANALYZE_GROWTH * max(rows, 0)))

    def _last_date_added(self, conn: Connection, collection_id: str) -> int:
        """The largest date_added stored, from two index lookups. Writers are serialised and
        always go above the previous maximum, so the newest row (largest id) holds the global
        maximum; the collection's own maximum is taken too, which alone keeps paging correct."""
        newest = select(objects.c.date_added).order_by(objects.c.id.desc()).limit(1).scalar_subquery()
        in_collection = select(func.max(objects.c.date_added)).where(
            objects.c.collection_id == collection_id).scalar_subquery()
        a, b = conn.execute(select(newest, in_collection)).one()
        return max(a if a is not None else -1, b if b is not None else -1)

    def _existing_versions(self, conn: Connection, collection_id: str, ids: set[str]) -> dict[str, set[str]]:
        """Stored versions of those ids that exist: a few chunked SELECTs, not one per object."""
        found: dict[str, set[str]] = {}
        if self._pg:  # one array parameter: a single statement text, prepared once by psycopg
            match, size = objects.c.object_id == any_(bindparam("ids", type_=ARRAY(Text))), PG_SELECT_CHUNK
        else:
            match, size = objects.c.object_id.in_(bindparam("ids", expanding=True)), SELECT_CHUNK
        stmt = select(objects.c.object_id, objects.c.version).where(objects.c.collection_id == collection_id, match)
        for chunk in _chunks(sorted(ids), size):
            for obj_id, version in conn.execute(stmt, {"ids": list(chunk)}):
                found.setdefault(obj_id, set()).add(version)
        return found

    def _fix_flags_for_batch(self, conn: Connection, collection_id: str, existing: dict[str, set[str]],
                             new_rows: dict[str, list[dict]]) -> None:
        """Set is_latest / is_first on the batch's rows and clear them on stored rows that a new
        version supersedes. Runs before the insert, so the UPDATEs only touch stored rows."""
        clear_latest, clear_first = [], []
        for obj_id, batch in new_rows.items():
            stored = existing.get(obj_id)
            if stored is None and len(batch) == 1:
                continue  # the common case: a brand-new id, first and latest
            versions = [r["version"] for r in batch]
            newest = max(versions + list(stored or ()))
            oldest = min(versions + list(stored or ()))
            for r in batch:
                r["is_latest"] = r["version"] == newest
                r["is_first"] = r["version"] == oldest
            if stored and newest not in stored:
                clear_latest.append({"c": collection_id, "o": obj_id})
            if stored and oldest not in stored:
                clear_first.append({"c": collection_id, "o": obj_id})
        for flag, params in ((objects.c.is_latest, clear_latest), (objects.c.is_first, clear_first)):
            if params:
                conn.execute(update(objects).where(objects.c.collection_id == bindparam("c"),
                                                   objects.c.object_id == bindparam("o"), flag == true())
                             .values({flag.name: False}), params)

    def delete_object(self, collection_id: str, object_id: str, flt: ObjectFilter) -> int:
        conds = [objects.c.collection_id == collection_id, objects.c.object_id == object_id]
        conds += _version_conditions(flt.versions)
        if flt.spec_versions:
            conds.append(objects.c.spec_version.in_(flt.spec_versions))
        with self._write(objects_lock=True) as conn:
            deleted = conn.execute(delete(objects).where(*conds)).rowcount
            if deleted:
                remaining = conn.execute(select(objects.c.id, objects.c.version).where(
                    objects.c.collection_id == collection_id, objects.c.object_id == object_id)).all()
                if remaining:
                    newest = max(remaining, key=lambda r: r.version).id
                    oldest = min(remaining, key=lambda r: r.version).id
                    conn.execute(update(objects).where(objects.c.collection_id == collection_id,
                                                       objects.c.object_id == object_id)
                                 .values(is_latest=objects.c.id == newest, is_first=objects.c.id == oldest))
        return deleted

    # -- objects: reads -------------------------------------------------------------------
    def get_objects(self, collection_id: str, flt: ObjectFilter, limit: int, cursor: str | None = None) -> Page:
        conds = self._listing_conditions(collection_id, flt, cursor)
        rows, more = self._page_rows(select(objects.c.id, objects.c.date_added, objects.c.body), conds, limit)
        return _page([r.body for r in rows], rows, more)

    def get_manifest(self, collection_id: str, flt: ObjectFilter, limit: int, cursor: str | None = None) -> Page:
        conds = self._listing_conditions(collection_id, flt, cursor)
        cols = select(objects.c.id, objects.c.date_added, objects.c.object_id, objects.c.version,
                      objects.c.spec_version)  # never the body
        rows, more = self._page_rows(cols, conds, limit)
        items = [{"id": r.object_id, "date_added": format_micros(r.date_added), "version": r.version,
                  "media_type": MEDIA_TYPE + r.spec_version} for r in rows]
        return _page(items, rows, more)

    def get_versions(self, collection_id: str, object_id: str, flt: ObjectFilter, limit: int,
                     cursor: str | None = None) -> Page:
        conds = [objects.c.collection_id == collection_id, objects.c.object_id == object_id]
        if flt.added_after is not None:
            conds.append(objects.c.date_added > to_micros(flt.added_after))
        if flt.spec_versions:
            conds.append(objects.c.spec_version.in_(flt.spec_versions))
        conds += _cursor_conditions(cursor)
        rows, more = self._page_rows(select(objects.c.id, objects.c.date_added, objects.c.version), conds, limit)
        return _page([r.version for r in rows], rows, more)

    def count_objects(self, collection_id: str) -> int:
        with self._read() as conn:
            return conn.execute(select(func.count()).select_from(objects)
                                .where(objects.c.collection_id == collection_id)).scalar_one()

    def _listing_conditions(self, collection_id: str, flt: ObjectFilter, cursor: str | None) -> list:
        conds = [objects.c.collection_id == collection_id]
        if flt.added_after is not None:
            conds.append(objects.c.date_added > to_micros(flt.added_after))
        if flt.ids:
            conds.append(objects.c.object_id.in_(flt.ids))
        if flt.types:
            conds.append(objects.c.object_type.in_(flt.types))
        conds += _version_conditions(flt.versions)
        if flt.spec_versions:
            conds.append(objects.c.spec_version.in_(flt.spec_versions))
        return conds + _cursor_conditions(cursor)

    def _page_rows(self, columns, conds: list, limit: int) -> tuple[list, bool]:
        """At most `limit` rows in (date_added, id) order, and whether another one follows."""
        if not isinstance(limit, int) or limit < 1:
            raise InvalidArgument("limit must be a positive integer")
        stmt = columns.where(*conds).order_by(objects.c.date_added, objects.c.id).limit(limit + 1)
        with self._read() as conn:
            rows = conn.execute(stmt).all()
        return rows[:limit], len(rows) > limit

    def save_status(self, status: dict) -> None:
        status_id = status.get("id") if isinstance(status, dict) else None
        _check_text(status_id, "status id", 100)
        body = orjson.dumps(status).decode()
        stmt = self._insert(statuses).values(id=status_id, json=body)
        with self._write() as conn:
            conn.execute(stmt.on_conflict_do_update(index_elements=["id"], set_={"json": body}))

    def get_status(self, status_id: str) -> dict | None:
        with self._read() as conn:
            body = conn.execute(select(statuses.c.json).where(statuses.c.id == status_id)).scalar_one_or_none()
        return orjson.loads(body) if body is not None else None


# -- listing helpers ----------------------------------------------------------------------

def _version_conditions(versions: tuple[str, ...]) -> list:
    """match[version]: "last", "first", "all" and timestamps, OR-ed together."""
    versions = versions or ("last",)
    if "all" in versions:
        return []
    alternatives = []
    if "last" in versions:
        alternatives.append(objects.c.is_latest == true())
    if "first" in versions:
        alternatives.append(objects.c.is_first == true())
    stamps = [v for v in versions if v not in ("last", "first")]
    if stamps:
        normalised = [normalise_timestamp(v) for v in stamps]
        if None in normalised:
            raise InvalidArgument("match[version] holds something that is not a timestamp")
        alternatives.append(objects.c.version.in_(normalised))
    return [alternatives[0] if len(alternatives) == 1 else or_(*alternatives)]


def _cursor_conditions(cursor: str | None) -> list:
    """Rows after the cursor's (date_added, id). Spelled so that the date_added bound is a plain
    range an index can seek to (row-value comparisons are not used by every planner)."""
    if cursor is None:
        return []
    date_added, row_id = decode_cursor(cursor)
    return [objects.c.date_added >= date_added,
            or_(objects.c.date_added > date_added, objects.c.id > row_id)]


def _page(items: list, rows: list, more: bool) -> Page:
    return Page(items=items, more=more,
                next=encode_cursor(rows[-1].date_added, rows[-1].id) if more else None,
                first_added=format_micros(rows[0].date_added) if rows else None,
                last_added=format_micros(rows[-1].date_added) if rows else None)

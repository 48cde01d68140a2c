"""`SqlStore`: the hub's `Store` over SQLAlchemy 2 Core, on SQLite (embedded) or PostgreSQL.

Concurrency model. Object writers are serialised (PostgreSQL: a transaction-scoped advisory
lock; SQLite: BEGIN IMMEDIATE, the single write lock), and each batch takes date_added values
above every value already stored. Hence commit order equals date_added order, and a reader
paging by (date_added, id) can never be passed by a row that commits later with a smaller
position: new rows always appear after the reader's cursor. Reads take no locks.
"""
from __future__ import annotations

import hashlib
import hmac
import logging
import re
import secrets
import threading
import uuid
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
import time
from typing import Iterator, Sequence

import orjson
from sqlalchemy import Text, and_, any_, bindparam, delete, func, or_, select, text, true, update
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from . import schema
from .base import (ORG_TYPES, READ_ROLES, ROLES, TLP_LEVELS, Access, AddResult, Agreement, ApiKey, Collection,
                   Conflict, NotFound, ObjectFilter, Org, Page, Principal, Store, StoreError)
from .cursor import decode_cursor, encode_cursor
from .sql_review import SubmissionsMixin
from .schema import agreements, api_keys, collections, grants, objects, orgs, statuses

# pg_advisory_xact_lock key held by every transaction that changes `objects` ("hub_objs").
PG_OBJECTS_LOCK = 0x6875625F6F626A73
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


class InvalidArgument(StoreError, ValueError):
    """An argument outside its allowed values (role, organisation type, TLP, filter, limit)."""


# -- timestamps ----------------------------------------------------------------------------

_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_MICROSECOND = timedelta(microseconds=1)
_STIX_TIMESTAMP = re.compile(r"(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(?:\.(\d{1,9}))?Z")


def to_micros(moment: datetime) -> int:
    """Microseconds since the epoch; a naive datetime is taken as UTC."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return (moment - _EPOCH) // _MICROSECOND


def format_micros(micros: int) -> str:
    """YYYY-MM-DDTHH:MM:SS.ffffffZ (the TAXII date_added form)."""
    return (_EPOCH + timedelta(microseconds=micros)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def normalise_timestamp(value: object) -> str | None:
    """A STIX timestamp at exactly microsecond precision (so string order is time order), or
    None if it is not one. Finer digits are truncated: the columns hold microseconds."""
    if not isinstance(value, str):
        return None
    match = _STIX_TIMESTAMP.fullmatch(value)
    if not match:
        return None
    year, month, day, hour, minute, second, fraction = match.groups()
    try:  # rejects month 13, February 30, hour 24 and the like
        datetime(int(year), int(month), int(day), int(hour), int(minute), int(second))
    except ValueError:
        return None
    return f"{value[:19]}.{(fraction or '')[:6].ljust(6, '0')}Z"


# -- object validation ---------------------------------------------------------------------

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


# -- the store -----------------------------------------------------------------------------

class SqlStore(SubmissionsMixin, Store):
    """The hub store over a pooled SQLAlchemy engine (see `hub.store.open_store`)."""

    def __init__(self, engine: Engine):
        self.engine = engine
        self._pg = engine.dialect.name == "postgresql"
        self._insert = pg_insert if self._pg else sqlite_insert
        # Every read is a single statement, so on PostgreSQL it runs in autocommit mode: that
        # saves the BEGIN and ROLLBACK round trips of an explicit transaction (same pool).
        self._read_engine = engine.execution_options(isolation_level="AUTOCOMMIT") if self._pg else engine
        # A digest to compare against when the key id is unknown, so that case costs the same.
        self._dummy_digest = hashlib.sha256(secrets.token_bytes(32)).hexdigest()
        self._stats_lock = threading.Lock()
        self._inserted_since_analyze = 0
        self._analyze_after = ANALYZE_FIRST

    def close(self) -> None:
        """Close every pooled connection (the store must not be used afterwards)."""
        self.engine.dispose()

    # -- transactions ----------------------------------------------------------------
    @contextmanager
    def _read(self) -> Iterator[Connection]:
        with self._read_engine.connect() as conn:
            yield conn

    @contextmanager
    def _write(self, *, objects_lock: bool = False) -> Iterator[Connection]:
        """One write transaction; commits on success. `objects_lock` serialises it with every
        other object writer (SQLite's BEGIN IMMEDIATE serialises all writers anyway)."""
        with self.engine.connect() as conn:
            conn.execution_options(hub_write=True)  # read by the SQLite "begin" listener
            with conn.begin():
                if objects_lock and self._pg:
                    conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": PG_OBJECTS_LOCK})
                yield conn

    # -- schema ----------------------------------------------------------------------
    def migrate(self) -> int:
        return schema.migrate(self.engine, self._write)

    # -- organisations and keys --------------------------------------------------------
    def add_org(self, name: str, org_type: str, sector: str | None = None, region: str | None = None) -> Org:
        _check_text(name, "organisation name", 200)
        sector = sector if sector and sector.strip() else None  # blank means not given
        region = region if region and region.strip() else None
        _check_text(sector, "sector", 200, optional=True)
        _check_text(region, "region", 200, optional=True)
        if org_type not in ORG_TYPES:
            raise InvalidArgument(f"organisation type must be one of {', '.join(ORG_TYPES)}")
        try:
            with self._write() as conn:
                conn.execute(orgs.insert().values(name=name, type=org_type, sector=sector, region=region))
        except IntegrityError:
            raise Conflict("an organisation with that name already exists") from None
        return Org(name, org_type, sector, region)

    def get_org(self, name: str) -> Org | None:
        with self._read() as conn:
            row = conn.execute(select(orgs).where(orgs.c.name == name)).first()
        return _org(row) if row else None

    def list_orgs(self) -> list[Org]:
        with self._read() as conn:
            rows = conn.execute(select(orgs).order_by(orgs.c.name)).all()
        return [_org(r) for r in rows]

    def create_key(self, org: str, role: str) -> tuple[ApiKey, str]:
        if role not in ROLES:
            raise InvalidArgument(f"role must be one of {', '.join(ROLES)}")
        key_id = "hk_" + secrets.token_hex(8)
        secret = secrets.token_urlsafe(32)
        created = format_micros(to_micros(datetime.now(timezone.utc)))
        with self._write() as conn:
            if conn.execute(select(orgs.c.name).where(orgs.c.name == org)).first() is None:
                raise NotFound("no such organisation")
            # SHA-256 suffices: the secret is 256 random bits, so there is nothing to brute-force;
            # slow password hashes only help low-entropy human passwords.
            conn.execute(api_keys.insert().values(key_id=key_id, org=org, role=role, digest=_digest(secret),
                                                  created=created, revoked=False))
        return ApiKey(key_id, org, role, created, False), secret

    def authenticate(self, key_id: str, secret: str) -> Principal | None:
        if not isinstance(key_id, str) or not isinstance(secret, str):
            return None
        computed = _digest(secret)
        # One indexed lookup, no cache: a revocation is seen by the very next request.
        with self._read() as conn:
            row = conn.execute(
                select(api_keys.c.org, api_keys.c.role, api_keys.c.digest, api_keys.c.revoked,
                       orgs.c.type.label("org_type"))
                .select_from(api_keys.outerjoin(orgs, orgs.c.name == api_keys.c.org))
                .where(api_keys.c.key_id == key_id)).first()
        # Compare in every case (unknown id included) so timing does not tell the cases apart.
        matches = hmac.compare_digest(row.digest if row else self._dummy_digest, computed)
        if row is None or not matches or row.revoked or row.org_type is None:
            return None
        return Principal(key_id, row.org, row.role, row.org_type)

    def revoke_key(self, key_id: str) -> None:
        with self._write() as conn:
            done = conn.execute(update(api_keys).where(api_keys.c.key_id == key_id).values(revoked=True))
            if done.rowcount == 0:
                raise NotFound("no such key")

    def list_keys(self) -> list[ApiKey]:
        with self._read() as conn:
            rows = conn.execute(select(api_keys.c.key_id, api_keys.c.org, api_keys.c.role, api_keys.c.created,
                                       api_keys.c.revoked)
                                .order_by(api_keys.c.org, api_keys.c.created, api_keys.c.key_id)).all()
        return [ApiKey(r.key_id, r.org, r.role, r.created, bool(r.revoked)) for r in rows]

    # -- collections and grants ---------------------------------------------------------
    def add_collection(self, title: str, tlp: str | None, description: str = "",
                       collection_id: str | None = None) -> Collection:
        _check_text(title, "collection title", 200)
        if tlp is not None and tlp not in TLP_LEVELS:
            raise InvalidArgument(f"TLP must be one of {', '.join(TLP_LEVELS)} or none")
        if collection_id is None:
            collection_id = str(uuid.uuid4())
        else:  # TAXII collection ids are UUIDs; keep the canonical spelling
            try:
                collection_id = str(uuid.UUID(collection_id))
            except (TypeError, ValueError, AttributeError):
                raise InvalidArgument("a collection id must be a UUID") from None
        coll = Collection(collection_id, title, description or "", tlp)
        try:
            with self._write() as conn:
                conn.execute(collections.insert().values(id=coll.id, title=coll.title,
                                                         description=coll.description, tlp=coll.tlp))
        except IntegrityError:
            raise Conflict("a collection with that title or id already exists") from None
        return coll

    def list_collections(self) -> list[Collection]:
        with self._read() as conn:
            rows = conn.execute(select(collections).order_by(collections.c.title)).all()
        return [_collection(r) for r in rows]

    def find_collection(self, id_or_title: str) -> Collection | None:
        with self._read() as conn:
            rows = conn.execute(select(collections).where(
                or_(collections.c.id == id_or_title, collections.c.title == id_or_title))).all()
        if not rows:
            return None
        row = next((r for r in rows if r.id == id_or_title), rows[0])  # an id match wins
        return _collection(row)

    def set_grant(self, org: str, collection_id: str, *, read: bool | None = None,
                  write: bool | None = None) -> None:
        with self._write() as conn:
            if conn.execute(select(orgs.c.name).where(orgs.c.name == org)).first() is None:
                raise NotFound("no such organisation")
            if conn.execute(select(collections.c.id).where(collections.c.id == collection_id)).first() is None:
                raise NotFound("no such collection")
            changes = {k: bool(v) for k, v in (("can_read", read), ("can_write", write)) if v is not None}
            if not changes:
                return
            stmt = self._insert(grants).values(org=org, collection_id=collection_id,
                                               can_read=bool(read), can_write=bool(write))
            conn.execute(stmt.on_conflict_do_update(index_elements=["org", "collection_id"], set_=changes))

    def access(self, principal: Principal, collection: Collection) -> Access:
        if collection.inbox_of is not None:
            # A CSIRT's inbox: its own submitters push, nobody reads (writes become submissions).
            return Access(False, principal.org == collection.inbox_of and principal.role in ("submitter", "admin"))
        if principal.role == "admin" and principal.org_type == "operator":
            return Access(True, True)
        with self._read() as conn:
            row = conn.execute(
                select(orgs.c.name, grants.c.can_read, grants.c.can_write)
                .select_from(orgs.outerjoin(grants, and_(grants.c.org == orgs.c.name,
                                                         grants.c.collection_id == collection.id)))
                .where(orgs.c.name == principal.org)).first()
        member = row is not None
        granted_read = bool(row and row.can_read)
        granted_write = bool(row and row.can_write)
        if collection.tlp == "clear":
            default_read = True
        elif collection.tlp == "green":
            default_read = member
        else:  # amber, amber+strict, or no TLP (an inbox): explicit grants only
            default_read = False
        can_read = principal.role in READ_ROLES and (default_read or granted_read)
        return Access(can_read=can_read, can_write=granted_write)

    # -- objects: writes ----------------------------------------------------------------
    def add_objects(self, collection_id: str, objects_in: list[dict], now: datetime | None = None) -> AddResult:
        result = AddResult()
        prepared = []
        # Validation and serialisation happen before the write lock is taken.
        for n, obj in enumerate(objects_in, 1):
            item, failure = _prepare(obj, n)
            if failure:
                result.failures.append(failure)
            else:
                prepared.append(item)
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
            if self._inserted_since_analyze < self._analyze_after:
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

    # -- TAXII status resources -----------------------------------------------------------
    # -- NDA agreements ----------------------------------------------------------------
    def add_agreement(self, agreement: Agreement) -> Agreement:
        _check_text(agreement.victim_ref, "victim_ref", 200)
        with self._write() as conn:
            if conn.execute(select(orgs.c.name).where(orgs.c.name == agreement.org)).first() is None:
                raise NotFound("no such organisation")
            if self._agreement_row(conn, agreement.org, agreement.victim_ref) is not None:
                raise Conflict("that organisation already has an agreement for this reference")
            conn.execute(agreements.insert().values(
                org=agreement.org, victim_ref=agreement.victim_ref, signed_on=agreement.signed_on,
                expires=agreement.expires, clauses=",".join(agreement.clauses),
                withdrawn_on=agreement.withdrawn_on, created=time.time_ns() // 1000))
        return agreement

    def list_agreements(self, org: str | None = None) -> list[Agreement]:
        query = select(agreements).order_by(agreements.c.org, agreements.c.victim_ref)
        if org is not None:
            query = query.where(agreements.c.org == org)
        with self._read() as conn:
            return [_agreement(r) for r in conn.execute(query)]

    def get_agreement(self, org: str, victim_ref: str) -> Agreement | None:
        with self._read() as conn:
            row = self._agreement_row(conn, org, victim_ref)
        return _agreement(row) if row is not None else None

    def withdraw_agreement(self, org: str, victim_ref: str, on: str) -> Agreement:
        with self._write() as conn:
            if self._agreement_row(conn, org, victim_ref) is None:
                raise NotFound("no such agreement")
            conn.execute(agreements.update().where(agreements.c.org == org, agreements.c.victim_ref == victim_ref)
                         .values(withdrawn_on=on))
            return _agreement(self._agreement_row(conn, org, victim_ref))

    @staticmethod
    def _agreement_row(conn: Connection, org: str, victim_ref: str):
        return conn.execute(select(agreements).where(agreements.c.org == org,
                                                     agreements.c.victim_ref == victim_ref)).first()

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


# -- helpers -------------------------------------------------------------------------------

def _org(row) -> Org:
    return Org(row.name, row.type, row.sector, row.region, bool(row.auto_publish))


def _collection(row) -> Collection:
    return Collection(row.id, row.title, row.description, row.tlp, row.inbox_of)


def _agreement(row) -> Agreement:
    return Agreement(org=row.org, victim_ref=row.victim_ref, signed_on=row.signed_on, expires=row.expires,
                     clauses=tuple(c for c in row.clauses.split(",") if c), withdrawn_on=row.withdrawn_on)


def _check_text(value: object, what: str, max_length: int, optional: bool = False) -> None:
    """A non-blank string that fits its column (PostgreSQL would refuse a longer one)."""
    if value is None and optional:
        return
    if not isinstance(value, str) or not value.strip():
        raise InvalidArgument(f"{what} must be a non-empty string")
    if len(value) > max_length:
        raise InvalidArgument(f"{what} is longer than {max_length} characters")


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()


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

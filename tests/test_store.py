"""The storage contract (`hub.store.base.Store`), run against both backends on real databases:
SQLite (a temporary file per test) and PostgreSQL (one database created for this test run on
127.0.0.1:5432 from the `test` database, emptied before each test and dropped at the end;
$HUB_TEST_PG or $HUB_TEST_PG_URL names another admin URL whose user may CREATE DATABASE).
The PostgreSQL half fails, rather than skips, when no server answers; HUB_TEST_SKIP_PG=1
leaves it out deliberately on a machine without one.
"""
from __future__ import annotations

import getpass
import json
import hashlib
import multiprocessing
import os
import re
import secrets
import threading
import uuid
from base64 import urlsafe_b64encode
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import create_engine, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from hub.store import (Access, BadCursor, Conflict, InvalidArgument, NotFound, ObjectFilter, Principal, Publication,
                       open_store)
from hub.store.cursor import decode_cursor, encode_cursor
from hub.store.schema import api_keys, objects, schema_version

_PG_ENV = os.environ.get("HUB_TEST_PG") or os.environ.get("HUB_TEST_PG_URL")  # same variable as test_taxii
PG_ADMIN_URLS = [re.sub(r"^postgresql://", "postgresql+psycopg://", _PG_ENV or "")
                 or "postgresql+psycopg://postgres@127.0.0.1:5432/test",
                 f"postgresql+psycopg://{getpass.getuser()}@127.0.0.1:5432/test"]
DATA_TABLES = "objects, grants, api_keys, statuses, collections, orgs, audit_log, audit_checkpoints"
T0 = datetime(2025, 4, 1, 12, 0, tzinfo=timezone.utc)
MEDIA = "application/stix+json;version=2.1"


# -- backends ------------------------------------------------------------------------------

@pytest.fixture(scope="session")
def pg_url():
    """The URL of a database created for this run (and dropped after it) on the server."""
    if os.environ.get("HUB_TEST_SKIP_PG") == "1":
        pytest.skip("HUB_TEST_SKIP_PG=1")
    admin = None
    for candidate in PG_ADMIN_URLS:
        engine = create_engine(candidate, isolation_level="AUTOCOMMIT")
        try:
            with engine.connect() as conn:
                conn.execute(text("SELECT 1"))
            admin = engine
            break
        except OperationalError:
            engine.dispose()
    if admin is None:
        pytest.fail("no PostgreSQL on 127.0.0.1:5432 (tried users postgres and the current user); "
                    "start one, set HUB_TEST_PG_URL, or set HUB_TEST_SKIP_PG=1")
    name = f"hub_store_test_{os.getpid()}_{secrets.token_hex(4)}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield admin.url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@dataclass
class Backend:
    """Where one test's store lives; `open()` gives further, independent stores on it (as another
    worker process would have), all closed at the end of the test."""

    name: str
    url: str
    opened: list = field(default_factory=list)

    def open(self):
        store = open_store(self.url)
        store.migrate()
        self.opened.append(store)
        return store

    def close_all(self):
        for store in self.opened:
            store.close()


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request, tmp_path):
    if request.param == "sqlite":
        b = Backend("sqlite", f"sqlite:///{tmp_path / 'hub.sqlite3'}")
    else:
        b = Backend("postgresql", request.getfixturevalue("pg_url"))
    try:
        store = b.open()
        if b.name == "postgresql":  # one database per run: start each test from empty tables
            with store.engine.begin() as conn:
                conn.execute(text(f"TRUNCATE {DATA_TABLES} RESTART IDENTITY CASCADE"))
        yield b
    finally:
        b.close_all()


@pytest.fixture
def store(backend):
    return backend.opened[0]


# -- helpers -------------------------------------------------------------------------------

def sid(obj_type: str, n: int) -> str:
    return f"{obj_type}--{uuid.UUID(int=n, version=4)}"


def sdo(n: int, obj_type: str = "indicator", modified: str = "2025-03-18T09:00:00.000Z", **extra) -> dict:
    return {"type": obj_type, "spec_version": "2.1", "id": sid(obj_type, n),
            "created": "2025-01-01T00:00:00.000Z", "modified": modified, "name": f"object {n}", **extra}


def sco(n: int, value: str) -> dict:
    return {"type": "ipv4-addr", "spec_version": "2.1", "id": sid("ipv4-addr", n), "value": value}


def ids_of(page) -> list[str]:
    return [orjson.loads(body)["id"] for body in page.items]


def collect(fetch, limit: int, flt: ObjectFilter = ObjectFilter(versions=("all",))) -> list:
    """Every item of a listing, page by page."""
    items, cursor = [], None
    while True:
        page = fetch(flt, limit, cursor)
        items += page.items
        if not page.more:
            assert page.next is None
            return items
        assert page.next and len(page.items) == limit
        cursor = page.next


def principal(store, org: str, role: str) -> Principal:
    key, secret = store.create_key(org, role)
    found = store.authenticate(key.key_id, secret)
    assert found is not None
    return found


def flags(store, collection_id: str, object_id: str) -> dict[str, tuple[bool, bool]]:
    """version -> (is_latest, is_first), read straight from the table."""
    with store.engine.connect() as conn:
        rows = conn.execute(select(objects.c.version, objects.c.is_latest, objects.c.is_first).where(
            objects.c.collection_id == collection_id, objects.c.object_id == object_id)).all()
    return {r.version: (bool(r.is_latest), bool(r.is_first)) for r in rows}


def ts(micros_after_t0: int = 0) -> str:
    return (T0 + timedelta(microseconds=micros_after_t0)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


# -- schema --------------------------------------------------------------------------------

def test_migrate_is_idempotent(store):
    from hub.store.schema import LATEST, MIGRATIONS

    assert store.migrate() == LATEST
    assert store.migrate() == LATEST
    with store.engine.connect() as conn:
        assert conn.execute(select(schema_version.c.version)).scalars().all() == [m[0] for m in MIGRATIONS]


def test_migration_4_takes_member_write_grants_off_tlp_collections_and_audits_it(store):
    """Issue 12: a database from before has a member's write grant on a TLP collection; the
    migration removes it (read kept), leaves the operator's alone, and audits each removal
    in the chain."""
    from sqlalchemy import text as sql_text

    from hub.services.audit import verify

    store.add_org("hub-operator", "operator")
    store.add_org("csirt-w", "csirt")
    green = store.add_collection("TLP:GREEN", "green")
    store.add_collection("TLP:AMBER", "amber")
    store.set_grant("csirt-w", green.id, read=True, write=True)
    store.set_grant("hub-operator", green.id, write=True)
    store.append_audit("cli", "org-add", "csirt-w", {})
    with store.engine.begin() as conn:
        conn.execute(sql_text("DELETE FROM schema_version WHERE version > 3"))
    store.migrate()
    member = store.access(Principal("k", "csirt-w", "consumer", "csirt"), green)
    assert (member.can_read, member.can_write) == (True, False)
    entries = store.list_audit()
    assert [(e.actor, e.action, e.subject) for e in entries] == [("cli", "org-add", "csirt-w"),
                                                                  ("migration", "revoke-grant", "csirt-w")]
    assert json.loads(entries[1].details)["collection"] == green.id
    assert verify(entries) == (2, None)
    store.migrate()  # idempotent: nothing more to remove, nothing more audited
    assert len(store.list_audit()) == 2


def test_audit_head_is_the_latest_entry(store):
    assert store.audit_head() is None
    store.append_audit("cli", "org-add", "a", {})
    last = store.append_audit("cli", "org-add", "b", {})
    assert store.audit_head() == last
    with store.transaction():  # inside a unit of work: as of it
        mine = store.append_audit("cli", "key-create", "k", {})
        assert store.audit_head() == mine


def test_add_publication_is_stored_and_rolls_back_with_its_unit_of_work(store):
    coll = store.add_collection("TLP:GREEN", "green")
    pub = Publication("pub_x1", "", coll.id, "2025-01-01T00:00:00.000000Z", '{"id":"pub_x1"}', "sig", "key")
    with pytest.raises(RuntimeError):
        with store.transaction():
            store.add_publication(pub)
            raise RuntimeError("abort")
    assert store.get_publication("pub_x1") is None
    with store.transaction():
        store.add_publication(pub)
    assert store.get_publication("pub_x1") == pub


def test_a_version_1_database_is_upgraded(store):
    """A database an older release created gets the steps it lacks (agreements; submissions,
    profiles, publications, audit log, auto-publish and inbox columns)."""
    from sqlalchemy import inspect, text as sql_text

    from hub.store.schema import LATEST

    store.add_org("old-csirt", "csirt")
    with store.engine.begin() as conn:
        for table in ("agreements", "submissions", "profiles", "publications", "audit_log", "corr_reports"):
            conn.execute(sql_text(f"DROP TABLE {table}"))
        conn.execute(sql_text("ALTER TABLE orgs DROP COLUMN auto_publish"))
        conn.execute(sql_text("ALTER TABLE collections DROP COLUMN inbox_of"))
        conn.execute(sql_text("DELETE FROM schema_version WHERE version > 1"))
    assert store.migrate() == LATEST
    with store.engine.connect() as conn:
        tables = inspect(conn).get_table_names()
        assert {"agreements", "submissions", "profiles", "publications", "audit_log", "corr_reports"} <= set(tables)
        assert "inbox_of" in {c["name"] for c in inspect(conn).get_columns("collections")}
    # Rows from before the upgrade read back with the new defaults.
    assert store.get_org("old-csirt").auto_publish is False
    assert store.add_inbox("old-csirt").inbox_of == "old-csirt"


def test_concurrent_migrations_of_an_empty_database(backend, tmp_path):
    """Several workers starting at once: one creates the schema, the others find it done."""
    if backend.name == "sqlite":
        url = f"sqlite:///{tmp_path / 'fresh.sqlite3'}"
    else:
        schema = f"fresh_{secrets.token_hex(4)}"
        with backend.opened[0].engine.begin() as conn:
            conn.execute(text(f"CREATE SCHEMA {schema}"))
        url = make_url(backend.url).update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(
            hide_password=False)
    stores = [open_store(url) for _ in range(4)]
    results, errors = [], []

    def run(s):
        try:
            results.append(s.migrate())
        except Exception as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(s,)) for s in stores]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    try:
        from hub.store.schema import LATEST, MIGRATIONS

        assert not errors and results == [LATEST] * 4
        with stores[0].engine.connect() as conn:
            assert conn.execute(select(schema_version.c.version)).scalars().all() == [m[0] for m in MIGRATIONS]
        stores[0].add_org("o", "peer")  # the tables exist where that store looks
    finally:
        for s in stores:
            s.close()
        if backend.name == "postgresql":
            with backend.opened[0].engine.begin() as conn:
                conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))


# -- organisations and keys ----------------------------------------------------------------

def test_orgs(store):
    org = store.add_org("CSIRT-B", "csirt", "manufacturing", "JP")
    store.add_org("Alpha", "peer")
    assert store.get_org("CSIRT-B") == org
    assert store.get_org("nobody") is None
    assert [o.name for o in store.list_orgs()] == ["Alpha", "CSIRT-B"]
    with pytest.raises(Conflict):
        store.add_org("Alpha", "operator")
    with pytest.raises(InvalidArgument):
        store.add_org("Gamma", "vendor")
    with pytest.raises(ValueError):  # InvalidArgument is a ValueError as well as a StoreError
        store.add_org("", "peer")


def test_keys_authenticate_and_store_only_a_digest(store):
    store.add_org("CSIRT-B", "csirt")
    key, secret = store.create_key("CSIRT-B", "analyst")
    assert re.fullmatch(r"hk_[0-9a-f]{16}", key.key_id)
    assert len(secret) >= 43 and not key.revoked
    assert store.authenticate(key.key_id, secret) == Principal(key.key_id, "CSIRT-B", "analyst", "csirt")
    assert store.authenticate(key.key_id, secret + "x") is None        # wrong secret
    assert store.authenticate(key.key_id, "") is None
    assert store.authenticate("hk_0000000000000000", secret) is None    # unknown key id
    assert store.authenticate(None, secret) is None

    with store.engine.connect() as conn:
        row = conn.execute(select(api_keys).where(api_keys.c.key_id == key.key_id)).one()
    assert row.digest == hashlib.sha256(secret.encode()).hexdigest()
    assert all(secret not in str(value) for value in row)
    assert [k.key_id for k in store.list_keys()] == [key.key_id]
    assert "secret" not in key.__dict__ and "digest" not in key.__dict__

    with pytest.raises(NotFound):
        store.create_key("nobody", "analyst")
    with pytest.raises(InvalidArgument):
        store.create_key("CSIRT-B", "root")
    with pytest.raises(NotFound):
        store.revoke_key("hk_0000000000000000")


def test_revocation_takes_effect_at_once_everywhere(backend, store):
    store.add_org("CSIRT-B", "csirt")
    key, secret = store.create_key("CSIRT-B", "consumer")
    other_worker = backend.open()
    assert other_worker.authenticate(key.key_id, secret) is not None
    store.revoke_key(key.key_id)
    assert other_worker.authenticate(key.key_id, secret) is None   # no cached lookup
    assert store.authenticate(key.key_id, secret) is None
    assert store.list_keys()[0].revoked


# -- collections, grants and access --------------------------------------------------------

def test_collections(store):
    green = store.add_collection("Green feed", "green", "published")
    uuid.UUID(green.id, version=4)
    inbox = store.add_collection("Inbox", None, collection_id="0a0a0a0a-0000-4000-8000-000000000001")
    assert inbox.id == "0a0a0a0a-0000-4000-8000-000000000001" and inbox.tlp is None
    assert store.find_collection(green.id) == green
    assert store.find_collection("Green feed") == green
    assert store.find_collection("green feed") is None   # exact match only
    assert [c.title for c in store.list_collections()] == ["Green feed", "Inbox"]
    with pytest.raises(Conflict):
        store.add_collection("Inbox", "clear")
    with pytest.raises(InvalidArgument):
        store.add_collection("Red", "red")


def expected_access(tlp, role, member, grant_read, grant_write, operator_admin):
    """The product rules, written out independently of the implementation."""
    if operator_admin:
        return Access(True, True)
    default = {"clear": True, "green": member, "amber": False, "amber+strict": False, None: False}[tlp]
    return Access(can_read=role in ("consumer", "analyst", "admin") and (default or grant_read),
                  can_write=grant_write)


def test_access_matrix(store):
    store.add_org("Operator", "operator")
    store.add_org("Member", "csirt")
    tlps = ["clear", "green", "amber", "amber+strict", None]
    grant_kinds = {"none": (False, False), "read": (True, False), "write": (False, True), "both": (True, True)}
    colls = {}
    for tlp in tlps:
        for kind, (read, write) in grant_kinds.items():
            coll = store.add_collection(f"{tlp}-{kind}", tlp)
            if read or write:
                store.set_grant("Member", coll.id, read=read, write=write)
            colls[(tlp, kind)] = coll
    checked = 0
    for role in ("submitter", "consumer", "analyst", "admin"):
        member = principal(store, "Member", role)
        operator = principal(store, "Operator", role)
        outsider = Principal("hk_ffffffffffffffff", "Unregistered", role, "peer")  # no such org
        for (tlp, kind), coll in colls.items():
            read, write = grant_kinds[kind]
            assert store.access(member, coll) == expected_access(tlp, role, True, read, write, False), \
                (role, tlp, kind)
            assert store.access(operator, coll) == expected_access(tlp, role, True, False, False, role == "admin")
            assert store.access(outsider, coll) == expected_access(tlp, role, False, False, False, False)
            checked += 3
    assert checked == 4 * 5 * 4 * 3


def test_set_grant_changes_only_what_is_given(store):
    store.add_org("Member", "csirt")
    coll = store.add_collection("Amber", "amber")
    who = principal(store, "Member", "analyst")
    store.set_grant("Member", coll.id, read=True)
    assert store.access(who, coll) == Access(True, False)
    store.set_grant("Member", coll.id, write=True)
    assert store.access(who, coll) == Access(True, True)
    store.set_grant("Member", coll.id, read=False)
    assert store.access(who, coll) == Access(False, True)
    store.set_grant("Member", coll.id)  # nothing given: nothing changes
    assert store.access(who, coll) == Access(False, True)
    with pytest.raises(NotFound):
        store.set_grant("nobody", coll.id, read=True)
    with pytest.raises(NotFound):
        store.set_grant("Member", str(uuid.uuid4()), read=True)


# -- adding objects ------------------------------------------------------------------------

@pytest.fixture
def coll(store):
    return store.add_collection("Feed", "green")


def test_add_duplicates_and_failures(store, coll):
    a, b = sdo(1), sdo(2, "malware")
    result = store.add_objects(coll.id, [a, b, dict(a)])
    assert result.added == [a["id"], b["id"]] and result.duplicates == [a["id"]] and not result.failures
    again = store.add_objects(coll.id, [b, sdo(3)])
    assert again.added == [sid("indicator", 3)] and again.duplicates == [b["id"]]
    assert store.count_objects(coll.id) == 3

    leak = "victim-secret.example"
    bad = [leak, {"id": sid("indicator", 9)}, {"type": "indicator", "id": leak},
           {"type": "malware", "id": sid("indicator", 9)}, {"type": "indicator", "id": sid("indicator", 9) + leak},
           sdo(10, modified=leak), sdo(11, spec_version=leak), sdo(12, blob=2**70), sdo(13)]
    result = store.add_objects(coll.id, bad)
    assert result.added == [sid("indicator", 13)]
    assert [key for key, _ in result.failures] == ["#1", "#2", "#3", "#4", "#5", sid("indicator", 10),
                                                  sid("indicator", 11), sid("indicator", 12)]
    assert all(leak not in message and "2361183241434822606848" not in message for _, message in result.failures)
    with pytest.raises(NotFound):
        store.add_objects(str(uuid.uuid4()), [sdo(1)])


def test_body_is_stored_as_serialised_and_timestamps_normalised(store, coll):
    obj = sdo(1, modified="2025-03-18T09:00:00.123456789Z", description="日本語 \u2028 text")
    store.add_objects(coll.id, [obj])
    page = store.get_objects(coll.id, ObjectFilter(), 10)
    assert page.items == [orjson.dumps(obj).decode()]
    assert store.get_versions(coll.id, obj["id"], ObjectFilter(), 10).items == ["2025-03-18T09:00:00.123456Z"]
    # The same instant spelt with fewer digits is the same version.
    same = store.add_objects(coll.id, [sdo(1, modified="2025-03-18T09:00:00.123456Z")])
    assert same.duplicates == [obj["id"]]
    short = store.add_objects(coll.id, [sdo(2, modified="2025-03-18T09:00:00Z"),
                                        sdo(2, modified="2025-03-18T09:00:00.000Z")])
    assert short.duplicates == [sid("indicator", 2)]


def test_new_versions_keep_latest_and_first(store, coll):
    oid = sid("indicator", 1)
    store.add_objects(coll.id, [sdo(1, modified="2025-03-02T00:00:00Z")])
    assert flags(store, coll.id, oid) == {"2025-03-02T00:00:00.000000Z": (True, True)}
    store.add_objects(coll.id, [sdo(1, modified="2025-03-03T00:00:00Z")])       # newer: latest
    store.add_objects(coll.id, [sdo(1, modified="2025-03-01T00:00:00Z")])       # older, late: first
    store.add_objects(coll.id, [sdo(1, modified="2025-03-05T00:00:00Z"),        # two in one batch
                                sdo(1, modified="2025-03-04T00:00:00Z"), sdo(2)])
    assert flags(store, coll.id, oid) == {
        "2025-03-01T00:00:00.000000Z": (False, True),
        "2025-03-02T00:00:00.000000Z": (False, False),
        "2025-03-03T00:00:00.000000Z": (False, False),
        "2025-03-04T00:00:00.000000Z": (False, False),
        "2025-03-05T00:00:00.000000Z": (True, False),
    }
    assert flags(store, coll.id, sid("indicator", 2)) == {"2025-03-18T09:00:00.000000Z": (True, True)}
    # The versions endpoint lists them in the order they arrived.
    assert store.get_versions(coll.id, oid, ObjectFilter(), 10).items == [
        "2025-03-02T00:00:00.000000Z", "2025-03-03T00:00:00.000000Z", "2025-03-01T00:00:00.000000Z",
        "2025-03-05T00:00:00.000000Z", "2025-03-04T00:00:00.000000Z"]


def test_objects_without_timestamps_are_versioned_by_date_added(store, coll):
    first = store.add_objects(coll.id, [sco(1, "192.0.2.1")], now=T0)
    assert first.added == [sid("ipv4-addr", 1)]
    manifest = store.get_manifest(coll.id, ObjectFilter(), 10)
    assert manifest.items == [{"id": sid("ipv4-addr", 1), "date_added": ts(), "version": ts(), "media_type": MEDIA}]
    again = store.add_objects(coll.id, [sco(1, "192.0.2.1"), sco(2, "192.0.2.2"), sco(2, "192.0.2.2")])
    assert again.duplicates == [sid("ipv4-addr", 1), sid("ipv4-addr", 2)] and again.added == [sid("ipv4-addr", 2)]


def test_date_added_grows_in_insertion_order_even_if_the_clock_goes_back(store, coll):
    store.add_objects(coll.id, [sdo(n) for n in range(1, 4)], now=T0)
    store.add_objects(coll.id, [sdo(n) for n in range(4, 6)], now=T0 - timedelta(days=1))
    other = store.add_collection("Other", "clear")
    store.add_objects(other.id, [sdo(6)], now=T0 - timedelta(days=2))
    entries = collect(lambda f, n, c: store.get_manifest(coll.id, f, n, c), 2)
    assert [e["id"] for e in entries] == [sid("indicator", n) for n in range(1, 6)]
    assert [e["date_added"] for e in entries] == [ts(n) for n in range(5)]
    # The store-wide clock never goes back either.
    assert store.get_manifest(other.id, ObjectFilter(), 1).items[0]["date_added"] == ts(5)


# -- filters -------------------------------------------------------------------------------

@pytest.fixture
def filled(store, coll):
    """Two batches at known times: indicators 1-3 (1 in three versions), malware 4, a 2.0 object."""
    store.add_objects(coll.id, [sdo(1, modified="2025-03-01T00:00:00Z"), sdo(2),
                                sdo(3, modified="2025-03-01T00:00:00Z"),
                                sdo(1, modified="2025-03-02T00:00:00Z")], now=T0)  # date_added T0+0..3
    store.add_objects(coll.id, [sdo(4, "malware"), sdo(1, modified="2025-03-03T00:00:00Z"),
                                sdo(5, "malware", spec_version="2.0")], now=T0 + timedelta(seconds=10))
    return coll


def listing(store, coll, **flt):
    return [(orjson.loads(b)["id"], orjson.loads(b)["modified"]) for b in
            collect(lambda f, n, c: store.get_objects(coll.id, f, n, c), 2, ObjectFilter(**flt))]


def short(pairs):
    """(id, modified) pairs as 'n@day' for readable assertions."""
    return [f"{int(i.rsplit('-', 1)[1])}@{m[8:10]}" for i, m in pairs]


def test_filters(store, filled):
    assert short(listing(store, filled)) == ["2@18", "3@01", "4@18", "1@03", "5@18"]               # last
    assert short(listing(store, filled, versions=("all",))) == ["1@01", "2@18", "3@01", "1@02", "4@18", "1@03",
                                                                "5@18"]
    assert short(listing(store, filled, versions=("first",))) == ["1@01", "2@18", "3@01", "4@18", "5@18"]
    assert short(listing(store, filled, versions=("first", "last"))) == ["1@01", "2@18", "3@01", "4@18", "1@03",
                                                                         "5@18"]
    assert short(listing(store, filled, versions=("2025-03-02T00:00:00.000Z",))) == ["1@02"]
    assert short(listing(store, filled, versions=("2025-03-01T00:00:00Z", "last"), ids=(sid("indicator", 1),))) \
        == ["1@01", "1@03"]
    assert short(listing(store, filled, added_after=T0 + timedelta(microseconds=2))) == ["4@18", "1@03", "5@18"]
    assert short(listing(store, filled, added_after=T0 + timedelta(microseconds=3), versions=("all",))) \
        == ["4@18", "1@03", "5@18"]
    assert short(listing(store, filled, types=("malware",))) == ["4@18", "5@18"]
    assert short(listing(store, filled, types=("malware", "indicator"), spec_versions=("2.1",))) \
        == ["2@18", "3@01", "4@18", "1@03"]
    assert short(listing(store, filled, spec_versions=("2.0",))) == ["5@18"]
    assert short(listing(store, filled, ids=(sid("indicator", 2), sid("malware", 4)), versions=("all",))) \
        == ["2@18", "4@18"]
    assert listing(store, filled, ids=(sid("indicator", 99),)) == []
    assert listing(store, filled, types=("tool",)) == []
    assert listing(store, filled, added_after=T0 + timedelta(days=1)) == []
    with pytest.raises(InvalidArgument):
        store.get_objects(filled.id, ObjectFilter(versions=("yesterday",)), 10)
    with pytest.raises(InvalidArgument):
        store.get_objects(filled.id, ObjectFilter(), 0)


def test_page_headers_are_this_pages_first_and_last_date_added(store, filled):
    page = store.get_objects(filled.id, ObjectFilter(versions=("all",)), 3)
    assert (page.first_added, page.last_added, page.more) == (ts(0), ts(2), True)
    page = store.get_objects(filled.id, ObjectFilter(versions=("all",)), 3, page.next)
    assert (page.first_added, page.last_added) == (ts(3), (T0 + timedelta(seconds=10, microseconds=1))
                                                   .strftime("%Y-%m-%dT%H:%M:%S.%fZ"))
    empty = store.get_objects(filled.id, ObjectFilter(types=("tool",)), 3)
    assert empty == type(empty)(items=[], more=False, next=None, first_added=None, last_added=None)


def test_manifest_uses_columns_only(store, filled):
    entries = collect(lambda f, n, c: store.get_manifest(filled.id, f, n, c), 3)
    assert entries[0] == {"id": sid("indicator", 1), "date_added": ts(0), "version": "2025-03-01T00:00:00.000000Z",
                          "media_type": MEDIA}
    assert entries[-1]["media_type"] == "application/stix+json;version=2.0"
    # Prove the bodies are never read: break them all; the manifest is unchanged, and the
    # objects endpoint serves the stored text as it is, without parsing it.
    with store.engine.begin() as conn:
        conn.execute(objects.update().values(body="{not json"))
    assert collect(lambda f, n, c: store.get_manifest(filled.id, f, n, c), 3) == entries
    assert store.get_objects(filled.id, ObjectFilter(), 2).items == ["{not json", "{not json"]


def test_versions(store, filled):
    oid = sid("indicator", 1)
    fetch = lambda f, n, c: store.get_versions(filled.id, oid, f, n, c)  # noqa: E731
    assert collect(fetch, 1) == ["2025-03-01T00:00:00.000000Z", "2025-03-02T00:00:00.000000Z",
                                 "2025-03-03T00:00:00.000000Z"]
    assert collect(fetch, 5, ObjectFilter(added_after=T0 + timedelta(microseconds=1))) == [
        "2025-03-02T00:00:00.000000Z", "2025-03-03T00:00:00.000000Z"]
    # match[version] does not restrict the versions endpoint; spec_version does.
    assert len(collect(fetch, 5, ObjectFilter(versions=("last",)))) == 3
    assert collect(fetch, 5, ObjectFilter(spec_versions=("2.0",))) == []
    assert store.get_versions(filled.id, sid("indicator", 99), ObjectFilter(), 5).items == []


def test_delete(store, filled):
    oid = sid("indicator", 1)
    assert store.delete_object(filled.id, oid, ObjectFilter(versions=("first",))) == 1
    assert flags(store, filled.id, oid) == {"2025-03-02T00:00:00.000000Z": (False, True),
                                            "2025-03-03T00:00:00.000000Z": (True, False)}
    assert store.delete_object(filled.id, oid, ObjectFilter(versions=("last",))) == 1
    assert flags(store, filled.id, oid) == {"2025-03-02T00:00:00.000000Z": (True, True)}
    assert store.delete_object(filled.id, oid, ObjectFilter(versions=("2025-03-09T00:00:00Z",))) == 0
    assert store.delete_object(filled.id, oid, ObjectFilter(versions=("all",), spec_versions=("2.0",))) == 0
    assert store.delete_object(filled.id, oid, ObjectFilter(versions=("2025-03-02T00:00:00.000Z",))) == 1
    assert flags(store, filled.id, oid) == {}
    assert store.delete_object(filled.id, sid("malware", 5), ObjectFilter(versions=("all",))) == 1
    assert store.delete_object(filled.id, sid("malware", 5), ObjectFilter(versions=("all",))) == 0
    assert store.count_objects(filled.id) == 3
    # A deleted version may come back; it is then the latest again.
    assert store.add_objects(filled.id, [sdo(1, modified="2025-03-03T00:00:00Z")]).added == [oid]
    assert flags(store, filled.id, oid) == {"2025-03-03T00:00:00.000000Z": (True, True)}


# -- paging --------------------------------------------------------------------------------

def test_paging_through_1000_objects(store, coll):
    objs = [sdo(n, "malware" if n % 3 else "indicator") for n in range(1000)]
    for start in range(0, 1000, 250):
        store.add_objects(coll.id, objs[start:start + 250])
    pages, cursor, seen = 0, None, []
    while True:
        page = store.get_objects(coll.id, ObjectFilter(), 37, cursor)
        pages += 1
        seen += ids_of(page)
        if not page.more:
            break
        cursor = page.next
    assert pages == 28 and seen == [o["id"] for o in objs]
    # A limit that divides the total: the last full page says there is no more.
    whole = store.get_objects(coll.id, ObjectFilter(), 1000)
    assert len(whole.items) == 1000 and not whole.more and whole.next is None
    assert len(collect(lambda f, n, c: store.get_manifest(coll.id, f, n, c), 40)) == 1000
    typed = collect(lambda f, n, c: store.get_objects(coll.id, f, n, c), 37, ObjectFilter(types=("indicator",)))
    assert [orjson.loads(b)["id"] for b in typed] == [o["id"] for o in objs if o["type"] == "indicator"]


def test_paging_while_another_worker_adds(backend, store, coll):
    store.add_objects(coll.id, [sdo(n) for n in range(100)])
    writer = backend.open()
    seen, cursor, added, n = [], None, [], 1000
    while True:
        page = store.get_objects(coll.id, ObjectFilter(), 10, cursor)
        seen += ids_of(page)
        if not page.more:
            break
        cursor = page.next
        if len(added) < 30:  # between pages, another worker adds more
            batch = [sdo(n + i) for i in range(5)]
            writer.add_objects(coll.id, batch)
            added += [o["id"] for o in batch]
            n += 5
    assert len(added) == 30
    assert seen == [sid("indicator", i) for i in range(100)] + added


def test_paging_during_concurrent_writers(backend, store, coll):
    """Two workers write concurrently while a reader pages, and polls with added_after once it
    has caught up (as a TAXII client does): it ends with every object exactly once, in the
    order the store lists them. Were writers not serialised on date_added, a batch committing
    after a later-stamped one would fall behind the reader's position and be missed."""
    errors = []

    def write(worker: int):
        s = backend.open()
        try:
            for batch in range(25):
                s.add_objects(coll.id, [sdo(worker * 100_000 + batch * 100 + i) for i in range(20)])
        except Exception as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(w,)) for w in (1, 2)]
    for t in threads:
        t.start()
    seen, cursor, after = [], None, None
    while True:
        writers_done = not any(t.is_alive() for t in threads)  # before the read, not after
        page = store.get_objects(coll.id, ObjectFilter(added_after=after), 13, cursor)
        seen += ids_of(page)
        if page.more:
            cursor = page.next
            continue
        if page.last_added:
            after = datetime.strptime(page.last_added, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=timezone.utc)
            cursor = None
        if writers_done:
            break
    for t in threads:
        t.join()
    assert not errors
    assert len(seen) == len(set(seen)) == 1000
    assert seen == ids_of(store.get_objects(coll.id, ObjectFilter(), 2000))


def _worker_process(url: str, collection_id: str, worker: int) -> None:
    store = open_store(url)
    try:
        for batch in range(10):
            store.add_objects(collection_id, [sdo(worker * 100_000 + batch * 100 + i) for i in range(25)])
    finally:
        store.close()


def test_several_processes_write_at_once(backend, store, coll):
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_worker_process, args=(backend.url, coll.id, w)) for w in (1, 2, 3)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
    assert [p.exitcode for p in procs] == [0, 0, 0]
    entries = collect(lambda f, n, c: store.get_manifest(coll.id, f, n, c), 500)
    assert len(entries) == len({e["id"] for e in entries}) == 750
    assert len({e["date_added"] for e in entries}) == 750
    # Each process's objects are listed in the order that process added them.
    for w in (1, 2, 3):
        expected = [sid("indicator", w * 100_000 + b * 100 + i) for b in range(10) for i in range(25)]
        assert [e["id"] for e in entries if e["id"] in set(expected)] == expected


def test_cursor_survives_a_restart(backend, store, coll):
    store.add_objects(coll.id, [sdo(n) for n in range(50)])
    first = store.get_objects(coll.id, ObjectFilter(), 20)
    store.close()
    reopened = backend.open()
    rest = collect(lambda f, n, c: reopened.get_objects(coll.id, f, n, c or first.next), 20, ObjectFilter())
    assert ids_of(first) + [orjson.loads(b)["id"] for b in rest] == [sid("indicator", n) for n in range(50)]


@pytest.mark.parametrize("garbage", [
    "", "garbage", "!!!!", "MS4xLjE=", "MS4xLjE\n", "a" * 65, "MS5hLjE", "Mi4xLjE",
    urlsafe_b64encode(b"1.01.1").decode().rstrip("="), urlsafe_b64encode(b"1.-1.1").decode().rstrip("="),
    urlsafe_b64encode(b"1.99999999999999999999.1").decode().rstrip("="),
    urlsafe_b64encode("1.１.1".encode()).decode().rstrip("="), urlsafe_b64encode(b"\xff\xfe").decode().rstrip("="),
])
def test_bad_cursors(store, coll, garbage):
    store.add_objects(coll.id, [sdo(1), sdo(2)])
    for call in (store.get_objects, store.get_manifest):
        with pytest.raises(BadCursor):
            call(coll.id, ObjectFilter(), 1, garbage)
    with pytest.raises(BadCursor):
        store.get_versions(coll.id, sid("indicator", 1), ObjectFilter(), 1, garbage)


@given(st.integers(0, 2**63 - 1), st.integers(0, 2**63 - 1))
def test_cursor_round_trip(date_added, row_id):
    cursor = encode_cursor(date_added, row_id)
    assert re.fullmatch(r"[A-Za-z0-9_-]+", cursor)
    assert decode_cursor(cursor) == (date_added, row_id)


@settings(max_examples=300)
@given(st.one_of(st.text(max_size=80), st.binary(max_size=40).map(lambda b: urlsafe_b64encode(b).decode())))
def test_cursor_decoding_never_fails_otherwise(text_value):
    try:
        position = decode_cursor(text_value)
    except BadCursor:
        return
    assert encode_cursor(*position) == text_value


# -- status resources ----------------------------------------------------------------------

def test_status(store):
    status = {"id": "2d086da7-4bdc-4f91-900e-d77486753710", "status": "pending", "total_count": 2,
              "successes": [], "failures": [], "pendings": [{"id": sid("indicator", 1)}]}
    store.save_status(status)
    assert store.get_status(status["id"]) == status
    done = {**status, "status": "complete", "pendings": [], "successes": [{"id": sid("indicator", 1)}]}
    store.save_status(done)
    assert store.get_status(status["id"]) == done
    assert store.get_status("6b0c9c3a-0000-4000-8000-000000000000") is None
    with pytest.raises(InvalidArgument):
        store.save_status({"status": "complete"})


def test_arguments_outside_their_columns_are_refused(store):
    with pytest.raises(InvalidArgument):
        store.add_org("x" * 201, "peer")
    assert store.add_org("Blank sector", "peer", "", " ").sector is None
    with pytest.raises(InvalidArgument):
        store.add_collection("t" * 201, "clear")
    with pytest.raises(InvalidArgument):
        store.add_collection("Not a uuid", "clear", collection_id="feed-1")
    assert store.add_collection("Upper", "clear", collection_id="0A0A0A0A-0000-4000-8000-000000000002").id \
        == "0a0a0a0a-0000-4000-8000-000000000002"
    with pytest.raises(InvalidArgument):
        store.save_status({"id": "s" * 101})


# -- units of work --------------------------------------------------------------------------

def test_a_unit_of_work_commits_the_change_and_its_audit_entry_together_or_neither(backend):
    store = backend.open()
    store.add_org("csirt-u", "csirt")
    before = len(store.list_audit())
    with pytest.raises(RuntimeError):
        with store.transaction():
            store.set_auto_publish("csirt-u", True)
            store.append_audit("cli", "auto-publish", "csirt-u", {"enabled": True})
            assert store.get_org("csirt-u").auto_publish is True  # reads inside see the change
            raise RuntimeError("the service failed after writing")
    other = backend.open()  # another process sees neither the change nor the entry
    assert other.get_org("csirt-u").auto_publish is False and len(other.list_audit()) == before
    with store.transaction():
        store.set_auto_publish("csirt-u", True)
        store.append_audit("cli", "auto-publish", "csirt-u", {"enabled": True})
        with store.transaction():  # nested: joins the enclosing unit of work
            store.add_org("peer-u", "peer")
    assert other.get_org("csirt-u").auto_publish is True and other.get_org("peer-u") is not None
    assert [e.action for e in other.list_audit()[before:]] == ["auto-publish"]
    assert not store.in_transaction()


# -- corroboration index (issue 15) ----------------------------------------------------------

def test_corroboration_index_counts_distinct_organisations(store):
    for org in ("csirt-1", "csirt-2"):
        store.add_org(org, "csirt")
    store.corr_add("sub_a", "csirt-1", [("k1", "domain"), ("k2", "ip")], 100)
    store.corr_add("sub_a", "csirt-1", [("k1", "domain")], 150)  # the same row again: no-op
    store.corr_add("sub_b", "csirt-1", [("k1", "domain")], 200)  # the same organisation again
    store.corr_add("sub_c", "csirt-2", [("k1", "domain")], 300)
    stats = store.corr_stats(["k1", "k2", "unknown"])
    assert set(stats) == {"k1", "k2"}
    assert (stats["k1"].count, stats["k1"].first_us, stats["k1"].last_us) == (2, 100, 300)
    assert stats["k2"].count == 1
    assert store.corr_sources(["k1"]) == ["sub_a", "sub_b", "sub_c"]
    assert store.corr_keys("sub_a") == ["k1", "k2"]
    assert store.corr_orgs("k1") == ["csirt-1", "csirt-2"]
    assert store.corr_remove_source("sub_c") == 1
    assert store.corr_stats(["k1"])["k1"].count == 1
    assert store.corr_stats([]) == {} and store.corr_sources([]) == []
    with store.transaction():  # joins a unit of work like every other store call
        store.corr_add("sub_d", "csirt-2", [("k3", "url")], 400)
    assert store.corr_orgs("k3") == ["csirt-2"]

"""Table definitions and the schema migration runner (no Alembic: the schema is small).

`metadata` describes the newest schema. `MIGRATIONS` is the ordered list of steps that bring a
database there; `schema_version` records the steps applied. Migration 1 creates everything from
`metadata`, so a database that starts empty is at the newest version once it has run and later
steps are only recorded, not executed; a later step (2, 3, ...) upgrades databases that an older
release created and must therefore be written as explicit DDL, never as `create_all`.
"""
from __future__ import annotations

import json
from typing import Callable

from sqlalchemy import (BigInteger, Boolean, CheckConstraint, Column, ForeignKey, Index, Integer, LargeBinary,
                        MetaData, String, Table, Text, UniqueConstraint, func, inspect, select, text, update)
from sqlalchemy.engine import Connection, Engine

from ..domain import ORG_TYPES, ROLES, SUBMISSION_STATES, TLP_LEVELS, now_timestamp, now_us
from .base import GENESIS_HASH, audit_hash

metadata = MetaData()


def _in(column: str, values) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


schema_version = Table(
    "schema_version", metadata,
    Column("version", Integer, primary_key=True, autoincrement=False),
    Column("applied", BigInteger, nullable=False),  # microseconds since the epoch, UTC
)

orgs = Table(
    "orgs", metadata,
    Column("name", String(200), primary_key=True),
    Column("type", String(20), nullable=False),
    Column("sector", String(200)),
    Column("region", String(200)),
    # Publish a CSIRT's submissions without review when the leak gate passes and nothing is held.
    Column("auto_publish", Boolean, nullable=False, default=False, server_default=text("FALSE")),
    CheckConstraint(_in("type", ORG_TYPES), name="orgs_type"),
)

api_keys = Table(
    "api_keys", metadata,
    Column("key_id", String(40), primary_key=True),
    Column("org", String(200), ForeignKey("orgs.name"), nullable=False),
    Column("role", String(20), nullable=False),
    Column("digest", String(64), nullable=False),  # hex SHA-256 of the secret, never the secret
    Column("created", String(32), nullable=False),
    Column("revoked", Boolean, nullable=False, default=False),
    CheckConstraint(_in("role", ROLES), name="api_keys_role"),
)

collections = Table(
    "collections", metadata,
    Column("id", String(36), primary_key=True),
    Column("title", String(200), nullable=False, unique=True),
    Column("description", Text, nullable=False, default=""),
    Column("tlp", String(20)),  # NULL: not TLP-marked (e.g. an inbox), nobody reads by default
    Column("inbox_of", String(200)),  # a CSIRT's write-only inbox: writes become submissions
    CheckConstraint(f"tlp IS NULL OR {_in('tlp', TLP_LEVELS)}", name="collections_tlp"),
)

grants = Table(
    "grants", metadata,
    Column("org", String(200), ForeignKey("orgs.name"), nullable=False),
    Column("collection_id", String(36), ForeignKey("collections.id"), nullable=False),
    Column("can_read", Boolean, nullable=False, default=False),
    Column("can_write", Boolean, nullable=False, default=False),
    UniqueConstraint("org", "collection_id", name="grants_org_collection"),
)

objects = Table(
    "objects", metadata,
    # INTEGER (not BIGINT) on SQLite so the column aliases the rowid; AUTOINCREMENT so ids
    # are never reused after a delete and always grow with insertion order.
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("collection_id", String(36), ForeignKey("collections.id"), nullable=False),
    Column("object_id", String(300), nullable=False),      # the STIX id
    Column("object_type", String(250), nullable=False),
    Column("spec_version", String(10), nullable=False, default="2.1"),
    Column("version", String(27), nullable=False),         # YYYY-MM-DDTHH:MM:SS.ffffffZ
    Column("date_added", BigInteger, nullable=False),      # microseconds since the epoch, UTC
    Column("is_latest", Boolean, nullable=False),
    Column("is_first", Boolean, nullable=False),
    Column("body", Text, nullable=False),                  # the JSON text, served as is
    sqlite_autoincrement=True,
)
# Unique, and also the index for "versions of one object", match[id] and duplicate detection.
Index("objects_versions", objects.c.collection_id, objects.c.object_id, objects.c.version, unique=True)
# Every listing is "WHERE collection_id = ? [AND filter] AND (date_added, id) > cursor
# ORDER BY date_added, id LIMIT n": each index below serves one filter shape as a range scan
# that is already in output order, so a page costs O(limit), not O(collection).
Index("objects_page", objects.c.collection_id, objects.c.date_added, objects.c.id)
Index("objects_latest_page", objects.c.collection_id, objects.c.is_latest, objects.c.date_added, objects.c.id)
Index("objects_type_page", objects.c.collection_id, objects.c.object_type, objects.c.date_added, objects.c.id)

statuses = Table(
    "statuses", metadata,
    Column("id", String(100), primary_key=True),
    Column("json", Text, nullable=False),
)

# NDA agreements between a CSIRT and a victim (named by the CSIRT's own case reference):
# publication of that victim's submissions needs an active one (issue: consent-gated sharing).
agreements = Table(
    "agreements", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("org", String(200), ForeignKey("orgs.name"), nullable=False),
    Column("victim_ref", String(200), nullable=False),
    Column("signed_on", String(10), nullable=False),   # YYYY-MM-DD
    Column("expires", String(10)),                     # YYYY-MM-DD, None = no end date
    Column("clauses", Text, nullable=False),           # comma-separated clause ids
    Column("withdrawn_on", String(10)),                # the victim objected for future cases
    Column("created", BigInteger, nullable=False),
    UniqueConstraint("org", "victim_ref", name="agreements_org_ref"),
)



# Submissions: the raw input and the victim profile are kept only sealed (AES-GCM, hub.crypto,
# authenticated with the submission id) and dropped when purged; the draft and the public
# report are sanitiser output and hold no victim data.
submissions = Table(
    "submissions", metadata,
    Column("id", String(40), primary_key=True),
    Column("org", String(200), ForeignKey("orgs.name"), nullable=False),
    Column("key_id", String(40), nullable=False),
    Column("source", String(10), nullable=False),        # api | taxii
    Column("input_format", String(10), nullable=False),  # stix | csv | text
    Column("tlp", String(20), nullable=False),
    Column("victim_ref", String(200)),
    Column("attribution", Boolean, nullable=False),
    Column("status", String(20), nullable=False),
    Column("mode", String(12), nullable=False),          # "background" (all queued since issue 14)
    Column("needs_review", Boolean, nullable=False),
    Column("sealed", LargeBinary),                       # input + profile + analyst edits
    Column("sealed_report", LargeBinary),                # private report (original values)
    Column("sealed_reason", LargeBinary),                # an analyst's rejection reason (free text)
    Column("draft", Text),                               # sanitised bundle JSON
    Column("report", Text),                              # public redaction report JSON
    Column("message", Text),                             # the hub's own note: why it failed / was refused
    Column("object_count", Integer, nullable=False),
    Column("status_id", String(100)),                    # TAXII status of an inbox push
    Column("publication_id", String(40)),
    Column("created", BigInteger, nullable=False),
    Column("updated", BigInteger, nullable=False),
    Column("decided", BigInteger),                       # published or rejected at
    Column("purged", BigInteger),
    # Worker lease (issue 14): who holds a processing claim, until when (renewed by a heartbeat),
    # and when the submission was last claimed (round-robin between organisations).
    Column("lease_owner", String(80)),
    Column("lease_until", BigInteger),
    Column("claimed_at", BigInteger),
    Column("queue_cost", BigInteger, nullable=False, server_default="0"),  # bytes, against the org's budget
    CheckConstraint(_in("status", SUBMISSION_STATES), name="submissions_status"),
)
Index("submissions_queue", submissions.c.status, submissions.c.created)
Index("submissions_org", submissions.c.org, submissions.c.created)
Index("submissions_org_claimed", submissions.c.org, submissions.c.claimed_at)

# Victim profiles a CSIRT registered for reuse (sealed, the CSIRT's label too: `name` holds the id).
profiles = Table(
    "profiles", metadata,
    Column("id", String(40), primary_key=True),
    Column("org", String(200), ForeignKey("orgs.name"), nullable=False),
    Column("name", String(200), nullable=False),
    Column("is_default", Boolean, nullable=False),
    Column("sealed", LargeBinary, nullable=False),
    Column("created", BigInteger, nullable=False),
    UniqueConstraint("org", "name", name="profiles_org_name"),
)

# One row per publication: what went out (ids and versions), its digest and Ed25519 signature.
publications = Table(
    "publications", metadata,
    Column("id", String(40), primary_key=True),
    Column("submission_id", String(40), nullable=False),
    Column("collection_id", String(36), ForeignKey("collections.id"), nullable=False),
    Column("created", String(27), nullable=False),
    Column("manifest", Text, nullable=False),   # the signed document (canonical JSON)
    Column("signature", Text, nullable=False),  # base64 Ed25519 signature of `manifest`
    Column("public_key", Text, nullable=False), # base64 raw Ed25519 public key that signed
)

# Append-only audit log; each entry's hash covers the previous entry's hash (hub.audit).
audit_log = Table(
    "audit_log", metadata,
    Column("seq", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("at", String(27), nullable=False),
    Column("actor", String(200), nullable=False),
    Column("action", String(40), nullable=False),
    Column("subject", String(200), nullable=False),
    Column("details", Text, nullable=False),
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False, unique=True),
    sqlite_autoincrement=True,
)

# Signed audit checkpoints (issue 12): the hub's Ed25519 signature over (seq, hash) of an entry,
# written with that entry at least every 100 entries (`base_audit.AUDIT_CHECKPOINT_EVERY`).
audit_checkpoints = Table(
    "audit_checkpoints", metadata,
    Column("seq", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=False),
    Column("hash", String(64), nullable=False),
    Column("at", String(27), nullable=False),
    Column("body", Text, nullable=False),
    Column("signature", Text, nullable=False),
    Column("public_key", Text, nullable=False),
)

# Corroboration index (issue 15): which member organisations reported a normalised
# infrastructure value, keyed by HMAC(hub secret, value) -- never the value in clear. A row per
# (value, organisation, source): a submission that reached review, or a confirmation (sighting)
# of a published indicator. Rejecting a submission deletes its rows.
corr_reports = Table(
    "corr_reports", metadata,
    Column("value_hmac", String(64), nullable=False),
    Column("kind", String(20), nullable=False),
    Column("org", String(200), ForeignKey("orgs.name"), nullable=False),
    Column("source", String(80), nullable=False),  # a submission id or "sighting:<indicator id>"
    Column("created", BigInteger, nullable=False),
    UniqueConstraint("value_hmac", "org", "source", name="corr_reports_once"),
)
Index("corr_reports_source", corr_reports.c.source)


# Review-view sign-ins, server side (issue 13): the cookie holds a random token, the row its
# SHA-256, so that sign-out and key revocation end a session at once in every `hub serve` process.
web_sessions = Table(
    "web_sessions", metadata,
    Column("id", String(64), primary_key=True),        # sha256 hex of the cookie's token
    Column("key_id", String(40), nullable=False),
    Column("created", BigInteger, nullable=False),     # microseconds since the epoch
    Column("last_seen", BigInteger, nullable=False),
    Index("web_sessions_key", "key_id"),
)

# Failed review sign-ins per bucket (an address or a key id, hashed), shared by every process.
web_signin_failures = Table(
    "web_signin_failures", metadata,
    Column("bucket", String(64), primary_key=True),    # sha256 hex of "addr:..." or "key:..."
    Column("failures", Integer, nullable=False),
    Column("since", BigInteger, nullable=False),       # start of the current window (microseconds)
)


# -- migrations ----------------------------------------------------------------------------

def _create_everything(conn: Connection) -> None:
    metadata.create_all(conn, checkfirst=True)


Migration = tuple[int, str, Callable[[Connection], None]]

def _add_agreements(conn: Connection) -> None:
    agreements.create(conn, checkfirst=True)


def _add_review(conn: Connection) -> None:
    conn.execute(text("ALTER TABLE orgs ADD COLUMN auto_publish BOOLEAN NOT NULL DEFAULT FALSE"))
    conn.execute(text("ALTER TABLE collections ADD COLUMN inbox_of VARCHAR(200)"))
    for table in (submissions, profiles, publications, audit_log):
        table.create(conn, checkfirst=True)
    for index in (*submissions.indexes,):
        index.create(conn, checkfirst=True)


def _add_web_sessions(conn: Connection) -> None:
    for table in (web_sessions, web_signin_failures):
        table.create(conn, checkfirst=True)


def _add_corroboration(conn: Connection) -> None:
    corr_reports.create(conn, checkfirst=True)
    for index in corr_reports.indexes:
        index.create(conn, checkfirst=True)


def _feed_no_member_writes(conn: Connection) -> None:
    """Issue 12: TLP collections are written only by publication. Member organisations' write
    grants on them are taken away, each one audited (a chained entry by the migration). And the
    table of signed audit checkpoints."""
    audit_checkpoints.create(conn, checkfirst=True)
    rows = conn.execute(
        select(grants.c.org, grants.c.collection_id)
        .select_from(grants.join(collections, collections.c.id == grants.c.collection_id)
                     .join(orgs, orgs.c.name == grants.c.org))
        .where(grants.c.can_write.is_(True), collections.c.tlp.is_not(None), orgs.c.type != "operator")
        .order_by(grants.c.org, grants.c.collection_id)).all()
    for row in rows:
        conn.execute(update(grants).where(grants.c.org == row.org, grants.c.collection_id == row.collection_id)
                     .values(can_write=False))
        last = conn.execute(select(audit_log.c.seq, audit_log.c.hash).order_by(audit_log.c.seq.desc()).limit(1)
                            ).first()
        prev = last.hash if last else GENESIS_HASH
        at = now_timestamp()
        details = json.dumps({"collection": row.collection_id, "read": False, "write": True,
                              "reason": "TLP collections are written only by publication"},
                             sort_keys=True, separators=(",", ":"))
        conn.execute(audit_log.insert().values(
            seq=last.seq + 1 if last else 1, at=at, actor="migration", action="revoke-grant", subject=row.org,
            details=details, prev_hash=prev,
            hash=audit_hash(prev, at, "migration", "revoke-grant", row.org, details)))


def _add_worker_leases(conn: Connection) -> None:
    # Step 3 creates `submissions` from the newest description (with these columns) when it runs.
    have = {c["name"] for c in inspect(conn).get_columns("submissions")}
    for column in ("lease_owner VARCHAR(80)", "lease_until BIGINT", "claimed_at BIGINT",
                   "queue_cost BIGINT NOT NULL DEFAULT 0"):
        if column.split()[0] not in have:
            conn.execute(text(f"ALTER TABLE submissions ADD COLUMN {column}"))
    # Claims from before leases: an expired lease, so the first worker takes them over.
    conn.execute(text("UPDATE submissions SET lease_until = 0 WHERE status = 'processing'"))
    for index in submissions.indexes:
        index.create(conn, checkfirst=True)


def _add_sealed_reason(conn: Connection) -> None:
    """An analyst's rejection reason is free text that may quote the input: it is sealed from now
    on. Reasons written in clear before are sealed by the worker at its start (this step has no
    key; `services.maintenance.seal_clear_reasons`)."""
    if "sealed_reason" not in {c["name"] for c in inspect(conn).get_columns("submissions")}:
        conn.execute(text("ALTER TABLE submissions ADD COLUMN sealed_reason " +
                          ("BYTEA" if conn.dialect.name == "postgresql" else "BLOB")))


MIGRATIONS: list[Migration] = [
    (1, "create every table", _create_everything),
    (2, "NDA agreements", _add_agreements),
    (3, "submissions, profiles, publications, audit log, inboxes", _add_review),
    (4, "review-view sessions and sign-in throttling (issue 13)", _add_web_sessions),
    (5, "corroboration index", _add_corroboration),
    (6, "issue 12: no member write grants on TLP collections; audit checkpoints", _feed_no_member_writes),
    (7, "worker leases on submissions (issue 14)", _add_worker_leases),
    (8, "rejection reasons sealed", _add_sealed_reason),
]
LATEST = MIGRATIONS[-1][0]

# pg_advisory_xact_lock key that serialises concurrent `migrate()` calls (several workers
# starting at once); any fixed number distinct from the object-writer lock will do.
PG_MIGRATION_LOCK = 0x6875625F6D696772  # "hub_migr"


def current_version(conn: Connection) -> int:
    """The newest applied migration, 0 for an empty database."""
    if not conn.dialect.has_table(conn, "schema_version"):
        return 0
    return conn.execute(select(func.coalesce(func.max(schema_version.c.version), 0))).scalar_one()


def migrate(engine: Engine, begin_write: Callable[[], object]) -> int:
    """Apply the missing migrations in one transaction and return the schema version.

    `begin_write` opens the store's serialised write transaction (BEGIN IMMEDIATE on SQLite),
    so two processes migrating at once take turns; the second finds nothing left to do.
    """
    with engine.connect() as conn:
        if current_version(conn) >= LATEST:  # the usual case: no write lock needed
            return current_version(conn)
    with begin_write() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": PG_MIGRATION_LOCK})
        version = current_version(conn)
        if version == 0:
            # Migration 1 builds the newest schema, so every later step is already satisfied.
            _create_everything(conn)
            applied = [m[0] for m in MIGRATIONS]
        else:
            applied = []
            for number, _description, step in MIGRATIONS:
                if number > version:
                    step(conn)
                    applied.append(number)
        now = now_us()
        for number in applied:
            conn.execute(schema_version.insert().values(version=number, applied=now))
        return max([version, *applied])

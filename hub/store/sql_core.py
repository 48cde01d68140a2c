"""The core every part of `SqlStore` builds on: the engine, read and write transactions, the
unit of work, the audit append, and the row converters. The parts (`sql_accounts`, `sql_objects`,
`sql_review`) subclass `SqlCore`, so every method they use is declared here or in a part they
inherit from.

Unit of work. `transaction()` opens one write transaction for the calling thread; every store
method called inside it (writes, reads and `append_audit`) joins that transaction, so a change
and its audit entry commit together or not at all. It takes the objects lock first (PostgreSQL:
advisory lock; SQLite: BEGIN IMMEDIATE), the lock every audit append needs anyway, so the
lock order is always the same and two units of work cannot deadlock.
"""
from __future__ import annotations

import hashlib
import json
import threading
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from typing import Iterator

from sqlalchemy import desc, func, select, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection, Engine

from ..domain import now_timestamp
from . import schema, sqlite_wake
from .base import (GENESIS_HASH, Agreement, AuditEntry, Collection, InvalidArgument, Org, Publication,
                   StoredProfile, audit_hash)
from .base_audit import AUDIT_CHECKPOINT_EVERY, Checkpoint, Checkpointer
from .schema import audit_checkpoints, audit_log

# pg_advisory_xact_lock key held by every transaction that changes `objects` ("hub_objs").
PG_OBJECTS_LOCK = 0x6875625F6F626A73
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def to_micros(moment: datetime) -> int:
    """Microseconds since the epoch; a naive datetime is taken as UTC."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return (moment - _EPOCH) // timedelta(microseconds=1)


class SqlCore:
    """Engine, transactions and the audit chain, shared by the store's parts."""

    def __init__(self, engine: Engine):
        self.engine = engine
        self._pg = engine.dialect.name == "postgresql"
        # Every read is a single statement, so on PostgreSQL it runs in autocommit mode: that
        # saves the BEGIN and ROLLBACK round trips of an explicit transaction (same pool).
        self._read_engine = engine.execution_options(isolation_level="AUTOCOMMIT") if self._pg else engine
        self._insert = pg_insert if self._pg else sqlite_insert  # upserts
        self._unit = threading.local()  # .conn: the calling thread's open unit of work
        self._checkpointer: Checkpointer | None = None
        # SQLite: where the wake pipes of workers in other processes are (None: they poll)
        self._wake_dir = None if self._pg else sqlite_wake.wake_dir(engine.url.database)

    def close(self) -> None:
        """Close every pooled connection (the store must not be used afterwards)."""
        self.engine.dispose()

    # -- transactions ----------------------------------------------------------------
    def _joined(self) -> Connection | None:
        return getattr(self._unit, "conn", None)

    @contextmanager
    def _read(self) -> Iterator[Connection]:
        joined = self._joined()
        if joined is not None:
            yield joined
            return
        with self._read_engine.connect() as conn:
            yield conn

    @contextmanager
    def _write(self, *, objects_lock: bool = False) -> Iterator[Connection]:
        """One write transaction; commits on success. `objects_lock` serialises it with every
        other object writer (SQLite's BEGIN IMMEDIATE serialises all writers anyway). Inside a
        unit of work it is that transaction (which holds the objects lock already)."""
        joined = self._joined()
        if joined is not None:
            yield joined
            return
        with self.engine.connect() as conn:
            conn.execution_options(hub_write=True)  # read by the SQLite "begin" listener
            with conn.begin():
                if objects_lock and self._pg:
                    conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": PG_OBJECTS_LOCK})
                yield conn

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """A unit of work: every store call inside commits together, or nothing does."""
        if self._joined() is not None:
            yield  # nested: part of the enclosing unit of work
            return
        self._unit.after_commit = []
        try:
            with self._write(objects_lock=True) as conn:
                self._unit.conn = conn
                try:
                    yield
                finally:
                    self._unit.conn = None
            for action in self._unit.after_commit:
                action()
        finally:
            self._unit.after_commit = []

    def _after_commit(self, action) -> None:
        """Run `action` once the calling thread's unit of work has committed (now, outside one)."""
        if self._joined() is None:
            action()
        else:
            self._unit.after_commit.append(action)

    def in_transaction(self) -> bool:
        """Whether the calling thread is inside a unit of work."""
        return self._joined() is not None

    # -- schema ----------------------------------------------------------------------
    def migrate(self) -> int:
        return schema.migrate(self.engine, self._write)

    # -- audit -----------------------------------------------------------------------
    def append_audit(self, actor: str, action: str, subject: str, details: dict) -> AuditEntry:
        with self._write(objects_lock=True) as conn:  # one writer at a time keeps the chain linear
            return self._append_audit(conn, actor, action, subject, details)

    def _append_audit(self, conn: Connection, actor: str, action: str, subject: str, details: dict) -> AuditEntry:
        last = conn.execute(select(audit_log.c.seq, audit_log.c.hash).order_by(desc(audit_log.c.seq)).limit(1)).first()
        prev = last.hash if last else GENESIS_HASH
        # seq is the last one + 1, not the column's sequence: a PostgreSQL sequence is not rolled
        # back with a failed unit of work, and a gap in seq is what `hub audit verify` refuses.
        seq = last.seq + 1 if last else 1
        at = now_timestamp()
        body = json.dumps(details, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
        digest = audit_hash(prev, at, actor, action, subject, body)
        conn.execute(audit_log.insert().values(seq=seq, at=at, actor=actor, action=action, subject=subject,
                                               details=body, prev_hash=prev, hash=digest))
        if self._checkpointer is not None:
            signed_up_to = conn.execute(select(func.max(audit_checkpoints.c.seq))).scalar() or 0
            if seq - signed_up_to >= AUDIT_CHECKPOINT_EVERY:
                cp_body, signature, public_key = self._checkpointer(seq, digest, at)
                conn.execute(audit_checkpoints.insert().values(seq=seq, hash=digest, at=at, body=cp_body,
                                                               signature=signature, public_key=public_key))
        return AuditEntry(seq, at, actor, action, subject, body, prev, digest)

    def attach_checkpointer(self, checkpointer: Checkpointer | None) -> None:
        self._checkpointer = checkpointer

    def list_checkpoints(self) -> list[Checkpoint]:
        with self._read() as conn:
            rows = conn.execute(select(audit_checkpoints).order_by(audit_checkpoints.c.seq)).all()
        return [Checkpoint(r.seq, r.hash, r.at, r.body, r.signature, r.public_key) for r in rows]

    def audit_head(self) -> AuditEntry | None:
        with self._read() as conn:
            r = conn.execute(select(audit_log).order_by(desc(audit_log.c.seq)).limit(1)).first()
        return AuditEntry(r.seq, r.at, r.actor, r.action, r.subject, r.details, r.prev_hash, r.hash) if r else None

    def list_audit(self, after_seq: int = 0, limit: int = 10_000) -> list[AuditEntry]:
        with self._read() as conn:
            rows = conn.execute(select(audit_log).where(audit_log.c.seq > after_seq)
                                .order_by(audit_log.c.seq).limit(limit)).all()
        return [AuditEntry(r.seq, r.at, r.actor, r.action, r.subject, r.details, r.prev_hash, r.hash) for r in rows]


# -- row converters and checks ---------------------------------------------------------------

def _org(row) -> Org:
    return Org(row.name, row.type, row.sector, row.region, bool(row.auto_publish))


def _collection(row) -> Collection:
    return Collection(row.id, row.title, row.description, row.tlp, row.inbox_of)


def _agreement(row) -> Agreement:
    return Agreement(org=row.org, victim_ref=row.victim_ref, signed_on=row.signed_on, expires=row.expires,
                     clauses=tuple(c for c in row.clauses.split(",") if c), withdrawn_on=row.withdrawn_on)


def _profile(row) -> StoredProfile:
    return StoredProfile(row.id, row.org, row.name, bool(row.is_default), bytes(row.sealed), row.created)


def _publication(row) -> Publication:
    return Publication(row.id, row.submission_id, row.collection_id, row.created, row.manifest, row.signature,
                       row.public_key)


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

"""The hub store: `open_store(url)` gives a `Store` (see `base.py` for the interface).

    open_store("sqlite:///hubdata/hub.sqlite3")                  # embedded (the default kind)
    open_store("postgresql+psycopg://hub@db.example:5432/hub")   # at scale

The schema is not touched on open: call `store.migrate()` (idempotent) once after opening.
This module also builds the pooled engines, set up for several threads and processes.
"""
from __future__ import annotations

import sqlite3
import time
from pathlib import Path

from sqlalchemy import create_engine, event
from sqlalchemy.engine import URL, Engine, make_url
from sqlalchemy.pool import StaticPool

from .base import (Access, AddResult, Agreement, ApiKey, AuditEntry, BadCursor, Collection, Conflict, InvalidArgument,
                   NotFound, ObjectFilter, Org, Page, Principal, Publication, Store, StoredProfile, StoreError,
                   Submission, SubmissionFilter)
from .sql import SqlStore

__all__ = [
    "Access", "AddResult", "Agreement", "ApiKey", "AuditEntry", "BadCursor", "Collection", "Conflict",
    "InvalidArgument", "NotFound", "ObjectFilter", "Org", "Page", "Principal", "Publication", "SqlStore", "Store",
    "StoreError", "StoredProfile", "Submission", "SubmissionFilter", "open_store",
]


def open_store(url: str, **engine_options) -> Store:
    """A store over an SQLite file (`sqlite:///path`) or PostgreSQL (`postgresql+psycopg://...`;
    a bare `postgresql://` URL is given the psycopg 3 driver). `engine_options` go to
    `create_engine` (pool sizes and the like). Error messages never repeat the URL, which may
    hold a password."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.drivername != "sqlite":
            raise InvalidArgument("only the default pysqlite driver is supported for SQLite")
        database = parsed.database
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        return SqlStore(create_sqlite_engine(parsed, **engine_options))
    if parsed.get_backend_name() == "postgresql":
        if parsed.drivername == "postgresql":
            parsed = parsed.set(drivername="postgresql+psycopg")
        elif parsed.drivername != "postgresql+psycopg":
            raise InvalidArgument("use the psycopg 3 driver: postgresql+psycopg://...")
        return SqlStore(create_postgresql_engine(parsed, **engine_options))
    raise InvalidArgument("the store URL must start with sqlite:/// or postgresql+psycopg://")


def create_sqlite_engine(url: str | URL, **kwargs) -> Engine:
    """A pooled engine over an SQLite file: WAL (readers never block the writer), a busy
    timeout, and transactions begun by us rather than by pysqlite, so that write transactions
    can be BEGIN IMMEDIATE (SQLAlchemy's "serializable isolation / savepoints" recipe)."""
    database = make_url(url).database
    memory = not database or database == ":memory:"
    # hide_parameters: with DEBUG logging SQLAlchemy would log bound values (never victim data:
    # that is sealed, but keep log lines free of stored content altogether).
    options: dict = {"connect_args": {"check_same_thread": False, "timeout": 30}, "hide_parameters": True}
    if memory:  # one shared connection: for quick single-threaded use only
        options["poolclass"] = StaticPool
    else:
        options.update(pool_size=5, max_overflow=10, pool_timeout=30)
    options.update(kwargs)
    engine = create_engine(url, **options)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        dbapi_connection.isolation_level = None  # pysqlite must not BEGIN on its own
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA busy_timeout=30000")
        if not memory:
            _enable_wal(cursor)
        cursor.execute("PRAGMA synchronous=NORMAL")  # durable at checkpoints; safe with WAL
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):
        # IMMEDIATE takes the write lock now: writers queue here (busy_timeout) instead of
        # failing later with SQLITE_BUSY when a read transaction tries to turn into a write.
        conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.get_execution_options().get("hub_write") else "BEGIN")

    return engine


def _enable_wal(cursor, patience: float = 30.0) -> None:
    """Put the database file in WAL mode (a lasting property of the file). Switching needs an
    exclusive lock, and SQLite answers "database is locked" at once, without its busy handler,
    while another connection holds a lock (several workers opening a new file together), so
    retry for a while."""
    deadline = time.monotonic() + patience
    delay = 0.005
    while True:
        try:
            if cursor.execute("PRAGMA journal_mode").fetchone()[0].lower() == "wal":
                return
            if cursor.execute("PRAGMA journal_mode=WAL").fetchone()[0].lower() == "wal":
                return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
        time.sleep(delay)
        delay = min(delay * 2, 0.2)


def create_postgresql_engine(url: str | URL, **kwargs) -> Engine:
    """A pooled engine over psycopg 3; connections are checked before use, so a server restart
    costs no failed request."""
    options = {"pool_size": 5, "max_overflow": 10, "pool_timeout": 30, "pool_pre_ping": True,
               "hide_parameters": True}
    options.update(kwargs)
    return create_engine(url, **options)

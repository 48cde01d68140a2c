"""Waking workers in other processes on PostgreSQL: LISTEN/NOTIFY on the channel `hub_queue`
(SQLite's counterpart is `sqlite_wake`)."""
from __future__ import annotations

import logging
import threading
from typing import Callable

import psycopg
from sqlalchemy import text
from sqlalchemy.engine import Engine

log = logging.getLogger(__name__)

CHANNEL = "hub_queue"


def notify(conn) -> None:
    """Inside a write transaction: workers listening are told at its commit."""
    conn.execute(text(f"NOTIFY {CHANNEL}"))


def listen(engine: Engine, on_signal: Callable[[], None], stop: threading.Event) -> threading.Thread:
    """A daemon thread calling `on_signal` for every NOTIFY. It reconnects after a lost
    connection; the workers' poll covers the gap."""
    conninfo = engine.url.set(drivername="postgresql").render_as_string(hide_password=False)

    def run() -> None:
        while not stop.is_set():
            try:
                with psycopg.connect(conninfo, autocommit=True) as conn:
                    conn.execute(f"LISTEN {CHANNEL}")
                    while not stop.is_set():
                        for _ in conn.notifies(timeout=1.0, stop_after=1):
                            on_signal()
            except psycopg.Error as exc:
                log.warning("queue listener: %s; reconnecting", type(exc).__name__)
                stop.wait(1.0)

    thread = threading.Thread(target=run, name="hub-queue-listener", daemon=True)
    thread.start()
    return thread

"""Review-view sessions and sign-in failure counts: the sessions part of `SqlStore`."""
from __future__ import annotations

from sqlalchemy import delete, desc, select, update

from .schema import web_sessions, web_signin_failures
from .sessions import WebSession
from .sql_core import SqlCore, _check_text


class SessionsPart(SqlCore):
    """Implements `hub.store.sessions.SessionStore`."""

    def add_session(self, session: WebSession) -> None:
        _check_text(session.id, "session id", 64)
        _check_text(session.key_id, "key id", 40)
        with self._write() as conn:
            conn.execute(web_sessions.insert().values(id=session.id, key_id=session.key_id, created=session.created,
                                                      last_seen=session.last_seen))

    def get_session(self, session_id: str) -> WebSession | None:
        with self._read() as conn:
            row = conn.execute(select(web_sessions).where(web_sessions.c.id == session_id)).first()
        return WebSession(row.id, row.key_id, row.created, row.last_seen) if row else None

    def touch_session(self, session_id: str, now: int) -> None:
        with self._write() as conn:
            conn.execute(update(web_sessions).where(web_sessions.c.id == session_id).values(last_seen=now))

    def delete_sessions(self, *, session_id: str | None = None, key_id: str | None = None,
                        idle_before: int | None = None) -> int:
        conditions = [c for c in (None if session_id is None else web_sessions.c.id == session_id,
                                  None if key_id is None else web_sessions.c.key_id == key_id,
                                  None if idle_before is None else web_sessions.c.last_seen < idle_before)
                      if c is not None]
        if not conditions:
            return 0  # never "delete everything" by omission
        with self._write() as conn:
            return conn.execute(delete(web_sessions).where(*conditions)).rowcount

    def list_sessions(self) -> list[WebSession]:
        with self._read() as conn:
            rows = conn.execute(select(web_sessions).order_by(desc(web_sessions.c.created))).all()
        return [WebSession(r.id, r.key_id, r.created, r.last_seen) for r in rows]

    def count_signin_failure(self, bucket: str, now: int, window: int) -> tuple[int, int]:
        _check_text(bucket, "bucket", 64)
        t = web_signin_failures
        with self._write() as conn:
            if self._pg:  # the row is locked until commit: concurrent failures all count
                conn.execute(self._insert(t).values(bucket=bucket, failures=0, since=now)
                             .on_conflict_do_nothing(index_elements=["bucket"]))
                row = conn.execute(select(t).where(t.c.bucket == bucket).with_for_update()).first()
            else:  # BEGIN IMMEDIATE serialises every SQLite writer
                row = conn.execute(select(t).where(t.c.bucket == bucket)).first()
            if row is None or row.since + window <= now:
                failures, since = 1, now
            else:
                failures, since = row.failures + 1, row.since
            conn.execute(self._insert(t).values(bucket=bucket, failures=failures, since=since)
                         .on_conflict_do_update(index_elements=["bucket"], set_={"failures": failures, "since": since}))
        return failures, since

    def signin_failures(self, bucket: str) -> tuple[int, int]:
        with self._read() as conn:
            row = conn.execute(select(web_signin_failures).where(web_signin_failures.c.bucket == bucket)).first()
        return (row.failures, row.since) if row else (0, 0)

    def clear_signin_failures(self, bucket: str) -> None:
        with self._write() as conn:
            conn.execute(delete(web_signin_failures).where(web_signin_failures.c.bucket == bucket))

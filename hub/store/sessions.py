"""The store's interface for review-view sessions and sign-in throttling (`Store` inherits it).

Sessions live in the store, not only in the signed cookie, so that signing out or revoking a
key ends them at once in every `hub serve` process; failed sign-ins are counted there too, so
the throttle holds across processes. Session ids are SHA-256 digests of the cookie's token and
throttle buckets digests of an address or key id: neither is usable if the database is read.
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass


@dataclass(frozen=True)
class WebSession:
    id: str          # sha256 hex of the token
    key_id: str
    created: int     # microseconds since the epoch
    last_seen: int


class SessionStore(ABC):
    @abstractmethod
    def add_session(self, session: WebSession) -> None:
        """Record a new session."""

    @abstractmethod
    def get_session(self, session_id: str) -> WebSession | None:
        """One session by id."""

    @abstractmethod
    def touch_session(self, session_id: str, now: int) -> None:
        """Record activity (for the idle timeout)."""

    @abstractmethod
    def delete_sessions(self, *, session_id: str | None = None, key_id: str | None = None,
                        idle_before: int | None = None) -> int:
        """End one session, every session of a key, or those idle since before a time; how many."""

    @abstractmethod
    def list_sessions(self) -> list[WebSession]:
        """Every session, newest first."""

    @abstractmethod
    def count_signin_failure(self, bucket: str, now: int, window: int) -> tuple[int, int]:
        """Count one failed sign-in in `bucket` (a window of `window` microseconds restarts once
        the last one is over); (failures in the window, window start)."""

    @abstractmethod
    def signin_failures(self, bucket: str) -> tuple[int, int]:
        """(failures, window start) of a bucket; (0, 0) when there is none."""

    @abstractmethod
    def clear_signin_failures(self, bucket: str) -> None:
        """Forget a bucket's failures (after a successful sign-in)."""

"""`SqlStore`: the hub's `Store` over SQLAlchemy 2 Core, on SQLite (embedded) or PostgreSQL.

Built from parts, each a subclass of `SqlCore` (engine, transactions, unit of work, audit):
`AccountsPart` (organisations, keys, collections, grants, agreements, settings), `ObjectsPart`
(STIX objects, TAXII statuses) and `ReviewPart` (submissions, profiles, publications).
"""
from __future__ import annotations

from .base import Store
from .sql_accounts import AccountsPart
from .sql_corroboration import CorroborationPart
from .sql_review import ReviewPart
from .sql_sessions import SessionsPart


class SqlStore(ReviewPart, AccountsPart, SessionsPart, CorroborationPart, Store):
    """The hub store over a pooled SQLAlchemy engine (see `hub.store.open_store`)."""

"""The corroboration index over SQLAlchemy: the `CorroborationIndex` part of `SqlStore`."""
from __future__ import annotations

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError

from .base_corroboration import CorroborationIndex, CorroborationStats
from .schema import corr_reports
from .sql_core import SqlCore


class CorroborationPart(SqlCore, CorroborationIndex):
    """Implements `CorroborationIndex` (see `hub.store.base_corroboration`)."""

    def corr_add(self, source: str, org: str, keys: list[tuple[str, str]], created_us: int) -> None:
        with self._write() as conn:
            known = {r[0] for r in conn.execute(
                select(corr_reports.c.value_hmac).where(corr_reports.c.source == source,
                                                        corr_reports.c.org == org))}
            rows = [{"value_hmac": key, "kind": kind, "org": org, "source": source, "created": created_us}
                    for key, kind in dict(keys).items() if key not in known]
            if rows:
                try:
                    conn.execute(corr_reports.insert(), rows)
                except IntegrityError:  # a concurrent writer recorded the same rows first
                    pass

    def corr_remove_source(self, source: str) -> int:
        with self._write() as conn:
            return conn.execute(delete(corr_reports).where(corr_reports.c.source == source)).rowcount

    def corr_stats(self, keys: list[str]) -> dict[str, CorroborationStats]:
        if not keys:
            return {}
        query = (select(corr_reports.c.value_hmac, func.count(func.distinct(corr_reports.c.org)),
                        func.min(corr_reports.c.created), func.max(corr_reports.c.created))
                 .where(corr_reports.c.value_hmac.in_(sorted(set(keys))))
                 .group_by(corr_reports.c.value_hmac))
        with self._read() as conn:
            return {r[0]: CorroborationStats(int(r[1]), int(r[2]), int(r[3])) for r in conn.execute(query)}

    def corr_sources(self, keys: list[str]) -> list[str]:
        if not keys:
            return []
        query = (select(corr_reports.c.source).where(corr_reports.c.value_hmac.in_(sorted(set(keys))))
                 .distinct().order_by(corr_reports.c.source))
        with self._read() as conn:
            return [r[0] for r in conn.execute(query)]

    def corr_orgs(self, key: str) -> list[str]:
        query = (select(corr_reports.c.org).where(corr_reports.c.value_hmac == key)
                 .distinct().order_by(corr_reports.c.org))
        with self._read() as conn:
            return [r[0] for r in conn.execute(query)]

    def corr_keys(self, source: str) -> list[str]:
        query = (select(corr_reports.c.value_hmac).where(corr_reports.c.source == source)
                 .distinct().order_by(corr_reports.c.value_hmac))
        with self._read() as conn:
            return [r[0] for r in conn.execute(query)]

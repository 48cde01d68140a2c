"""The corroboration part of the `Store` interface (issue 15): which member organisations
reported a normalised infrastructure value, keyed by HMAC(hub secret, value) so the index
never holds a value in clear. Rows come from submissions that reached review and from members'
confirmations (sightings) of published indicators; a rejected submission's rows are removed."""
from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass


@dataclass(frozen=True)
class CorroborationStats:
    """For one value key: the distinct organisations in its set and when it was first/last reported."""
    count: int
    first_us: int
    last_us: int


class CorroborationIndex(ABC):
    @abstractmethod
    def corr_add(self, source: str, org: str, keys: list[tuple[str, str]], created_us: int) -> None:
        """Record that `org` reported each (value key, kind) in `source` (a submission id or
        "sighting:<indicator id>"); recording the same row twice is a no-op."""

    @abstractmethod
    def corr_remove_source(self, source: str) -> int:
        """Forget every row of `source` (a rejected submission); the number removed."""

    @abstractmethod
    def corr_stats(self, keys: list[str]) -> dict[str, CorroborationStats]:
        """Distinct reporting organisations and first/last report time per known value key."""

    @abstractmethod
    def corr_sources(self, keys: list[str]) -> list[str]:
        """Every source (submission id or sighting) that reported any of these value keys."""

    @abstractmethod
    def corr_orgs(self, key: str) -> list[str]:
        """The organisations in one value's set (for the operator only; never shown to members)."""

    @abstractmethod
    def corr_keys(self, source: str) -> list[str]:
        """The value keys one source reported."""

    @abstractmethod
    def publish_objects(self, collection_id: str, objects: list[dict], publication) -> object:
        """Add objects with their signed publication but no submission (a re-versioned sighting
        after a member's confirmation), in one transaction or the caller's unit of work."""

"""The submission queue's part of the store interface (issue 14): fair claims with leases,
waking workers of other processes, and the cost an organisation has waiting."""
from __future__ import annotations

from abc import ABC, abstractmethod


class QueueStore(ABC):
    """Methods `Store` adds for the worker queue."""

    @abstractmethod
    def claim_next(self, owner: str, lease_until_us: int, per_org_cap: int) -> str | None:
        """Claim the next queued submission (round-robin between organisations, each capped at
        `per_org_cap` in processing) with a lease; exactly one caller gets it, across processes."""

    @abstractmethod
    def signal_queued(self) -> None:
        """Wake workers of other processes (at the unit's commit); see `listen_queued`."""

    @abstractmethod
    def listen_queued(self, on_signal, stop) -> None:
        """Call `on_signal()` whenever another process signals the queue, until `stop` is set."""

    @abstractmethod
    def renew_lease(self, owner: str, submission_id: str, lease_until_us: int) -> bool:
        """Extend `owner`'s lease; False if the claim is no longer its own."""

    @abstractmethod
    def requeue_expired(self, now_us_: int) -> int:
        """Requeue every claim whose lease ran out (its worker died)."""

    @abstractmethod
    def queued_cost(self, org: str) -> int:
        """The summed `queue_cost` of the organisation's submissions queued or in processing."""

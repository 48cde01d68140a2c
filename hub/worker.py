"""The background worker: sanitises queued (large) submissions, puts back what a crashed
worker left half-done, and purges sealed data after the retention period."""
from __future__ import annotations

import logging
import threading
import time

from .intake import process

log = logging.getLogger(__name__)

STALE_SECONDS = 900     # a submission in processing this long was abandoned by a dead worker
PURGE_EVERY = 3600.0
REQUEUE_EVERY = 30.0


class Worker(threading.Thread):
    """One daemon thread per server process; the store's claim makes several processes safe."""

    def __init__(self, ctx, poll_seconds: float = 0.5, stale_seconds: float = STALE_SECONDS):
        super().__init__(name="hub-worker", daemon=True)
        self.ctx = ctx
        self.poll_seconds = poll_seconds
        self.stale_seconds = stale_seconds
        self.stopping = threading.Event()
        self._last_purge = 0.0
        self._last_requeue = 0.0

    def run(self) -> None:
        while not self.stopping.is_set():
            try:
                worked = self.run_once()
            except Exception as exc:  # keep serving; the submission is claimable again after STALE_SECONDS
                log.error("worker: unexpected error (%s)", type(exc).__name__)  # its text may quote input
                worked = False
            if not worked:
                self.stopping.wait(self.poll_seconds)

    def run_once(self) -> bool:
        """Process one queued submission; purge when due. True if there was work."""
        now = time.monotonic()
        if now - self._last_requeue > min(REQUEUE_EVERY, self.stale_seconds):
            # A worker killed mid-way (crash, SIGKILL, power loss) left its claim in processing:
            # put it back. A slow but alive worker finishing later finds the state moved on.
            self._last_requeue = now
            self.ctx.store.requeue_stale(time.time_ns() // 1000 - int(self.stale_seconds * 1_000_000))
        if now - self._last_purge > PURGE_EVERY:
            self._last_purge = now
            purge(self.ctx)
        ids = self.ctx.store.claim_queued(1)
        for sid in ids:
            sub = self.ctx.store.get_submission(sid)
            if sub is not None:
                process(self.ctx, sub)
        return bool(ids)

    def stop(self) -> None:
        self.stopping.set()


def purge(ctx) -> int:
    """Drop the sealed input, profile and private report of submissions decided longer ago
    than the retention period; the draft, public report and audit trail stay."""
    cutoff = time.time_ns() // 1000 - ctx.retention_days * 86_400 * 1_000_000
    count = ctx.store.purge_submissions(cutoff)
    if count:
        ctx.store.append_audit("hub", "purge", "submissions", {"count": count, "retention_days": ctx.retention_days})
    return count

"""The background worker: sanitises queued (large) submissions, puts back what a crashed
worker left half-done, and purges sealed data after the retention period."""
from __future__ import annotations

import logging
import threading
import time

from .context import HubContext
from .services import maintenance, submissions

log = logging.getLogger(__name__)

STALE_SECONDS = 900     # a submission in processing this long was abandoned by a dead worker
PURGE_EVERY = 3600.0
REQUEUE_EVERY = 30.0


class Worker(threading.Thread):
    """One daemon thread per server process; the store's claim makes several processes safe."""

    def __init__(self, ctx: HubContext, poll_seconds: float = 0.5, stale_seconds: float = STALE_SECONDS):
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
            maintenance.requeue_stale(self.ctx, stale_seconds=self.stale_seconds)
        if now - self._last_purge > PURGE_EVERY:
            self._last_purge = now
            maintenance.purge(self.ctx)
        ids = self.ctx.store.claim_queued(1)
        for sid in ids:
            sub = self.ctx.store.get_submission(sid)
            if sub is not None:
                submissions.sanitise(self.ctx, submission=sub)
        return bool(ids)

    def stop(self) -> None:
        self.stopping.set()

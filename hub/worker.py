"""The background worker: sanitises every queued submission (no request thread ever does),
takes over what a dead worker left half-done, and purges sealed data after the retention period.

Claims are leases: the worker holds a submission in processing until `lease_until`, which a
heartbeat thread renews every third of the lease while the sanitiser runs. A worker killed
mid-way (SIGKILL, power loss) stops renewing; any other worker puts the claim back in the queue
once the lease ran out (seconds, `worker_lease_seconds`) and sanitises it again. (A worker stalled
longer than its lease, not dead, may sanitise the same submission a second time; the first result
is stored, the second finds the state moved on and is dropped.) Claims are fair
(round-robin between organisations, a cap per organisation; see `Store.claim_next`).

Waking: a submission wakes a worker of the same process at once (`ctx.notify_work`), and workers
of other processes (`hub serve`'s worker processes, `hub worker`) through the store: PostgreSQL
LISTEN/NOTIFY, or SQLite's wake pipes (`store.sqlite_wake`); they poll every `poll_seconds` as a
fallback.
"""
from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid

from .context import HubContext
from .domain import now_us
from .services import maintenance, submissions

log = logging.getLogger(__name__)

LEASE_SECONDS = 10.0    # a claim not renewed for this long is taken over by another worker
PER_ORG_CAP = 2         # submissions of one organisation in processing at once
PURGE_EVERY = 3600.0
NICE = 10               # the worker thread yields the CPU to request threads (Linux: per thread)


class Worker(threading.Thread):
    """One worker thread; several threads and processes may share one store."""

    def __init__(self, ctx: HubContext, poll_seconds: float = 0.5, lease_seconds: float = LEASE_SECONDS, per_org_cap: int = PER_ORG_CAP):
        super().__init__(name="hub-worker", daemon=True)
        self.ctx = ctx
        self.poll_seconds = poll_seconds
        self.lease_seconds = lease_seconds
        self.per_org_cap = per_org_cap
        self.owner = f"{socket.gethostname()[:40]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.stopping = threading.Event()
        self._last_purge = 0.0
        self._last_requeue = 0.0

    def run(self) -> None:
        try:  # sanitising is batch work: peers' requests on the same cores go first
            tid = threading.get_native_id()
            os.setpriority(os.PRIO_PROCESS, tid, max(NICE, os.getpriority(os.PRIO_PROCESS, tid)))
        except (OSError, AttributeError):
            pass
        while not self.stopping.is_set():
            try:
                worked = self.run_once()
            except Exception as exc:  # keep serving; the claim's lease runs out and another takes it
                log.error("worker: unexpected error (%s)", type(exc).__name__)  # its text may quote input
                worked = False
            if not worked:
                self.ctx.wait_for_work(self.poll_seconds)

    def run_once(self) -> bool:
        """Process one queued submission; take over expired claims and purge when due. True if
        there was work."""
        now = time.monotonic()
        if now - self._last_requeue > self.lease_seconds / 3:
            self._last_requeue = now
            maintenance.requeue_expired(self.ctx)
        if now - self._last_purge > PURGE_EVERY:
            if not self._last_purge:  # at start
                maintenance.seal_clear_reasons(self.ctx)
            self._last_purge = now
            maintenance.purge(self.ctx)
        sid = self.ctx.store.claim_next(self.owner, self._lease_end(), self.per_org_cap)
        if sid is None:
            return False
        done = threading.Event()
        threading.Thread(target=self._heartbeat, args=(sid, done), daemon=True, name="hub-worker-heartbeat").start()
        try:
            sub = self.ctx.store.get_submission(sid)
            if sub is not None:
                outcome = submissions.sanitise(self.ctx, submission=sub)
                log.info("worker %s: submission %s sanitised: %s", self.owner, sid, outcome.status)
        finally:
            done.set()
        return True

    def drain(self) -> int:
        """Process everything queued now, in this thread; how many were processed."""
        count = 0
        while self.run_once():
            count += 1
        return count

    def _lease_end(self) -> int:
        return now_us() + int(self.lease_seconds * 1_000_000)

    def _heartbeat(self, sid: str, done: threading.Event) -> None:
        while not done.wait(self.lease_seconds / 3):
            try:
                if not self.ctx.store.renew_lease(self.owner, sid, self._lease_end()):
                    return  # finished meanwhile, or taken over after a long stall
            except Exception as exc:  # a database hiccup: try again at the next beat
                log.warning("worker: lease renewal failed (%s)", type(exc).__name__)

    def stop(self) -> None:
        self.stopping.set()
        self.ctx.notify_work()

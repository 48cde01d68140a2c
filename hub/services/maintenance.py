"""Maintenance actions: re-encrypt data at rest under a new key (`hub secrets rotate`), purge
sealed data after the retention period (`hub purge`, hourly in `hub serve`), requeue what a dead
worker left half-done.

Rotation: re-encrypt every sealed blob under a new data key.

Steps, each safe to interrupt: (1) the new key is written to `data.key.new` (0600); (2) one
database transaction re-seals every blob under it (all or nothing; `Sealer.from_file` opens
with both keys while `data.key.new` exists); (3) `data.key.new` atomically replaces `data.key`
and the old key is gone. Running the command again after an interruption finishes the job.
Stop `hub serve` first: a running server keeps sealing with the key it started with.
"""
from __future__ import annotations

import os
import secrets

from ..context import HubContext
from ..crypto import Sealer, read_key_file
from ..datadir import DataDir
from ..domain import now_us
from ..store.base import Principal, Store, SubmissionFilter
from . import audit, permissions
from .sealed import REJECTED_NOTE, seal_reason
from .permissions import HUB


def rotate(data: DataDir, store: Store, *, principal: Principal) -> dict:
    """Re-seal every blob under a new data key; resumable after an interruption."""
    permissions.require_admin(principal)
    current_path = data.secrets / "data.key"
    pending = data.secrets / "data.key.new"
    old = read_key_file(current_path)
    if pending.is_file():  # an earlier rotation was interrupted: finish it with its key
        new = read_key_file(pending)
        resumed = True
    else:
        new = secrets.token_bytes(32)
        fd = os.open(pending, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="ascii") as fh:
            fh.write(new.hex())
            fh.flush()
            os.fsync(fh.fileno())
        resumed = False
    reader = Sealer(new, (old,))
    writer = Sealer(new)

    def reseal(blob: bytes, aad: str) -> bytes:
        return writer.seal(reader.open(blob, aad), aad)

    with store.transaction():
        count = store.reseal_all(reseal)
        audit.record(store, principal, "secrets-rotate", "data.key", {"resealed": count, "resumed": resumed})
    os.replace(pending, current_path)  # the old key is no longer on disk
    _fsync_dir(data.secrets)
    return {"resealed": count, "resumed": resumed, "key_fingerprint": writer.fingerprint.hex()}


def _fsync_dir(path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def purge(ctx: HubContext, *, principal: Principal = HUB) -> int:
    """Drop the sealed input, profile and private report of submissions decided longer ago
    than the retention period; the draft, public report and audit trail stay."""
    permissions.require_admin(principal)
    cutoff = now_us() - ctx.retention_days * 86_400 * 1_000_000
    with ctx.store.transaction():
        count = ctx.store.purge_submissions(cutoff)
        # An administrator's purge is always on record; the worker's scheduled one only when it
        # removed something (it runs every few minutes).
        if count or principal is not HUB:
            audit.record(ctx.store, principal, "purge", "submissions",
                         {"count": count, "retention_days": ctx.retention_days})
    return count


def seal_clear_reasons(ctx: HubContext) -> int:
    """Seal rejection reasons written in clear before migration 8 (the worker runs this at its
    start; the migration itself has no key). Returns how many it sealed."""
    count = 0
    for sub in ctx.store.list_submissions(SubmissionFilter(status="rejected"), limit=1_000_000):
        if sub.sealed_reason is None and sub.message and sub.message != REJECTED_NOTE:
            with ctx.store.transaction():
                ctx.store.update_submission(sub.id, expect_status=("rejected",), message=REJECTED_NOTE,
                                            sealed_reason=seal_reason(ctx, sub.id, sub.message))
                audit.record(ctx.store, HUB, "seal-reason", sub.id, {"reason_chars": len(sub.message)})
            count += 1
    return count


def requeue_expired(ctx: HubContext) -> int:
    """Put back to queued every claim whose worker stopped renewing its lease (it died)."""
    return ctx.store.requeue_expired(now_us())

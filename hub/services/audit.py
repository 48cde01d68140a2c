"""The hash-chained audit log: recording an action, reading the log, verifying the chain."""
from __future__ import annotations

from typing import Iterable, Iterator

from ..store.base import GENESIS_HASH, AuditEntry, Principal, Store, audit_hash
from .permissions import require_admin


def record(store: Store, actor: Principal, action: str, subject: str, details: dict) -> AuditEntry:
    """Append one entry; called by services inside their unit of work (never a victim value)."""
    return store.append_audit(actor.key_id, action, subject, details)


def entries(store: Store, *, principal: Principal) -> Iterator[AuditEntry]:
    """Every entry in order, read in chunks."""
    require_admin(principal)
    after = 0
    while True:
        chunk = store.list_audit(after, 10_000)
        if not chunk:
            return
        yield from chunk
        after = chunk[-1].seq


def latest(store: Store, *, principal: Principal, limit: int) -> list[AuditEntry]:
    """The last `limit` entries."""
    return list(entries(store, principal=principal))[-limit:]


def verify(chain: Iterable[AuditEntry]) -> tuple[int, str | None]:
    """(entries checked, first problem or None) over the audit chain in order."""
    prev = GENESIS_HASH
    count = 0
    for e in chain:
        count += 1
        if e.prev_hash != prev:
            return count, f"entry {e.seq}: does not follow entry {e.seq - 1} (chain broken: removed or reordered)"
        if audit_hash(e.prev_hash, e.at, e.actor, e.action, e.subject, e.details) != e.hash:
            return count, f"entry {e.seq}: content was changed after it was written"
        prev = e.hash
    return count, None

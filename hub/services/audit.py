"""The hash-chained audit log: recording an action, reading the log, verifying the chain.

Every signed publication manifest (approval, `hub publish`, withdrawal) carries the audit head
(seq and hash of the latest entry) at the moment it was written, inside the same unit of work,
and its own audit entry names it. `verify` checks the chain, that `seq` has no gap, and the log
against every validly signed manifest: a rewritten (recomputed) chain no longer has the signed
head, and a cut tail loses the entry of a publication or the signed head itself."""
from __future__ import annotations

import json
from typing import Iterable, Iterator

from ..crypto import verify_signature
from ..manifest import canonical, checkpoint_body, checkpoint_fields
from ..store.base import (AUDIT_CHECKPOINT_EVERY, GENESIS_HASH, AuditEntry, Checkpoint, Principal, Publication,
                          Store, audit_hash)
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


def signed_publication(ctx, manifest: dict, *, submission_id: str) -> Publication:
    """The manifest with the audit head of this moment, signed; call it inside the unit of work
    that writes the publication and its audit entry (the head cannot move meanwhile)."""
    head = ctx.store.audit_head()
    body = canonical({**manifest, "audit_head": {"seq": head.seq if head else 0,
                                                 "hash": head.hash if head else GENESIS_HASH}})
    return Publication(manifest["id"], submission_id, manifest["collection"], manifest["created"],
                       body.decode("utf-8"), ctx.signer.sign(body), ctx.signer.public_key_b64)


def verify(chain: Iterable[AuditEntry], publications: Iterable[Publication] = (),
           public_key: str | None = None, checkpoints: Iterable[Checkpoint] | None = None) -> tuple[int, str | None]:
    """(entries checked, first problem or None): the chain in order, no gap in `seq`, the heads
    signed into publication manifests (those with a valid signature by `public_key`) and, when
    given, the stored checkpoints (`checkpoint_problems`)."""
    prev = GENESIS_HASH
    count = 0
    by_seq: dict[int, AuditEntry] = {}
    named: set[str] = set()
    for e in chain:
        count += 1
        if e.seq != count:
            return count, f"entry {count}: missing (the next entry is {e.seq}: a gap in seq)"
        by_seq[e.seq] = e
        if e.action in PUBLISHING:
            named.add(json.loads(e.details).get("publication", ""))
        if e.prev_hash != prev:
            return count, f"entry {e.seq}: does not follow entry {e.seq - 1} (chain broken: removed or reordered)"
        if audit_hash(e.prev_hash, e.at, e.actor, e.action, e.subject, e.details) != e.hash:
            return count, f"entry {e.seq}: content was changed after it was written"
        prev = e.hash
    problems = [] if checkpoints is None else checkpoint_problems(by_seq, count, checkpoints, public_key)
    for pub in publications:
        if public_key is None or not verify_signature(public_key, pub.manifest.encode("utf-8"), pub.signature):
            continue
        head = json.loads(pub.manifest).get("audit_head")
        if not head:
            continue
        seq = head["seq"]
        if seq and (seq not in by_seq or by_seq[seq].hash != head["hash"]):
            problems.append((seq, f"entry {seq}: not the entry publication {pub.id} signed as the head "
                                  "(log rewritten or cut)"))
        elif pub.id not in named:
            problems.append((seq + 1, f"entry {seq + 1}: publication {pub.id}'s audit entry is missing "
                                      "(log cut after it)"))
    if problems:
        return count, min(problems)[1]
    return count, None


PUBLISHING = ("approve-publish", "auto-publish", "publish", "withdraw", "publish-sighting")  # entries that name a publication


def export_checkpoint(ctx, *, principal: Principal | None, at: str) -> dict:
    """The log's head (seq, hash) signed by the hub's key, for an outside party to keep and
    later hold the log against (`verify_against`)."""
    require_admin(principal)
    head = ctx.store.audit_head()
    body = checkpoint_body(head.seq if head else 0, head.hash if head else GENESIS_HASH, at)
    return {"checkpoint": body.decode("utf-8"), "signature": ctx.signer.sign(body),
            "public_key": ctx.signer.public_key_b64}


def verify_against(chain: Iterable[AuditEntry], exported: dict, public_key: str) -> str | None:
    """The first problem of the log against an exported checkpoint, or None."""
    try:
        fields = checkpoint_fields(exported["checkpoint"], exported["signature"], public_key)
    except (KeyError, TypeError):
        return "the checkpoint file is not one `hub audit checkpoint --export` wrote"
    if fields is None:
        return "the checkpoint's signature is not the hub's"
    seq, digest = fields
    if seq == 0:
        return None
    for e in chain:
        if e.seq == seq:
            return None if e.hash == digest else f"entry {seq}: not the entry the checkpoint signed (log rewritten)"
    return f"entry {seq}: missing, though the checkpoint signed it (log cut)"


def checkpoint_problems(by_seq: dict[int, AuditEntry], count: int, checkpoints: Iterable[Checkpoint],
                        public_key: str | None) -> list[tuple[int, str]]:
    """The stored checkpoints against the log: each validly signed by the hub and naming an entry
    that is there unchanged; and no more than `AUDIT_CHECKPOINT_EVERY` entries after the last one
    (entries appended behind the hub's back, or checkpoints removed)."""
    problems, signed_up_to = [], 0
    for cp in checkpoints:
        fields = checkpoint_fields(cp.body, cp.signature, public_key) if public_key else None
        if fields is None or fields != (cp.seq, cp.hash):
            problems.append((cp.seq, f"entry {cp.seq}: its checkpoint is not signed by the hub (checkpoint "
                                     "replaced or edited)"))
            continue
        if cp.seq not in by_seq:
            problems.append((cp.seq, f"entry {cp.seq}: missing, though a signed checkpoint names it (log cut)"))
        elif by_seq[cp.seq].hash != cp.hash:
            problems.append((cp.seq, f"entry {cp.seq}: not the entry its signed checkpoint names (log rewritten)"))
        signed_up_to = max(signed_up_to, cp.seq)
    if count - signed_up_to >= AUDIT_CHECKPOINT_EVERY:
        seq = signed_up_to + AUDIT_CHECKPOINT_EVERY
        problems.append((seq, f"entry {seq}: no signed checkpoint at or after it (entries appended outside "
                              f"the hub, or checkpoints removed; one is written every {AUDIT_CHECKPOINT_EVERY})"))
    return problems

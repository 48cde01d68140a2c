"""The audit-checkpoint part of the `Store` interface (issue 12): Ed25519-signed (seq, head hash)
pairs written in the same unit of work as the audit entry they sign, at least every
`AUDIT_CHECKPOINT_EVERY` entries. The store does not sign: whoever opens it for the hub attaches
a checkpointer (`hub.manifest.checkpoint_signer`) built from the hub's signing key."""
from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Callable

# An entry is never more than this many entries after the last stored checkpoint.
AUDIT_CHECKPOINT_EVERY = 100

# (seq, hash, at) -> (canonical body, signature, public key), all text
Checkpointer = Callable[[int, str, str], tuple[str, str, str]]


@dataclass(frozen=True)
class Checkpoint:
    seq: int
    hash: str
    at: str
    body: str  # the canonical JSON that `signature` signs
    signature: str
    public_key: str


class AuditCheckpoints(ABC):
    @abstractmethod
    def attach_checkpointer(self, checkpointer: Checkpointer | None) -> None:
        """Sign a checkpoint with `checkpointer` whenever an appended entry is
        `AUDIT_CHECKPOINT_EVERY` entries past the last one (None: stop checkpointing)."""

    @abstractmethod
    def list_checkpoints(self) -> list[Checkpoint]:
        """Every stored checkpoint, by seq."""

"""What the hub's services need at run time, built once from a data directory: the store, the
data-at-rest sealer, the publication signer, the DI-13 id secret and the settings."""
from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from typing import Callable

from .crypto import Sealer, Signer
from .datadir import DataDir
from .manifest import checkpoint_signer
from .secrets import read_secret_file
from .store.base import Store

RETENTION_DAYS = 30
# What one organisation may have waiting (queued or in processing), counted in bytes of input
# plus profile: beyond it a submission is refused with 429 (one CSIRT's flood stays its own).
QUEUE_BUDGET_BYTES = 64 * 1024 * 1024
# DI-17: a value's hold releases itself once this many distinct member organisations reported it.
CORROBORATION_K = 3


@dataclass
class HubContext:
    store: Store
    sealer: Sealer
    signer: Signer
    id_secret: bytes
    retention_days: int = RETENTION_DAYS
    queue_budget: int = QUEUE_BUDGET_BYTES
    hub_name: str = "De-identified attack-technique sharing hub"
    ner: bool = False  # DI-10b NER holds (config "ner": true; needs the `ner` extra)
    corroboration_k: int = CORROBORATION_K
    corroboration: bool = True  # off: every DI-17 hold waits for an analyst (bench comparison)
    today: Callable[[], date] = field(default=lambda: datetime.now(timezone.utc).date())
    # Set when a submission was queued in this process (or, on PostgreSQL, in another: the
    # store's LISTEN/NOTIFY listener sets it): wakes the in-process worker at once.
    work_ready: threading.Event = field(default_factory=threading.Event, repr=False)

    def notify_work(self) -> None:
        self.work_ready.set()

    def wait_for_work(self, timeout: float) -> None:
        """Sleep until a submission is queued or `timeout` seconds pass (the poll fallback)."""
        if self.work_ready.wait(timeout):
            self.work_ready.clear()

    @classmethod
    def from_datadir(cls, data: DataDir, store: Store | None = None) -> "HubContext":
        """Everything from a data directory (its store unless one is given)."""
        config = data.config()
        ctx = cls(
            store=store if store is not None else data.open_store(),
            sealer=Sealer.from_file(data.secrets / "data.key"),
            signer=Signer.from_file(data.secrets / "signing.key"),
            id_secret=read_secret_file(data.secrets / "id_hmac.key"),
            retention_days=int(config.get("retention_days", RETENTION_DAYS)),
            queue_budget=int(config.get("queue_budget_bytes", QUEUE_BUDGET_BYTES)),
            ner=config.get("ner") is True,
            corroboration_k=max(1, int(config.get("corroboration_k", CORROBORATION_K))),
            corroboration=bool(config.get("corroboration", True)),
        )
        ctx.store.attach_checkpointer(checkpoint_signer(ctx.signer))  # issue 12: signed audit checkpoints
        return ctx

"""What the hub's services need at run time, built once from a data directory: the store, the
data-at-rest sealer, the publication signer, the DI-13 id secret and the settings."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from typing import Callable

from .crypto import Sealer, Signer
from .datadir import DataDir
from .manifest import checkpoint_signer
from .secrets import read_secret_file
from .store.base import Store

# Inputs up to this size are sanitised in the request; larger ones by the background worker.
INLINE_LIMIT_BYTES = 256 * 1024
RETENTION_DAYS = 30
# DI-17: a value's hold releases itself once this many distinct member organisations reported it.
CORROBORATION_K = 3


@dataclass
class HubContext:
    store: Store
    sealer: Sealer
    signer: Signer
    id_secret: bytes
    inline_limit: int = INLINE_LIMIT_BYTES
    retention_days: int = RETENTION_DAYS
    hub_name: str = "De-identified attack-technique sharing hub"
    ner: bool = False  # DI-10b NER holds (config "ner": true; needs the `ner` extra)
    corroboration_k: int = CORROBORATION_K
    corroboration: bool = True  # off: every DI-17 hold waits for an analyst (bench comparison)
    today: Callable[[], date] = field(default=lambda: datetime.now(timezone.utc).date())

    @classmethod
    def from_datadir(cls, data: DataDir, store: Store | None = None) -> "HubContext":
        """Everything from a data directory (its store unless one is given)."""
        config = data.config()
        ctx = cls(
            store=store if store is not None else data.open_store(),
            sealer=Sealer.from_file(data.secrets / "data.key"),
            signer=Signer.from_file(data.secrets / "signing.key"),
            id_secret=read_secret_file(data.secrets / "id_hmac.key"),
            inline_limit=int(config.get("inline_limit_bytes", INLINE_LIMIT_BYTES)),
            retention_days=int(config.get("retention_days", RETENTION_DAYS)),
            ner=config.get("ner") is True,
            corroboration_k=max(1, int(config.get("corroboration_k", CORROBORATION_K))),
            corroboration=bool(config.get("corroboration", True)),
        )
        ctx.store.attach_checkpointer(checkpoint_signer(ctx.signer))  # issue 12: signed audit checkpoints
        return ctx

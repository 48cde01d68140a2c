"""`hub secrets rotate`: re-encrypt every sealed blob under a new data key.

Steps, each safe to interrupt: (1) the new key is written to `data.key.new` (0600); (2) one
database transaction re-seals every blob under it (all or nothing; `Sealer.from_file` opens
with both keys while `data.key.new` exists); (3) `data.key.new` atomically replaces `data.key`
and the old key is gone. Running the command again after an interruption finishes the job.
Stop `hub serve` first: a running server keeps sealing with the key it started with.
"""
from __future__ import annotations

import os
import secrets

from .crypto import Sealer, read_key_file


def rotate(data, store) -> dict:
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

    count = store.reseal_all(reseal)
    os.replace(pending, current_path)  # the old key is no longer on disk
    _fsync_dir(data.secrets)
    store.append_audit("cli", "secrets-rotate", "data.key", {"resealed": count, "resumed": resumed})
    return {"resealed": count, "resumed": resumed, "key_fingerprint": writer.fingerprint.hex()}


def _fsync_dir(path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)

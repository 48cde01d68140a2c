"""Where the hub's secrets live and how they are read.

The id secret keys DI-13's HMAC ids: with the same secret the same input gives the same ids.
"""
from __future__ import annotations

import os
import secrets as _random
from pathlib import Path


from .datadir import CONFIG, DataDir, default_dir
from .errors import Invalid

ID_SECRET_NAME = "id_hmac.key"


def read_secret_file(path: Path) -> bytes:
    """Read a secret file; at least 16 bytes after stripping white space. A file in a data
    directory's secrets/ is read only while no file there is open to group or others."""
    if path.parent.name == "secrets" and (path.parent.parent / CONFIG).is_file():
        DataDir(path.parent.parent).check_secret_permissions()
    try:
        data = path.read_bytes().strip()
    except OSError as exc:
        raise Invalid(f"secret file: cannot read {path} ({exc.strerror or type(exc).__name__})") from None
    if len(data) < 16:
        raise Invalid(f"secret file: {path} holds fewer than 16 bytes")
    return data


def load_id_secret(explicit: str | None) -> tuple[bytes, str | None]:
    """(secret, note): --secret-file, $HUB_SECRET_FILE, the data directory's key, else a one-off key."""
    if explicit:
        return read_secret_file(Path(explicit)), None
    env = os.environ.get("HUB_SECRET_FILE")
    if env:
        return read_secret_file(Path(env)), None
    stored = default_dir() / "secrets" / ID_SECRET_NAME
    if stored.is_file():
        DataDir(default_dir()).check_secret_permissions()
        return read_secret_file(stored), None
    return (_random.token_bytes(32),
            "no hub secret found: ids are keyed with a one-off secret, so this output is not "
            "reproducible (pass --secret-file or set HUB_SECRET_FILE)")

"""The hub data directory: configuration, the store and the secrets.

    DIR/config.json          database URL, operator organisation, API root
    DIR/hub.sqlite3          the embedded store (unless a PostgreSQL URL is configured)
    DIR/secrets/id_hmac.key  HMAC key for regenerated ids (DI-13)
    DIR/secrets/data.key     AES-256-GCM key for data at rest
    DIR/secrets/signing.key  Ed25519 key that signs publications
Secret files are created mode 0600 inside a 0700 directory, and the hub refuses to use them
(`hub serve`, `hub init`, reading the id key) while any file under secrets/ is readable or
writable by group or others: exit 2 with the `chmod 600` that fixes it.

The whole data directory is private too (the database, its WAL, the configuration, logs kept
there): the hub runs with umask 077 (`hub.cli.main`), `hub init` leaves the directory 0700 and
every file 0600, and `hub serve` refuses to start while the directory or any file in it is open
to group or others (`check_permissions`).
"""
from __future__ import annotations

import json
import os
import secrets as _random
import stat
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey


from .crypto import Signer
from .errors import Invalid
from .manifest import checkpoint_signer
from .store import Store, open_store

CONFIG = "config.json"
SECRET_FILES = ("id_hmac.key", "data.key", "signing.key")
STORE_FILES = ("hub.sqlite3", "hub.sqlite3-wal", "hub.sqlite3-shm", "hub.sqlite3-journal")


class InsecureSecrets(Invalid):
    """A secret file others may read or change: the hub will not run with it."""


def default_dir() -> Path:
    """$HUB_DATA_DIR, else ./hubdata."""
    return Path(os.environ.get("HUB_DATA_DIR") or "hubdata")


@dataclass(frozen=True)
class DataDir:
    path: Path

    @property
    def config_path(self) -> Path:
        return self.path / CONFIG

    @property
    def secrets(self) -> Path:
        return self.path / "secrets"

    def exists(self) -> bool:
        """True once `hub init` has run here."""
        return self.config_path.is_file()

    def config(self) -> dict:
        """The configuration written by `hub init` (Invalid if there is none)."""
        if not self.exists():
            raise Invalid(f"data directory {self.path} is not initialised (run: hub init --data-dir {self.path})")
        try:
            return json.loads(self.config_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            raise Invalid(f"data directory {self.path}: {CONFIG} is unreadable") from None

    def database_url(self) -> str:
        return self.config()["database_url"]

    def write_config(self, config: dict) -> None:
        self.path.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd = os.open(self.config_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(json.dumps(config, indent=2) + "\n")
        os.chmod(self.config_path, 0o600)

    def make_private(self) -> None:
        """Directories 0700, files 0600 (what `hub init` leaves, whatever the caller's umask)."""
        os.chmod(self.path, 0o700)
        for path in self.path.rglob("*"):
            if path.is_symlink():
                continue
            os.chmod(path, 0o700 if path.is_dir() else 0o600)

    def check_permissions(self) -> None:
        """InsecureSecrets (exit 2) when the data directory or a file the hub keeps there (the
        configuration, the embedded database and its WAL/journal, the secrets) is open to group
        or others (mode & 0o077), naming it and the command that fixes it. Other files an
        operator puts there are out of others' reach through the 0700 directory."""
        self.check_secret_permissions()
        own = [self.path / name for name in (CONFIG, *STORE_FILES)]
        for path in (self.path, *own):
            try:
                st = path.lstat()
            except OSError:
                continue
            if (stat.S_ISREG(st.st_mode) or stat.S_ISDIR(st.st_mode)) and st.st_mode & 0o077:
                kind = "directory" if stat.S_ISDIR(st.st_mode) else "file"
                raise InsecureSecrets(f"data {kind} {path} is accessible to group or others "
                                      f"(mode {stat.S_IMODE(st.st_mode):04o}); fix: chmod -R go-rwx {self.path}")

    def create_secrets(self) -> None:
        """Generate the three secrets (never overwriting existing ones)."""
        self.secrets.mkdir(parents=True, exist_ok=True)
        os.chmod(self.secrets, 0o700)
        material = {
            "id_hmac.key": _random.token_hex(32).encode(),
            "data.key": _random.token_hex(32).encode(),
            "signing.key": Ed25519PrivateKey.generate().private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()),
        }
        for name, data in material.items():
            target = self.secrets / name
            if target.exists():
                continue
            fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
        self.check_secret_permissions()

    def check_secret_permissions(self) -> None:
        """InsecureSecrets (exit 2) naming the first file under secrets/ that group or others
        may read or write (mode & 0o077), with the command that fixes it."""
        if not self.secrets.is_dir():
            return
        for path in sorted(self.secrets.rglob("*")):
            try:
                st = path.stat()
            except OSError:
                continue
            if stat.S_ISREG(st.st_mode) and st.st_mode & 0o077:
                raise InsecureSecrets(f"secret file {path} is accessible to group or others "
                                      f"(mode {stat.S_IMODE(st.st_mode):04o}); fix: chmod 600 {path}")

    def open_store(self) -> Store:
        """The configured store, schema migrated."""
        store = open_store(self.database_url())
        store.migrate()
        key = self.secrets / "signing.key"
        if key.is_file():  # the hub's audit log is checkpointed with its signing key (issue 12)
            store.attach_checkpointer(checkpoint_signer(Signer.from_file(key)))
        return store


def sqlite_url(path: Path) -> str:
    """The SQLAlchemy URL of the embedded store file."""
    return f"sqlite:///{path.resolve()}"

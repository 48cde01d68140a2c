"""Waking workers in other processes on SQLite, as LISTEN/NOTIFY does on PostgreSQL.

SQLite has no notification channel, and the workers of one SQLite hub all run on its machine
(`hub serve`'s worker process, `hub worker`). Each listener owns a named pipe (FIFO) in a
directory of its own named after the database file; a committed submission writes one byte to
every pipe there, so every idle worker wakes at once instead of at its next poll. The pipes carry
no data. They live in the user's runtime directory (else the temporary directory), not in the data
directory, which operators copy and back up. A directory that is not this user's alone is not used.
POSIX only: elsewhere, and for an in-memory database, workers rely on their poll.
"""
from __future__ import annotations

import errno
import hashlib
import logging
import os
import select
import stat
import tempfile
import threading
import uuid
from pathlib import Path
from typing import Callable

log = logging.getLogger(__name__)


def wake_dir(database: str | None) -> Path | None:
    """The pipes' directory for a SQLite database file (None: in memory, or no FIFOs here)."""
    if not database or database == ":memory:" or database.startswith("file:") or not hasattr(os, "mkfifo"):
        return None
    runtime = os.environ.get("XDG_RUNTIME_DIR") or ""
    base = runtime if runtime and os.path.isdir(runtime) else tempfile.gettempdir()
    digest = hashlib.sha256(os.path.realpath(database).encode()).hexdigest()[:20]
    return Path(base) / f"hub-wake-{os.getuid()}-{digest}"


def _ours(directory: Path) -> bool:
    """A real directory (not a link) of this user's that nobody else can enter."""
    try:
        st = directory.lstat()
    except OSError:
        return False
    return stat.S_ISDIR(st.st_mode) and st.st_uid == os.getuid() and not st.st_mode & 0o077


def signal(directory: Path) -> None:
    """One byte to every listener's pipe; a pipe nobody reads any more (its process died) is removed."""
    if not _ours(directory):
        return  # no listener ever started (or a directory we must not trust)
    try:
        names = os.listdir(directory)
    except OSError:
        return
    for name in names:
        if name.startswith("."):
            continue  # a listener still setting its pipe up
        path = directory / name
        try:
            fd = os.open(path, os.O_WRONLY | os.O_NONBLOCK)
        except OSError as exc:
            if exc.errno == errno.ENXIO:  # no reader: a listener that died without cleaning up
                _unlink(path)
            continue
        try:
            os.write(fd, b"\0")
        except OSError:
            pass  # full: that listener has wakes waiting already
        finally:
            os.close(fd)


def listen(directory: Path, on_signal: Callable[[], None], stop: threading.Event) -> threading.Thread | None:
    """A daemon thread calling `on_signal` for every `signal`, until `stop` is set."""
    try:
        directory.mkdir(mode=0o700, exist_ok=True)
        if not _ours(directory):
            raise PermissionError("not this user's alone")
        name = f"{os.getpid()}-{uuid.uuid4().hex[:12]}"
        hidden, path = directory / f".{name}", directory / name
        os.mkfifo(hidden, 0o600)
        reader = os.open(hidden, os.O_RDONLY | os.O_NONBLOCK)
        # Our own writer end keeps the pipe from reporting hang-up whenever a signaller closes.
        keeper = os.open(hidden, os.O_WRONLY | os.O_NONBLOCK)
        os.rename(hidden, path)  # visible to signallers only once it has a reader
    except OSError as exc:
        log.warning("queue listener: no wake pipe (%s); workers poll", type(exc).__name__)
        return None

    def run() -> None:
        try:
            while not stop.is_set():
                ready, _, _ = select.select([reader], [], [], 1.0)
                if ready:
                    try:
                        os.read(reader, 4096)
                    except BlockingIOError:
                        continue
                    on_signal()
        finally:
            os.close(reader)
            os.close(keeper)
            _unlink(path)

    thread = threading.Thread(target=run, name="hub-queue-listener", daemon=True)
    thread.start()
    return thread


def _unlink(path: Path) -> None:
    try:
        path.unlink()
    except OSError:
        pass

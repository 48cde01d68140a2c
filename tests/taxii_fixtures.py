"""A real `hub serve` over a real socket, on SQLite or PostgreSQL, set up through the CLI."""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import uuid
from contextlib import contextmanager
from pathlib import Path

import requests

from conftest import ROOT

PG_ADMIN_URL = os.environ.get("HUB_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")


def hub(*args: str, data_dir: Path, check: bool = True) -> dict | subprocess.CompletedProcess:
    """Run the hub CLI with --json and return its JSON output."""
    proc = subprocess.run([sys.executable, "-m", "hub", *args, "--data-dir", str(data_dir), "--json"],
                          capture_output=True, text=True, cwd=ROOT)
    if not check:
        return proc
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


@contextmanager
def pg_database():
    """A fresh PostgreSQL database for one test module, dropped afterwards."""
    import psycopg

    name = "hub_test_" + uuid.uuid4().hex[:12]
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield PG_ADMIN_URL.replace("postgresql://", "postgresql+psycopg://").rsplit("/", 1)[0] + "/" + name
    finally:
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def child_pids(pid: int | str) -> list[str]:
    """The process's children, whichever of its threads started them (Linux /proc)."""
    out = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            out += (task / "children").read_text().split()
        except OSError:
            pass  # that thread ended meanwhile
    return sorted(out)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """`hub serve` in a subprocess; restartable. `args` are extra `hub serve` options; with
    `log`, the server's output goes to that file (else stderr is kept for a failed start)."""

    def __init__(self, data_dir: Path, *args: str, log: Path | None = None):
        self.data_dir = data_dir
        self.args = args
        self.log = log
        self.port = free_port()
        self.proc = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> "Server":
        out = open(self.log, "ab") if self.log else None
        self.proc = subprocess.Popen([sys.executable, "-m", "hub", "serve", "--data-dir", str(self.data_dir),
                                      "--port", str(self.port), *self.args], cwd=ROOT,
                                     stdout=out or subprocess.DEVNULL,
                                     stderr=subprocess.STDOUT if out else subprocess.PIPE)
        if out:
            out.close()  # the child holds its own descriptor
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if requests.get(self.base + "/healthz", timeout=1).status_code == 200:
                    return self
            except (requests.ConnectionError, requests.Timeout):  # --processes: bound before ready
                time.sleep(0.1)
            if self.proc.poll() is not None:
                output = self.log.read_bytes() if self.log else self.proc.stderr.read()
                raise RuntimeError("hub serve exited: " + output.decode(errors="replace")[-2000:])
        raise RuntimeError("hub serve did not come up")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=10)

    def restart(self) -> None:
        self.stop()
        self.start()

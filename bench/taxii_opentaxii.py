"""OpenTAXII 0.10.0b1 for `bench/taxii.py`, in its own venv (it needs SQLAlchemy < 2).

`ensure_venv()` creates the venv (`python3 -m venv`, `pip install opentaxii==0.10.0b1 gunicorn`)
or reuses it. `OpenTaxii` configures one instance for TAXII 2.1 only (taxii1 disabled), with
SQLite for accounts and data, through OpenTAXII's own commands: `opentaxii-create-account`
(an admin account; prints a JWT), `opentaxii-add-api-root`, `opentaxii-add-collection`. It is
served by gunicorn (OpenTAXII's documented production server, `--config python:opentaxii.http`),
one gthread worker with 8 threads, like `hub serve --workers 8` (one process, 8 threads).
Objects are loaded the way a TAXII client would: POST envelopes to the collection's objects
endpoint (OpenTAXII has no bulk import command for TAXII 2 objects).
"""
from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import time
import uuid
from pathlib import Path

import requests

from taxii_common import ACCEPT_TAXII, BearerAuth, ServerProcess, children, free_port, indicator_chunks, run_command

VERSION = "0.10.0b1"
DEFAULT_VENV = Path("/tmp/hub-bench-opentaxii-venv")
USER = "bench"
POST_BATCH = 1000  # objects per POSTed envelope


class SetupFailed(RuntimeError):
    """OpenTAXII could not be installed, configured or started; the message says which step."""


def ensure_venv(venv: Path, log=print) -> Path:
    """The venv's bin directory, with opentaxii==VERSION and gunicorn installed."""
    bin_dir = venv / "bin"
    probe = [str(bin_dir / "python"), "-c", "import opentaxii, gunicorn; print(opentaxii.__version__)"]
    if (bin_dir / "python").exists():
        try:
            done, _ = run_command(probe, timeout=60, what="opentaxii version probe")
            if done.returncode == 0 and done.stdout.strip() == VERSION and (bin_dir / "gunicorn").exists():
                return bin_dir
        except RuntimeError:
            pass
    python3 = shutil.which("python3")
    if python3 is None:
        raise SetupFailed("no python3 on PATH to create the OpenTAXII venv")
    log(f"… creating the OpenTAXII venv at {venv} (pip install opentaxii=={VERSION} gunicorn)")
    done, _ = run_command([python3, "-m", "venv", str(venv)], timeout=300, what="python3 -m venv")
    if done.returncode != 0:
        raise SetupFailed(f"python3 -m venv {venv} failed: {done.stderr.strip()[-500:]}")
    done, _ = run_command([str(bin_dir / "pip"), "install", "-q", "--disable-pip-version-check",
                           f"opentaxii=={VERSION}", "gunicorn"], timeout=1200, what="pip install opentaxii")
    if done.returncode != 0:
        raise SetupFailed(f"pip install opentaxii=={VERSION} gunicorn failed: {done.stderr.strip()[-800:]}")
    done, _ = run_command(probe, timeout=60, what="opentaxii version probe")
    if done.returncode != 0 or done.stdout.strip() != VERSION:
        raise SetupFailed(f"opentaxii does not import in {venv}: {(done.stderr or done.stdout).strip()[-800:]}")
    return bin_dir


def _config_yaml(workdir: Path, port: int, secret: str) -> str:
    # taxii1 set to null: TAXII 2.1 only. YAML is written by hand (PyYAML is not in the hub venv).
    return f"""\
domain: "127.0.0.1:{port}"
support_basic_auth: yes
return_server_error_details: no
auth_api:
  class: opentaxii.auth.sqldb.SQLDatabaseAPI
  parameters:
    db_connection: sqlite:///{workdir / 'auth.db'}
    create_tables: yes
    secret: {secret}
    token_ttl_secs: 86400
taxii1:
taxii2:
  persistence_api:
    class: opentaxii.persistence.sqldb.Taxii2SQLDatabaseAPI
    parameters:
      db_connection: sqlite:///{workdir / 'data.db'}
      create_tables: yes
  title: "OpenTAXII (bench)"
  public_discovery: true
  max_content_length: 209715200
logging:
  opentaxii: warning
  root: warning
"""


class OpenTaxii:
    """One configured OpenTAXII instance (fresh SQLite databases in `workdir`)."""

    def __init__(self, bin_dir: Path, workdir: Path, threads: int = 8):
        self.bin, self.workdir, self.threads = bin_dir, workdir, threads
        self.port = free_port()
        self.password = secrets.token_urlsafe(16)
        self.api_root_id = str(uuid.uuid4())
        self.collection_id: str | None = None
        self.token: str | None = None
        self.server: ServerProcess | None = None
        workdir.mkdir(parents=True, exist_ok=True)
        self.config = workdir / "opentaxii.yml"
        self.config.write_text(_config_yaml(workdir, self.port, secrets.token_hex(32)), encoding="utf-8")
        self.env = {**os.environ, "OPENTAXII_CONFIG": str(self.config), "PYTHONWARNINGS": "ignore"}
        self.env.pop("VIRTUAL_ENV", None)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def collection_url(self) -> str:
        return f"{self.base}/taxii2/{self.api_root_id}/collections/{self.collection_id}/"

    def _cli(self, *argv: str, what: str) -> str:
        done, _ = run_command([str(self.bin / argv[0]), *argv[1:]], timeout=120, env=self.env, cwd=self.workdir,
                              what=what)
        if done.returncode != 0:
            raise SetupFailed(f"{what} failed (exit {done.returncode}): {(done.stderr or done.stdout).strip()[-800:]}")
        return done.stdout

    def setup(self) -> None:
        """Account (admin), API root and collection, with OpenTAXII's own commands."""
        out = self._cli("opentaxii-create-account", "-u", USER, "-p", self.password, "-a",
                        what="opentaxii-create-account")
        tokens = [line.split(":", 1)[1].strip() for line in out.splitlines() if line.startswith("token:")]
        if not tokens:
            raise SetupFailed(f"opentaxii-create-account printed no token: {out.strip()[-300:]}")
        self.token = tokens[-1]
        self._cli("opentaxii-add-api-root", "-t", "bench", "-i", self.api_root_id, "--default",
                  what="opentaxii-add-api-root")
        self._cli("opentaxii-add-collection", "-r", self.api_root_id, "-t", "bench", "-a", "bench",
                  what="opentaxii-add-collection")

    def start(self) -> None:
        argv = [str(self.bin / "gunicorn"), "opentaxii.http:app", "--config", "python:opentaxii.http",
                "--bind", f"127.0.0.1:{self.port}", "--workers", "1", "--worker-class", "gthread",
                "--threads", str(self.threads), "--timeout", "600"]
        done, _ = run_command([str(self.bin / "gunicorn"), "--help"], timeout=60, what="gunicorn --help")
        if "--no-control-socket" in done.stdout:  # newer gunicorn: no shared control socket in $HOME
            argv.append("--no-control-socket")
        self.server = ServerProcess(argv, self.workdir / "gunicorn.log", cwd=self.workdir, env=self.env).start()
        try:
            self.server.wait_ready(f"{self.base}/taxii2/", timeout=90, headers={"Accept": ACCEPT_TAXII})
        except RuntimeError as exc:
            raise SetupFailed(f"gunicorn (OpenTAXII) did not start: {exc}") from None
        if self.collection_id is None:
            resp = requests.get(f"{self.base}/taxii2/{self.api_root_id}/collections/", auth=self.bearer(),
                                headers={"Accept": ACCEPT_TAXII}, timeout=30)
            if resp.status_code != 200:
                raise SetupFailed(f"listing OpenTAXII collections answered {resp.status_code}: {resp.text[:300]}")
            colls = resp.json().get("collections", [])
            if not colls:
                raise SetupFailed("OpenTAXII lists no collection after opentaxii-add-collection")
            self.collection_id = colls[0]["id"]

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop()
            self.server = None

    def worker_pid(self) -> int | None:
        """gunicorn's worker (the process that serves); the master only supervises it."""
        if self.server is None:
            return None
        kids = children(self.server.pid)
        return kids[0] if kids else None

    def bearer(self) -> BearerAuth:
        return BearerAuth(self.token or "")

    def basic(self) -> tuple[str, str]:
        return (USER, self.password)

    def ingest(self, n: int, timeout: float) -> tuple[float, int]:
        """POST n indicators in envelopes of POST_BATCH; (wall seconds, objects stored).
        Generation of the objects is outside the timing."""
        url = self.collection_url + "objects/"
        headers = {"Accept": ACCEPT_TAXII, "Content-Type": ACCEPT_TAXII}
        bodies = []
        for objs in indicator_chunks(n, POST_BATCH):
            bodies.append(json.dumps({"objects": objs}).encode())
        stored = 0
        deadline = time.monotonic() + timeout
        with requests.Session() as session:
            session.auth = self.bearer()
            start = time.perf_counter()
            for body in bodies:
                resp = session.post(url, data=body, headers=headers, timeout=timeout)
                if resp.status_code not in (200, 202):
                    raise RuntimeError(f"OpenTAXII POST objects answered {resp.status_code}: {resp.text[:300]}")
                status = resp.json()
                stored += int(status.get("success_count", 0))
                if time.monotonic() > deadline:
                    raise RuntimeError(f"OpenTAXII ingest exceeded {timeout:.0f} s after {stored:,} objects")
            seconds = time.perf_counter() - start
        return seconds, stored

    def __enter__(self) -> "OpenTaxii":
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

"""Shared pieces of `bench/taxii.py`: server subprocesses that are always cleaned up, the
deterministic indicator generator, and the HTTP measurements (latency percentiles, a full poll
with taxii2-client, the server's peak RSS). Server-agnostic: nothing here imports the hub."""
from __future__ import annotations

import atexit
import os
import signal
import socket
import statistics
import subprocess
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Iterator

import orjson
import requests

ACCEPT_TAXII = "application/taxii+json;version=2.1"


# ---------------------------------------------------------------------------- subprocesses
_LIVE: dict[int, "ServerProcess"] = {}


def _kill_group(pgid: int, sig: int) -> None:
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def _cleanup_all() -> None:
    for proc in list(_LIVE.values()):
        proc.stop()


atexit.register(_cleanup_all)


def install_signal_handlers() -> None:
    """SIGTERM/SIGHUP unwind like Ctrl-C, so every `finally` (servers, temp dirs, databases) runs."""
    def _raise(signum, _frame):
        raise KeyboardInterrupt(f"signal {signum}")

    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, _raise)


class ServerProcess:
    """A server in its own session (process group); `stop()` terminates the whole group, then
    kills it. Output goes to a log file (never a pipe that could fill up and block the server)."""

    def __init__(self, argv: list[str], log_path: Path, *, cwd: Path | None = None, env: dict | None = None):
        self.argv, self.log_path, self.cwd, self.env = argv, log_path, cwd, env
        self.proc: subprocess.Popen | None = None

    def start(self) -> "ServerProcess":
        log = open(self.log_path, "ab")
        try:
            self.proc = subprocess.Popen(self.argv, cwd=self.cwd, env=self.env, stdin=subprocess.DEVNULL,
                                         stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        finally:
            log.close()
        _LIVE[self.proc.pid] = self
        return self

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def log_tail(self, chars: int = 1500) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-chars:].strip()
        except OSError:
            return ""

    def wait_ready(self, url: str, timeout: float = 60.0, **kwargs) -> None:
        """Poll `url` until it answers (any status below 500)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.alive():
                raise RuntimeError(f"server exited with {self.proc.returncode}: {self.log_tail()}")
            try:
                if requests.get(url, timeout=2, **kwargs).status_code < 500:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"server did not come up within {timeout:.0f} s: {self.log_tail()}")

    def stop(self, grace: float = 10.0) -> None:
        if self.proc is None:
            return
        pgid = self.proc.pid  # start_new_session: the process group id is the leader's pid
        if self.proc.poll() is None:
            _kill_group(pgid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                pass
        _kill_group(pgid, signal.SIGKILL)  # stragglers (e.g. gunicorn workers) as well
        try:
            self.proc.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            pass
        _LIVE.pop(self.proc.pid, None)

    def __enter__(self) -> "ServerProcess":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def run_command(argv: list[str], *, timeout: float, cwd: Path | None = None, env: dict | None = None,
                what: str = "command") -> tuple[subprocess.CompletedProcess, float]:
    """Run a command in its own process group with a time limit; (result, wall seconds).
    On timeout the whole group is killed and RuntimeError raised."""
    start = time.perf_counter()
    proc = subprocess.Popen(argv, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, start_new_session=True)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        _kill_group(proc.pid, signal.SIGKILL)
        proc.communicate()
        raise RuntimeError(f"{what} did not finish within {timeout:.0f} s") from None
    except BaseException:
        _kill_group(proc.pid, signal.SIGKILL)
        proc.communicate()
        raise
    seconds = time.perf_counter() - start
    return subprocess.CompletedProcess(argv, proc.returncode, out.decode(errors="replace"),
                                       err.decode(errors="replace")), seconds


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def vm_hwm_mib(pid: int) -> float | None:
    """Peak resident set size (VmHWM) of a live process, MiB; None if it cannot be read."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def children(pid: int) -> list[int]:
    """Direct children of a process (Linux /proc)."""
    out: list[int] = []
    try:
        for task in Path(f"/proc/{pid}/task").iterdir():
            out += [int(p) for p in (task / "children").read_text().split()]
    except OSError:
        pass
    return out


# ---------------------------------------------------------------------------- data
_BASE = datetime(2025, 1, 1, tzinfo=timezone.utc)
_DOC_NETS = ("192.0.2", "198.51.100", "203.0.113")  # RFC 5737 documentation ranges only
_GOLDEN = 0x9E3779B97F4A7C15F39CC0605CEDC835  # odd: i -> i * _GOLDEN mod 2**128 is a bijection


def indicator(i: int) -> dict:
    """The i-th benchmark indicator (deterministic, ~360 bytes of JSON). Patterns only use
    documentation address ranges and example.* domains, so the leak gate lets them through."""
    u = uuid.UUID(int=((i + 1) * _GOLDEN) % (1 << 128), version=4)
    ts = (_BASE + timedelta(seconds=i)).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    kind = i % 3
    if kind == 0:
        pattern = f"[ipv4-addr:value = '{_DOC_NETS[(i // 3) % 3]}.{(i // 9) % 254 + 1}']"
    elif kind == 1:
        pattern = f"[domain-name:value = 'c2-{i}.example.net']"
    else:
        pattern = f"[url:value = 'https://dl-{i % 997}.example.com/p/{i}.bin']"
    return {"type": "indicator", "spec_version": "2.1", "id": f"indicator--{u}", "created": ts, "modified": ts,
            "name": f"Bench indicator {i}", "indicator_types": ["malicious-activity"], "pattern": pattern,
            "pattern_type": "stix", "valid_from": ts}


def indicator_chunks(n: int, chunk: int = 10_000) -> Iterator[list[dict]]:
    for start in range(0, n, chunk):
        yield [indicator(i) for i in range(start, min(n, start + chunk))]


def write_bundle(path: Path, n: int) -> int:
    """Write a STIX 2.1 bundle of n indicators, streaming (memory stays flat in n); bytes written."""
    tmp = path.with_name(path.name + ".part")
    with open(tmp, "wb") as fh:
        fh.write(b'{"type":"bundle","id":"bundle--00000000-0000-4000-8000-0000000000b1","objects":[')
        first = True
        for objs in indicator_chunks(n):
            fh.write((b"" if first else b",") + b",".join(orjson.dumps(o) for o in objs))
            first = False
        fh.write(b"]}\n")
    os.replace(tmp, path)
    return path.stat().st_size


# ---------------------------------------------------------------------------- measuring
@dataclass
class Latency:
    """Wall-clock latencies (seconds) of sequential requests on one keep-alive session."""

    samples: list[float] = field(default_factory=list)

    def pct(self, q: float) -> float:
        s = sorted(self.samples)
        if len(s) == 1:
            return s[0]
        return statistics.quantiles(s, n=100, method="inclusive")[int(q) - 1]

    @property
    def p50_ms(self) -> float:
        return statistics.median(self.samples) * 1000

    @property
    def p95_ms(self) -> float:
        return self.pct(95) * 1000

    def cell(self) -> str:
        if not self.samples:
            return "—"
        p50, p95 = self.p50_ms, self.p95_ms
        spec = ".2f" if p50 < 10 else (".1f" if p50 < 1000 else ",.0f")
        return f"{format(p50, spec)} ({format(p95, spec)})"


class BearerAuth(requests.auth.AuthBase):
    def __init__(self, token: str):
        self.token = token

    def __call__(self, r):
        r.headers["Authorization"] = f"Bearer {self.token}"
        return r


def timed_pages(session: requests.Session, url: str, params: dict, *, repeat: int, warmup: int,
                expect: int, timeout: float) -> tuple[Latency, requests.Response]:
    """`repeat` timed GETs of one page (after `warmup` untimed ones); each must be 200 with
    `expect` objects (None: at least one). The timing covers the request and reading the whole body."""
    lat = Latency()
    last = None
    for k in range(warmup + repeat):
        start = time.perf_counter()
        resp = session.get(url, params=params, timeout=timeout, headers={"Accept": ACCEPT_TAXII})
        body = resp.content
        elapsed = time.perf_counter() - start
        if resp.status_code != 200:
            raise RuntimeError(f"GET {url} answered {resp.status_code}: {body[:300]!r}")
        if k == 0:
            got = len(orjson.loads(body).get("objects", []))
            if (got != expect) if expect is not None else not got:
                raise RuntimeError(f"GET {url} returned {got} objects, expected {expect or 'some'}")
        if k >= warmup:
            lat.samples.append(elapsed)
        last = resp
    return lat, last


def full_poll(collection_url: str, auth, *, per_request: int, timeout: float, deadline: float
              ) -> tuple[int, float, list[str]]:
    """Page through a whole collection with taxii2-client's `as_pages`; returns (objects, seconds,
    X-TAXII-Date-Added-Last of every page). Raises if `deadline` (monotonic) passes."""
    from taxii2client.v21 import Collection, as_pages

    coll = Collection(collection_url, auth=auth)
    session = coll._conn.session
    original = session.request

    def request_with_timeout(*args, **kwargs):
        kwargs.setdefault("timeout", timeout)
        return original(*args, **kwargs)

    session.request = request_with_timeout
    last_added: list[str] = []

    def remember(resp, *args, **kwargs):
        if "/objects/" in resp.url:
            last_added.append(resp.headers.get("X-TAXII-Date-Added-Last", ""))

    session.hooks["response"].append(remember)
    count = 0
    start = time.perf_counter()
    try:
        for envelope in as_pages(coll.get_objects, per_request=per_request):
            count += len(envelope.get("objects", []))
            if time.monotonic() > deadline:
                raise RuntimeError(f"full poll exceeded its time limit after {count:,} objects")
    finally:
        seconds = time.perf_counter() - start
        coll.close()
    return count, seconds, last_added

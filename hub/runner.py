"""Running the hub's processes: `hub serve` (waitress; one or several web processes on one
listening socket, with or without the in-process worker) and `hub worker` (worker threads only).

Any number of `hub serve --no-worker` and `hub worker` processes, on one or several machines, may
share one PostgreSQL database: workers claim submissions with leases (hub.worker), PostgreSQL
LISTEN/NOTIFY wakes them, cursors are stateless, and the rate limit is kept in a shared storage
(hub.ratelimit: Redis) so it holds across processes.
"""
from __future__ import annotations

import ctypes
import os
import signal
import socket
import sys
import threading

import waitress

from .context import HubContext
from .errors import Invalid
from .worker import LEASE_SECONDS, PER_ORG_CAP, Worker


def start_workers(data, ctx: HubContext, count: int) -> list[Worker]:
    """`count` worker threads over `ctx`, woken in-process and by other processes' NOTIFY.
    config.json: `worker_lease_seconds`, `worker_per_org_cap`, `worker_poll_seconds`."""
    config = data.config()
    options = {"lease_seconds": float(config.get("worker_lease_seconds", LEASE_SECONDS)),
               "per_org_cap": int(config.get("worker_per_org_cap", PER_ORG_CAP)),
               "poll_seconds": float(config.get("worker_poll_seconds", 0.5))}
    if options["lease_seconds"] <= 0 or options["per_org_cap"] < 1 or options["poll_seconds"] <= 0:
        raise Invalid("worker_lease_seconds, worker_per_org_cap and worker_poll_seconds must be positive")
    workers = [Worker(ctx, **options) for _ in range(count)]
    if not workers:
        return workers  # web only: nothing to wake
    # Request threads share the interpreter lock with the worker: hand it over more often
    # (default 5 ms) so a feed request waits less behind a sanitising step.
    sys.setswitchinterval(0.001)
    ctx.store.listen_queued(ctx.notify_work, threading.Event())  # other processes' NOTIFY
    for w in workers:
        w.start()
    return workers


def run_worker(data, threads: int) -> int:
    """`hub worker`: sanitise queued submissions until SIGTERM or SIGINT."""
    if threads < 1:
        raise Invalid("--threads must be at least 1")
    store = data.open_store()
    ctx = HubContext.from_datadir(data, store)
    workers = start_workers(data, ctx, threads)
    done = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: done.set())
    print(f"hub: worker running ({threads} thread(s), pid {os.getpid()})", file=sys.stderr, flush=True)
    done.wait()
    for w in workers:
        w.stop()
    for w in workers:
        w.join(timeout=30)  # the submission in hand is finished; an unfinished one's lease runs out
    store.close()
    return 0


def serve_processes(host: str, port: int, processes: int, serve_one) -> int:
    """Bind once, then fork `processes` children that each call `serve_one(sockets)`; the parent
    forwards SIGTERM/SIGINT and returns when every child has exited."""
    sock = socket.create_server((host, port), reuse_port=False, backlog=1024)
    children = []
    for _ in range(processes):
        pid = os.fork()
        if pid == 0:  # child: its own store, app and threads (nothing opened before the fork)
            _die_with_parent()
            code = 1
            try:
                code = serve_one([sock])
            finally:
                os._exit(code)
        children.append(pid)

    def forward(signum, _frame):
        for pid in children:
            try:
                os.kill(pid, signum)
            except ProcessLookupError:
                pass

    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, forward)
    code = 0
    for pid in children:
        _, status = os.waitpid(pid, 0)
        code = code or max(0, os.waitstatus_to_exitcode(status))
    sock.close()
    return code


def _die_with_parent() -> None:
    """Linux: SIGTERM this child when the parent dies, even by SIGKILL (no orphan keeps the port)."""
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def waitress_serve(app, *, threads: int, sockets=None, host=None, port=None) -> None:
    # Bodies far beyond what the app accepts are refused by waitress before it buffers them
    # (plain-text 413); up to twice the limit the app answers with its JSON 413 message.
    options = {"sockets": sockets} if sockets else {"host": host, "port": port}
    waitress.serve(app, threads=threads, ident="hub", _quiet=True,
                   max_request_body_size=2 * app.config["MAX_CONTENT_LENGTH"] + 1024 * 1024, **options)

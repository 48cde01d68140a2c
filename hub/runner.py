"""Running the hub's processes: `hub serve` (waitress; one or several web processes on one
listening socket, and forked worker processes unless --no-worker) and `hub worker`.

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
import time

import waitress

from .context import HubContext
from .errors import Invalid
from .worker import LEASE_SECONDS, PER_ORG_CAP, Worker

# A worker process's nice value (config.json `worker_nice`): sanitising is batch work, and peers'
# requests on the same cores go first (bench/load.py measures the difference).
WORKER_PROCESS_NICE = 10


def worker_options(config: dict) -> dict:
    """The workers' settings from config.json (`worker_lease_seconds`, `worker_per_org_cap`,
    `worker_poll_seconds`, `worker_nice`); Invalid names a bad one."""
    try:
        options = {"lease_seconds": float(config.get("worker_lease_seconds", LEASE_SECONDS)),
                   "per_org_cap": int(config.get("worker_per_org_cap", PER_ORG_CAP)),
                   "poll_seconds": float(config.get("worker_poll_seconds", 0.5))}
    except (TypeError, ValueError):
        options = {}
    if not options or options["lease_seconds"] <= 0 or options["per_org_cap"] < 1 or options["poll_seconds"] <= 0:
        raise Invalid("config.json: worker_lease_seconds, worker_per_org_cap and worker_poll_seconds must be "
                      "positive numbers")
    nice = config.get("worker_nice", WORKER_PROCESS_NICE)
    if not isinstance(nice, int) or isinstance(nice, bool) or not 0 <= nice <= 19:
        raise Invalid("config.json: worker_nice must be a whole number from 0 to 19")
    return {**options, "nice": nice}


def start_workers(data, ctx: HubContext, count: int) -> list[Worker]:
    """`count` worker threads over `ctx`, woken in-process and by other processes' signals."""
    options = worker_options(data.config())
    options.pop("nice")
    workers = [Worker(ctx, **options) for _ in range(count)]
    if not workers:
        return workers  # nothing to wake
    ctx.store.listen_queued(ctx.notify_work, threading.Event())  # other processes' signals
    for w in workers:
        w.start()
    return workers


def run_worker(data, threads: int) -> int:
    """`hub worker`: sanitise queued submissions until SIGTERM or SIGINT."""
    if threads < 1:
        raise Invalid("--threads must be at least 1")
    _renice(worker_options(data.config())["nice"])
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


def spawn_worker_processes(data, count: int) -> list[int]:
    """`hub serve`'s sanitising: `count` forked `hub worker` processes (one thread each), started
    before anything is opened. A process, not a thread beside the request threads: sanitising is
    CPU-bound, and in one interpreter it would hold the lock peers' requests wait for. They die with
    the parent (SIGTERM, even when the parent is SIGKILLed), finishing the submission in hand."""
    pids = []
    for _ in range(count):
        pid = os.fork()
        if pid == 0:
            _die_with_parent()
            code = 1
            try:
                code = run_worker(data, 1)
            finally:
                os._exit(code)
        pids.append(pid)
    return pids


def exit_on_sigterm() -> None:
    """SIGTERM ends this process like Ctrl-C: waitress closes and `finally` blocks run."""
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))


def stop_processes(pids: list[int], timeout: float = 10.0) -> None:
    """SIGTERM each child and wait for it; SIGKILL after `timeout` seconds (a worker killed
    mid-way loses nothing: its lease runs out and another worker takes the submission)."""
    for pid in pids:
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
    deadline = time.monotonic() + timeout
    for pid in pids:
        while True:
            try:
                done, _ = os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:
                break
            if done:
                break
            if time.monotonic() > deadline:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
                break
            time.sleep(0.05)


def _renice(value: int) -> None:
    """Lower this process's priority (Linux: this thread and those it starts from now on)."""
    try:
        os.setpriority(os.PRIO_PROCESS, 0, max(value, os.getpriority(os.PRIO_PROCESS, 0)))
    except (OSError, AttributeError):
        pass


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

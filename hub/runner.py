"""Running the hub's processes: `hub serve` (waitress; one or several web processes on one
listening socket, and `hub worker` processes beside them unless --no-worker) and `hub worker`.

Any number of `hub serve --no-worker` and `hub worker` processes, on one or several machines, may
share one PostgreSQL database: workers claim submissions with leases (hub.worker), PostgreSQL
LISTEN/NOTIFY wakes them, cursors are stateless, and the rate limit is kept in a shared storage
(hub.ratelimit: Redis) so it holds across processes.
"""
from __future__ import annotations

import ctypes
import logging
import os
import signal
import socket
import subprocess
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
PARENT_ENV = "HUB_SERVE_PID"  # set by `hub serve` for the worker processes it starts

log = logging.getLogger(__name__)


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
    parent = os.environ.pop(PARENT_ENV, None)
    if parent:  # started by `hub serve`: end with it, even if it died before this line
        _die_with_parent()
        if str(os.getppid()) != parent:
            return 0
    _renice(worker_options(data.config())["nice"])
    store = data.open_store()
    ctx = HubContext.from_datadir(data, store)
    workers = start_workers(data, ctx, threads)
    # The handler only records the signal: taking a lock there (Event.set) deadlocks when a second
    # signal (SIGTERM from `hub serve` and from its death, say) lands while the first holds it.
    asked: list[int] = []
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda signum, _frame: asked.append(signum))
    print(f"hub: worker running ({threads} thread(s), pid {os.getpid()})", file=sys.stderr, flush=True)
    while not asked:
        time.sleep(0.2)
    for w in workers:
        w.stop()
    for w in workers:
        w.join(timeout=30)  # the submission in hand is finished; an unfinished one's lease runs out
    store.close()
    return 0


class WorkerProcesses:
    """`hub serve`'s sanitising: `count` `hub worker` processes (one thread each) beside the web
    processes. A process, not a thread beside the request threads: sanitising is CPU-bound, and in
    one interpreter it would hold the lock peers' requests wait for. Each is a fresh interpreter
    (exec, not fork: safe to restart from a process that already runs threads). One that dies is
    started again; all are stopped with `hub serve` and die with it even when it is SIGKILLed
    (they are told by SIGTERM and finish the submission in hand, or its lease runs out)."""

    def __init__(self, data, count: int):
        self.argv = [sys.executable, "-m", "hub", "worker", "--data-dir", str(data.path)]
        self.count = count
        self.stopping = threading.Event()
        self.current: dict[int, subprocess.Popen] = {}
        self._lock = threading.Lock()

    def start(self) -> "WorkerProcesses":
        for slot in range(self.count):
            threading.Thread(target=self._keep, args=(slot,), name=f"hub-worker-process-{slot}", daemon=True).start()
        return self

    def _keep(self, slot: int) -> None:
        env = {**os.environ, PARENT_ENV: str(os.getpid()),
               "HUB_LOG_LEVEL": logging.getLevelName(logging.getLogger().getEffectiveLevel())}
        while not self.stopping.is_set():
            with self._lock:
                if self.stopping.is_set():
                    return
                proc = self.current[slot] = subprocess.Popen(self.argv, env=env)
            code = proc.wait()
            if self.stopping.is_set():
                return
            log.warning("worker process %d exited (code %s); starting another", proc.pid, code)
            self.stopping.wait(1.0)  # no tight loop when it cannot start

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM each, wait, SIGKILL after `timeout` seconds (a worker killed mid-way loses
        nothing: its lease runs out and another worker takes the submission)."""
        with self._lock:
            self.stopping.set()
            procs = list(self.current.values())
        for proc in procs:
            if proc.poll() is None:
                proc.terminate()
        deadline = time.monotonic() + timeout
        for proc in procs:
            try:
                proc.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def exit_on_sigterm() -> None:
    """SIGTERM ends this process like Ctrl-C: waitress closes and `finally` blocks run."""
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))


def _renice(value: int) -> None:
    """Lower this process's priority (Linux: this thread and those it starts from now on)."""
    try:
        os.setpriority(os.PRIO_PROCESS, 0, max(value, os.getpriority(os.PRIO_PROCESS, 0)))
    except (OSError, AttributeError):
        pass


def serve_processes(host: str, port: int, processes: int, serve_one, then=lambda: None) -> int:
    """Bind once, then fork `processes` children that each call `serve_one(sockets)`; the parent
    calls `then()`, forwards SIGTERM/SIGINT and returns when every child has exited."""
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
    then()
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

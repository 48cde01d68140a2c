"""`hub serve` sanitises in a worker process of its own (issue 14): a CPU-bound sanitiser in the
web process would hold the interpreter lock peers' requests wait for. The worker process is woken
at once on SQLite (its wake pipe; the poll here is a minute), one that dies is started again, and
it never outlives `hub serve`, whether that is stopped (SIGTERM) or killed (SIGKILL)."""
from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from conftest import ROOT
from hub.datadir import DataDir
from review_fixtures import auth, demo, setup_hub
from taxii_fixtures import Server, child_pids


@pytest.fixture
def site(tmp_path):
    keys = setup_hub(tmp_path / "hub")
    data = DataDir(tmp_path / "hub")
    data.write_config({**data.config(), "worker_poll_seconds": 60})  # only a wake can explain speed
    log = tmp_path / "serve.log"
    server = Server(data.path, log=log).start()
    try:
        yield keys, server, log
    finally:
        server.stop()


def pids_of(server: Server, log: Path, workers: int = 1) -> tuple[str, str]:
    """(web pid, newest worker pid) from the server's start lines, once `workers` workers started."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        text = log.read_text(errors="replace")
        web, started = re.search(r"review at /review/ \(pid (\d+)\)", text), re.findall(r"worker running .*pid (\d+)", text)
        if web and len(started) >= workers:
            return web.group(1), started[-1]
        time.sleep(0.1)
    raise AssertionError("hub serve did not report its processes")


def submit_and_wait(server: Server, keys) -> tuple[str, str, float]:
    """(submission id, final status, seconds)."""
    body = {"bundle": demo("submission.json"), "victim_profile": demo("profile.json"), "victim_ref": "CASE-1"}
    start = time.monotonic()
    r = requests.post(f"{server.base}/api/v1/submissions", json=body, auth=auth(keys.submitter), timeout=60)
    assert r.status_code == 202, r.text
    status = "queued"
    while status in ("queued", "processing") and time.monotonic() - start < 30:
        time.sleep(0.05)
        status = requests.get(server.base + r.headers["Location"], auth=auth(keys.submitter), timeout=10).json()["status"]
    return r.json()["id"], status, time.monotonic() - start


def gone(pid: str, within: float) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if not Path(f"/proc/{pid}").exists() or "(Z)" in _state(pid):
            return True
        time.sleep(0.1)
    return False


def _state(pid: str) -> str:
    try:
        return "(" + Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] + ")"
    except OSError:
        return "(Z)"


def test_a_submission_is_sanitised_at_once_in_the_worker_process(site):
    keys, server, log = site
    web, worker = pids_of(server, log)
    assert web == str(server.proc.pid) and worker != web
    assert child_pids(web) == [worker]
    sid, status, seconds = submit_and_wait(server, keys)
    assert status == "review"
    assert seconds < 15  # woken, not polled (the poll is 60 s here)
    sanitised_by = re.search(rf"worker \S+?:(\d+):\w+: submission {sid} sanitised", log.read_text())
    assert sanitised_by and sanitised_by.group(1) == worker


def test_a_worker_process_that_dies_is_started_again(site):
    keys, server, log = site
    web, first = pids_of(server, log)
    os.kill(int(first), signal.SIGKILL)
    _web, second = pids_of(server, log, workers=2)
    assert second != first and child_pids(web) == [second]
    sid, status, _seconds = submit_and_wait(server, keys)
    assert status == "review"
    assert re.search(rf"worker \S+?:{second}:\w+: submission {sid} sanitised", log.read_text())


@pytest.mark.parametrize("how", [signal.SIGTERM, signal.SIGKILL], ids=["stopped", "killed"])
def test_the_worker_process_ends_with_hub_serve(site, how):
    _keys, server, log = site
    web, worker = pids_of(server, log)
    os.kill(int(web), how)
    server.proc.wait(timeout=30)
    assert gone(worker, within=20), f"the worker process outlived hub serve ({how.name})"


def test_a_worker_stops_on_a_burst_of_signals(site, tmp_path):
    """`hub serve` and the death of `hub serve` may both SIGTERM a worker at once: however many
    signals land together, it stops (a handler that takes a lock deadlocked on the second)."""
    keys, _server, _log = site
    log = tmp_path / "worker.log"
    with open(log, "ab") as out:
        worker = subprocess.Popen([sys.executable, "-m", "hub", "worker", "--data-dir", str(keys.data_dir)],
                                  cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while "worker running" not in log.read_text() and time.monotonic() < deadline:
            time.sleep(0.1)
        for _ in range(200):
            worker.send_signal(signal.SIGTERM)
        assert worker.wait(timeout=30) == 0
    finally:
        worker.kill()

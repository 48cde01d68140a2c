"""Store contract of the submission queue (issue 14), on SQLite and PostgreSQL: fair claims
(round-robin between organisations, a cap per organisation), leases renewed by their owner and
taken back when they run out, and concurrent claimers each getting a submission exactly once."""
from __future__ import annotations

import os
import stat
import threading
import time
from collections import Counter
from dataclasses import replace

from test_store import backend, pg_url, store  # noqa: F401  (fixtures)

from hub.domain import now_us
from hub.store import sqlite_wake
from hub.store.base import Submission

LEASE = 10_000_000  # 10 s in microseconds


def queue(store, org: str, n: int, start: int = 0) -> list[str]:
    if store.get_org(org) is None:
        store.add_org(org, "csirt")
    ids = []
    for i in range(start, start + n):
        now = now_us()
        sub = Submission(id=f"sub_{org}_{i:03d}", org=org, key_id="key_x", source="api", input_format="stix",
                         tlp="green", victim_ref=None, attribution=False, status="queued", mode="background",
                         needs_review=True, object_count=0, created=now, updated=now, sealed=b"x")
        store.add_submission(sub)
        ids.append(sub.id)
    return ids


def finish(store, sid: str) -> None:
    store.update_submission(sid, expect_status=("processing",), status="review")


def test_claims_take_turns_between_organisations(store):
    a = queue(store, "csirt-a", 4)  # a flood from one CSIRT first
    b = queue(store, "csirt-b", 2)
    order = []
    while (sid := store.claim_next("w1", now_us() + LEASE, 100)) is not None:
        order.append(sid)
        finish(store, sid)
    assert order == [a[0], b[0], a[1], b[1], a[2], a[3]]


def test_an_organisation_at_its_cap_waits_while_others_go(store):
    a = queue(store, "csirt-a", 3)
    assert store.claim_next("w1", now_us() + LEASE, 1) == a[0]
    assert store.claim_next("w2", now_us() + LEASE, 1) is None  # csirt-a has one in processing
    b = queue(store, "csirt-b", 1)
    assert store.claim_next("w2", now_us() + LEASE, 1) == b[0]
    finish(store, a[0])
    assert store.claim_next("w1", now_us() + LEASE, 1) == a[1]


def test_leases_are_renewed_by_their_owner_and_taken_back_when_they_run_out(store):
    (sid,) = queue(store, "csirt-a", 1)
    assert store.claim_next("w1", now_us() + LEASE, 2) == sid
    assert store.requeue_expired(now_us()) == 0  # alive
    assert store.renew_lease("w2", sid, now_us() + LEASE) is False  # not its claim
    assert store.renew_lease("w1", sid, now_us() + LEASE) is True
    assert store.requeue_expired(now_us() + 2 * LEASE) == 1  # w1 stopped renewing: it died
    assert store.get_submission(sid).status == "queued"
    assert store.claim_next("w2", now_us() + LEASE, 2) == sid
    assert store.renew_lease("w1", sid, now_us() + LEASE) is False  # the claim moved on
    finish(store, sid)
    assert store.renew_lease("w2", sid, now_us() + LEASE) is False  # finished: nothing to renew
    assert store.requeue_expired(now_us() + 2 * LEASE) == 0


def test_concurrent_claimers_get_each_submission_exactly_once(backend):
    ids = []
    for org in ("csirt-a", "csirt-b", "csirt-c"):
        ids += queue(backend.opened[0], org, 12)
    stores = [backend.open() for _ in range(4)]  # separate pools, as separate processes have
    got: list[str] = []
    lock = threading.Lock()

    def claimer(n: int) -> None:
        s = stores[n % 4]
        while (sid := s.claim_next(f"w{n}", now_us() + LEASE, 100)) is not None:
            with lock:
                got.append(sid)
            finish(s, sid)

    threads = [threading.Thread(target=claimer, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert Counter(got) == Counter(ids)


def test_a_status_read_leaves_the_sealed_data_and_the_draft_behind(store):
    """What clients poll while they wait: every field but the sealed input, the sealed private
    report and the draft, which can be megabytes each."""
    (sid,) = queue(store, "csirt-a", 1)
    store.update_submission(sid, expect_status=("queued",), draft='{"objects": []}', sealed_report=b"r")
    full, light = store.get_submission(sid), store.get_submission(sid, light=True)
    assert (full.sealed, full.sealed_report, full.draft) == (b"x", b"r", '{"objects": []}')
    assert (light.sealed, light.sealed_report, light.draft) == (None, None, None)
    assert replace(full, sealed=None, sealed_report=None, draft=None) == light


def test_a_queued_submission_wakes_other_stores_listeners_at_its_commit(backend):
    """Workers of other processes wake when a submission is queued: at the unit of work's commit
    (not before: the claim would find nothing), never for a unit that rolled back."""
    submitter, listener = backend.opened[0], backend.open()
    woke, stop = threading.Event(), threading.Event()
    listener.listen_queued(woke.set, stop)
    try:
        deadline = time.monotonic() + 15  # the listener connects in its own thread
        while not woke.is_set() and time.monotonic() < deadline:
            submitter.signal_queued()
            woke.wait(0.2)
        assert woke.is_set(), "the listener never woke"
        time.sleep(0.3)
        woke.clear()
        with submitter.transaction():
            queue(submitter, "csirt-a", 1)
            submitter.signal_queued()
            assert not woke.wait(0.5)  # not before the commit
        assert woke.wait(5)
        woke.clear()
        try:
            with submitter.transaction():
                queue(submitter, "csirt-a", 1, start=1)
                submitter.signal_queued()
                raise RuntimeError("the unit fails")
        except RuntimeError:
            pass
        assert not woke.wait(1.0)
    finally:
        stop.set()


def test_sqlite_wake_pipes_are_one_per_listener_and_a_dead_ones_goes(tmp_path, monkeypatch):
    """Every listener has its own pipe, so one signal wakes every idle worker (not just one);
    a pipe left by a listener that died (no reader) is removed by the next signal. The pipes stay
    out of the data directory (operators copy it; shutil.copytree fails on a pipe)."""
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path / "run"))
    (tmp_path / "run").mkdir()
    directory = sqlite_wake.wake_dir(str(tmp_path / "data" / "hub.sqlite3"))
    assert directory.parent == tmp_path / "run"
    events, stop = [threading.Event() for _ in range(3)], threading.Event()
    for e in events:
        sqlite_wake.listen(directory, e.set, stop)
    os.mkfifo(directory / "1-deadlistener", 0o600)
    try:
        sqlite_wake.signal(directory)
        assert all(e.wait(5) for e in events)
        assert not (directory / "1-deadlistener").exists()
        assert len(os.listdir(directory)) == 3
        assert all(stat.S_IMODE((directory / n).stat().st_mode) == 0o600 for n in os.listdir(directory))
    finally:
        stop.set()


def test_sqlite_wake_refuses_a_directory_others_can_enter(tmp_path, monkeypatch):
    """The pipes' directory has a predictable name: one another user made (or opened up) is not
    used, neither to listen nor to signal; the workers fall back to their poll."""
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path))
    directory = sqlite_wake.wake_dir(str(tmp_path / "hub.sqlite3"))
    directory.mkdir(mode=0o777)
    os.chmod(directory, 0o777)
    os.mkfifo(directory / "1-planted", 0o666)
    reader = os.open(directory / "1-planted", os.O_RDONLY | os.O_NONBLOCK)
    try:
        assert sqlite_wake.listen(directory, lambda: None, threading.Event()) is None
        sqlite_wake.signal(directory)
        assert os.read(reader, 10) == b""  # nothing was written to the planted pipe
        assert os.listdir(directory) == ["1-planted"]
    finally:
        os.close(reader)

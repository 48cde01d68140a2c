"""Store contract of the submission queue (issue 14), on SQLite and PostgreSQL: fair claims
(round-robin between organisations, a cap per organisation), leases renewed by their owner and
taken back when they run out, and concurrent claimers each getting a submission exactly once."""
from __future__ import annotations

import threading
from collections import Counter
from dataclasses import replace

from test_store import backend, pg_url, store  # noqa: F401  (fixtures)

from hub.domain import now_us
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

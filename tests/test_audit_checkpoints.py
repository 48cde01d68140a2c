"""Issue 12 item 6: stored, signed audit checkpoints at least every 100 entries (SQLite and
PostgreSQL). Entries are appended through the store the hub opens (with its checkpointer), as
every service does; the tampering then edits the tables directly, as someone with database access
would, and `hub audit verify` must fail with exit 3 naming the first bad seq."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import delete, insert, select

from hub.crypto import Signer
from hub.datadir import DataDir
from hub.manifest import checkpoint_body
from hub.store.base import AUDIT_CHECKPOINT_EVERY, audit_hash
from hub.store.schema import audit_checkpoints, audit_log

from conftest import ROOT
from review_fixtures import setup_hub
from test_audit_tamper import recomputed
from taxii_fixtures import pg_database

EXTRA = 2 * AUDIT_CHECKPOINT_EVERY + 30  # entries appended on top of the set-up's own


def verify(data) -> tuple[int, dict]:
    proc = subprocess.run([sys.executable, "-m", "hub", "audit", "verify", "--data-dir", str(data), "--json"],
                          capture_output=True, text=True, cwd=ROOT)
    return proc.returncode, json.loads(proc.stdout)


def rows_of(store, table) -> list[dict]:
    with store.engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(select(table).order_by(table.c.seq))]


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def site(request, tmp_path_factory):
    tmp = tmp_path_factory.mktemp(f"checkpoints-{request.param}")
    pg = pg_database() if request.param == "postgresql" else None
    url = pg.__enter__() if pg else None
    data = setup_hub(tmp / "hub", url).data_dir
    store = DataDir(data).open_store()
    for n in range(EXTRA):
        with store.transaction():
            store.append_audit("hk_test", "grant", f"org-{n}", {"collection": "TLP:AMBER", "read": True})
    yield {"data": data, "store": store, "log": rows_of(store, audit_log),
           "points": rows_of(store, audit_checkpoints), "key": Signer.from_file(data / "secrets" / "signing.key")}
    store.close()
    if pg:
        pg.__exit__(None, None, None)


def restore(site, log=None, points=None):
    with site["store"].engine.begin() as conn:
        conn.execute(delete(audit_log))
        conn.execute(delete(audit_checkpoints))
        for r in site["log"] if log is None else log:
            conn.execute(insert(audit_log).values(**r))
        for r in site["points"] if points is None else points:
            conn.execute(insert(audit_checkpoints).values(**r))


def test_a_checkpoint_is_signed_every_100_entries_and_the_log_verifies(site):
    log, points = site["log"], site["points"]
    assert [p["seq"] for p in points] == [100, 200], [p["seq"] for p in points]
    public = site["key"].public_key_b64
    for p in points:  # each names its entry and carries the hub's key
        entry = log[p["seq"] - 1]
        assert (p["hash"], p["public_key"]) == (entry["hash"], public)
        assert p["body"].encode() == checkpoint_body(p["seq"], entry["hash"], p["at"])
    code, result = verify(site["data"])
    assert code == 0 and result["valid"], result


def _append_behind_the_hubs_back(log: list[dict], n: int) -> list[dict]:
    out, prev = list(log), log[-1]["hash"]
    for k in range(n):
        at, details = log[-1]["at"], json.dumps({"k": k})
        h = audit_hash(prev, at, "forger", "grant", "x", details)
        out.append({"seq": len(out) + 1, "at": at, "actor": "forger", "action": "grant", "subject": "x",
                    "details": details, "prev_hash": prev, "hash": h})
        prev = h
    return out


def _tampered(site, case: str):
    """(audit rows, checkpoint rows, first bad seq) for one tampering."""
    log, points = [dict(r) for r in site["log"]], [dict(p) for p in site["points"]]
    last = points[-1]["seq"]
    if case == "appended without checkpoint":  # a valid chain, 100 entries past the last checkpoint
        return _append_behind_the_hubs_back(log, last + AUDIT_CHECKPOINT_EVERY - len(log)), points, \
            last + AUDIT_CHECKPOINT_EVERY
    if case == "tail cut below the last checkpoint":
        return log[:last - 10], points, last
    if case == "checkpoint removed":  # the entries stay: 100 of them now follow no checkpoint
        return log, points[:-1], points[-2]["seq"] + AUDIT_CHECKPOINT_EVERY
    if case == "middle deleted, chain recomputed":
        return recomputed(log[:50] + log[51:]), points, points[0]["seq"]
    if case == "checkpoint edited to the forged head":
        forged = recomputed(log[:50] + [{**log[50], "subject": "someone-else"}] + log[51:])
        points[0] = {**points[0], "hash": forged[points[0]["seq"] - 1]["hash"]}
        return forged, points, points[0]["seq"]
    if case == "checkpoint re-signed with another key":
        other = Signer(Ed25519PrivateKey.generate())
        body = checkpoint_body(points[0]["seq"], points[0]["hash"], points[0]["at"])
        points[0] = {**points[0], "signature": other.sign(body), "public_key": other.public_key_b64}
        return log, points, points[0]["seq"]
    raise AssertionError(case)


CASES = ["appended without checkpoint", "tail cut below the last checkpoint", "checkpoint removed",
         "middle deleted, chain recomputed", "checkpoint edited to the forged head",
         "checkpoint re-signed with another key"]


@pytest.mark.parametrize("case", CASES)
def test_checkpoint_tamper_matrix(site, case):
    log, points, first_bad = _tampered(site, case)
    restore(site, log, points)
    try:
        code, result = verify(site["data"])
        assert code == 3 and not result["valid"], result
        assert result["problem"].startswith(f"entry {first_bad}:"), (case, result["problem"])
        print(f"\n{case}: {result['problem']}")
    finally:
        restore(site)
    assert verify(site["data"])[0] == 0


def test_a_failed_unit_of_work_leaves_no_gap_in_seq(site):
    """A PostgreSQL sequence is not rolled back: seq must not come from one."""
    store = site["store"]
    before = store.audit_head().seq
    with pytest.raises(RuntimeError):
        with store.transaction():
            store.append_audit("hk_test", "grant", "rolled-back", {})
            raise RuntimeError("the change after the audit entry failed")
    with store.transaction():
        entry = store.append_audit("hk_test", "grant", "after", {})
    try:
        assert entry.seq == before + 1
        assert verify(site["data"])[0] == 0
    finally:
        restore(site)

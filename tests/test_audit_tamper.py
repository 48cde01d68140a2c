"""Issue 12 items 5 and 6: every admin command leaves exactly one audit entry, and the audit log
cannot be rewritten or cut unnoticed. The tamper matrix (SQLite and PostgreSQL) edits the
audit_log table directly, as someone with database access would, and `hub audit verify` must
fail with exit 3 naming the first bad seq. The heads signed into publication manifests (and an
exported checkpoint) catch what a recomputed chain or a cut tail would otherwise hide."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest
from sqlalchemy import delete, insert, select

from hub.crypto import Signer
from hub.datadir import DataDir
from hub.store.base import GENESIS_HASH, audit_hash
from hub.store.schema import audit_log

from conftest import ROOT, indicator
from review_fixtures import setup_hub
from taxii_fixtures import hub, pg_database


def run(data, *args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "hub", *args, "--data-dir", str(data), "--json"],
                          capture_output=True, text=True, cwd=ROOT)


def publish(data, n: int) -> dict:
    path = data / f"bundle-{n}.json"
    path.write_text(json.dumps({"type": "bundle", "id": f"bundle--00000000-0000-4000-8000-{n:012x}",
                                "objects": [indicator(900 + n, f"[ipv4-addr:value = '192.0.2.{n}']")]}))
    return hub("publish", str(path), "--collection", "TLP:GREEN", data_dir=data)


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def site(request, tmp_path_factory):
    tmp = tmp_path_factory.mktemp(f"tamper-{request.param}")
    pg = pg_database() if request.param == "postgresql" else None
    url = pg.__enter__() if pg else None
    keys = setup_hub(tmp / "hub", url)
    data = keys.data_dir
    publish(data, 1)
    hub("org", "add", "peer-z", "--type", "peer", data_dir=data)
    publish(data, 2)
    hub("key", "create", "--org", "peer-z", "--role", "consumer", data_dir=data)
    store = DataDir(data).open_store()
    rows = [dict(r._mapping) for r in store.engine.connect().execute(select(audit_log).order_by(audit_log.c.seq))]
    yield {"data": data, "store": store, "rows": rows, "key": Signer.from_file(data / "secrets" / "signing.key"),
           "backend": request.param}
    store.close()
    if pg:
        pg.__exit__(None, None, None)


def restore(site, rows):
    with site["store"].engine.begin() as conn:
        conn.execute(delete(audit_log))
        for r in rows:
            conn.execute(insert(audit_log).values(**r))


def recomputed(rows):
    """The rows renumbered and rehashed as a careful forger would."""
    out, prev = [], GENESIS_HASH
    for n, r in enumerate(rows, 1):
        h = audit_hash(prev, r["at"], r["actor"], r["action"], r["subject"], r["details"])
        out.append({**r, "seq": n, "prev_hash": prev, "hash": h})
        prev = h
    return out


def heads(site) -> list[int]:
    return sorted(json.loads(p.manifest)["audit_head"]["seq"] for p in site["store"].list_publications()
                  if "audit_head" in json.loads(p.manifest))


def seq_of_publish(rows, k: int) -> int:
    return [r["seq"] for r in rows if r["action"] == "publish"][k]


def tampered(site, case: str):
    rows = [dict(r) for r in site["rows"]]
    first_publish = seq_of_publish(rows, 0)
    if case == "edit":
        rows[2]["subject"] = "someone-else"
        return rows, 3
    if case == "delete middle + recompute":
        return recomputed(rows[:2] + rows[3:]), heads(site)[0]
    if case == "delete tail":  # cut from the first publication's entry on
        return rows[:first_publish - 1], first_publish
    if case == "reorder":
        rows[3], rows[4] = {**rows[4], "seq": 4}, {**rows[3], "seq": 5}
        return rows, 4
    if case == "seq gap":
        return rows[:5] + [{**r, "seq": r["seq"] + 1} for r in rows[5:]], 6
    if case == "recompute after edit":
        rows[1]["subject"] = "someone-else"
        return recomputed(rows), heads(site)[0]
    raise AssertionError(case)


CASES = ["edit", "delete middle + recompute", "delete tail", "reorder", "seq gap", "recompute after edit"]
REPORTS: dict = {}


def test_the_untouched_log_verifies(site):
    assert len(heads(site)) == 2 and len(site["rows"]) > 12
    proc = run(site["data"], "audit", "verify")
    assert proc.returncode == 0 and json.loads(proc.stdout)["valid"], proc.stdout + proc.stderr


@pytest.mark.parametrize("case", CASES)
def test_tamper_matrix(site, case):
    rows, first_bad = tampered(site, case)
    restore(site, rows)
    try:
        proc = run(site["data"], "audit", "verify")
        result = json.loads(proc.stdout)
        assert proc.returncode == 3 and not result["valid"], proc.stdout
        assert result["problem"].startswith(f"entry {first_bad}:"), result["problem"]
        REPORTS[(site["backend"], case)] = result["problem"]
        print(f"\n{site['backend']} {case}: {result['problem']}")
    finally:
        restore(site, site["rows"])


def test_an_exported_checkpoint_catches_a_cut_tail_and_a_swapped_checkpoint(site, tmp_path):
    """Entries after the last publication are covered by an exported checkpoint."""
    point = tmp_path / "checkpoint.json"
    assert run(site["data"], "audit", "checkpoint", "--export", str(point)).returncode == 0
    assert run(site["data"], "audit", "verify", "--against", str(point)).returncode == 0
    rows = site["rows"]
    restore(site, rows[:-1])  # the last entry (a key create, after every publication) removed
    try:
        assert run(site["data"], "audit", "verify").returncode == 0  # the chain alone cannot tell
        proc = run(site["data"], "audit", "verify", "--against", str(point))
        assert proc.returncode == 3 and json.loads(proc.stdout)["problem"].startswith(f"entry {rows[-1]['seq']}:")
    finally:
        restore(site, rows)
    swapped = json.loads(point.read_text())
    other = json.loads(swapped["checkpoint"]) | {"seq": 1}
    swapped["checkpoint"] = json.dumps(other, sort_keys=True, separators=(",", ":"))
    point.write_text(json.dumps(swapped))
    proc = run(site["data"], "audit", "verify", "--against", str(point))
    assert proc.returncode == 3 and "signature" in json.loads(proc.stdout)["problem"]


ADMIN_COMMANDS = [  # (argv, the action audited)
    (["org", "add", "peer-q", "--type", "peer"], "org-add"),
    (["key", "create", "--org", "peer-q", "--role", "consumer"], "key-create"),
    (["grant", "--org", "peer-q", "--collection", "TLP:AMBER", "--read"], "grant"),
    (["revoke-grant", "--org", "peer-q", "--collection", "TLP:AMBER", "--read"], "revoke-grant"),
    (["agreement", "add", "--org", "csirt-a", "--victim-ref", "CASE-Q", "--signed-on", "2025-01-01"],
     "agreement-add"),
    (["agreement", "withdraw", "CASE-Q", "--org", "csirt-a", "--on", "2025-02-01"],
     "agreement-withdraw"),
    (["auto-publish", "--org", "csirt-a", "on"], "auto-publish"),
    (["auto-publish", "--org", "csirt-a", "off"], "auto-publish"),
    (["sessions", "revoke", "--key", "hk_nosuchkey"], "sessions-revoke"),
    (["purge"], "purge"),
    (["secrets", "rotate"], "secrets-rotate"),
]


def test_each_admin_command_leaves_exactly_one_audit_entry(site):
    store = site["store"]
    for argv, action in ADMIN_COMMANDS:
        before = store.audit_head().seq
        proc = run(site["data"], *argv)
        assert proc.returncode == 0, (argv, proc.stderr)
        new = store.list_audit(before)
        assert [e.action for e in new] == [action], (argv, [e.action for e in new])
    before = store.audit_head().seq
    published = publish(site["data"], 3)
    assert [e.action for e in store.list_audit(before)] == ["publish"]
    obj = f"indicator--{indicator(903, 'x')['id'].split('--')[1]}"
    before = store.audit_head().seq
    proc = run(site["data"], "withdraw", obj, "--collection", "TLP:GREEN", "--reason", "false positive")
    assert proc.returncode == 0, proc.stderr
    assert [(e.action, e.subject) for e in store.list_audit(before)] == [("withdraw", obj)]
    assert published["publication"]
    assert run(site["data"], "audit", "verify").returncode == 0
    lines = run(site["data"], "audit", "list", "--limit", "3").stdout.splitlines()
    assert len(lines) == 3 and all({"seq", "time", "actor", "action", "subject"} <= set(json.loads(x)) for x in lines)
    site["rows"] = [dict(r._mapping) for r in
                    store.engine.connect().execute(select(audit_log).order_by(audit_log.c.seq))]

"""Crash safety: `hub serve` and `hub publish` killed with SIGKILL in the middle of a write, on
SQLite and on PostgreSQL. After a restart every accepted write is there in full, nothing is
there in part, and readers polling during the write only ever saw whole batches.

The kill is aimed, not blind: the test waits until the store shows an object write transaction
open (SQLite: the write lock is taken; PostgreSQL: the objects advisory lock is held), then kills
after a random delay of up to 100 ms. Readers: the store's count in this process (one statement,
one snapshot) and a TAXII client asking for a sample of ids from every batch in one request.
Per backend: 3 server kill-restart cycles (TAXII adds to a collection without a TLP level: TLP
collections are written only by publication) and 1 `hub publish` kill inside its one write
transaction (issue 12: objects, signed manifest and audit entry commit together), after which
nothing of it is there, then the publish run again to completion.
"""
from __future__ import annotations

import json
import os
import random
import sqlite3
import subprocess
import sys
import threading
import time
import uuid

import pytest
import requests

from hub import feed
from hub.services import accounts
from hub.services.permissions import cli_operator
from hub.datadir import DataDir
from hub.store import open_store
from taxii_fixtures import Server, hub, pg_database

from conftest import ROOT

TAXII = "application/taxii+json;version=2.1"
SERVER_BATCH = 12_000  # one add_objects request; above the store's bulk threshold (COPY on PostgreSQL)
SERVER_CYCLES = 3
PUBLISH_BATCH = 500  # HUB_PUBLISH_BATCH for the killed `hub publish` (strict STIX checks cost ~10 ms/object)
PUBLISH_BATCHES = 6
SAMPLE = 25  # ids per batch the TAXII reader asks for
SEED = random.randrange(1 << 30)


def make_batch(tag: str, n: int) -> list[dict]:
    ns = uuid.uuid5(uuid.NAMESPACE_URL, tag)
    return [{"type": "indicator", "spec_version": "2.1", "id": f"indicator--{uuid.uuid5(ns, str(i))}",
             "created": "2025-03-18T09:00:00.000Z", "modified": "2025-03-18T09:00:00.000Z",
             "pattern": f"[ipv4-addr:value = '198.51.100.{i % 250 + 1}']", "pattern_type": "stix",
             "valid_from": "2025-03-18T00:00:00Z", "name": f"{tag} {i}"} for i in range(n)]


def sample_ids(batch: list[dict]) -> list[str]:
    step = max(1, len(batch) // (SAMPLE - 1))
    ids = [o["id"] for o in batch[::step]][:SAMPLE - 1] + [batch[-1]["id"]]
    return ids


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def site(request, tmp_path_factory):
    data = tmp_path_factory.mktemp(f"crash-{request.param}")
    ctx = pg_database() if request.param == "postgresql" else None
    url = ctx.__enter__() if ctx else None
    init = hub("init", *(["--database-url", url] if url else []), data_dir=data)
    config = json.loads((data / "config.json").read_text())
    config["rate_limit_per_minute"] = 0  # the readers poll as fast as they can
    (data / "config.json").write_text(json.dumps(config))
    store = open_store(config["database_url"])
    probe = WriteProbe({"backend": request.param, "url": config["database_url"]})
    # In-process: a CLI run each costs a second.
    accounts.add_org(store, principal=cli_operator(), name="csirt-a", org_type="csirt")
    keys = {"writer": accounts.create_key(store, principal=cli_operator(), org="csirt-a", role="consumer")}
    # The server is killed while writing a collection without a TLP level (members may hold a
    # write grant there; TLP collections are written only by publication).
    scratch = store.add_collection("crash-scratch", None)
    accounts.set_grant(store, principal=cli_operator(), org="csirt-a", collection="crash-scratch", read=True,
                       write=True, value=True)
    accounts.set_grant(store, principal=cli_operator(), org="csirt-a", collection="TLP:GREEN", read=True,
                       write=False, value=True)
    green = next(c["id"] for c in init["collections"] if c["title"] == "TLP:GREEN")
    state = {"data": data, "keys": keys, "cid": scratch.id, "green": green, "store": store,
             "url": config["database_url"], "backend": request.param, "base": store.count_objects(scratch.id),
             "probe": probe}
    yield state
    if state.get("server"):
        state["server"].stop()  # also when a test failed or was deselected
    probe.close()
    store.close()
    if ctx:
        ctx.__exit__(None, None, None)


# ----------------------------------------------------------------------------- probes
class WriteProbe:
    """Is some process inside an object write transaction? SQLite: the write lock is taken
    (BEGIN IMMEDIATE fails at once); PostgreSQL: the objects advisory lock is held."""

    def __init__(self, site):
        self.pg = site["backend"] == "postgresql"
        if self.pg:
            import psycopg

            self.conn = psycopg.connect(site["url"].replace("postgresql+psycopg://", "postgresql://"),
                                        autocommit=True)
        else:
            self.conn = sqlite3.connect(site["url"].removeprefix("sqlite:///"), timeout=0, isolation_level=None)

    def __call__(self) -> bool:
        if self.pg:
            from hub.store.sql_core import PG_OBJECTS_LOCK

            (n,) = self.conn.execute(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted "
                "AND ((classid::bigint << 32) | objid::bigint) = %s", (PG_OBJECTS_LOCK,)).fetchone()
            return n > 0
        try:
            self.conn.execute("BEGIN IMMEDIATE")
            self.conn.execute("ROLLBACK")
            return False
        except sqlite3.OperationalError:
            return True

    def close(self):
        self.conn.close()


def wait_for(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.003)


class Readers:
    """Two reader threads while a write happens: the store's object count, and a TAXII request
    for SAMPLE ids of every tracked batch. Every observation must be whole batches."""

    def __init__(self, site, server: Server, batch_size: int):
        self.site, self.server, self.batch_size = site, server, batch_size
        self.batches: list[list[str]] = []  # sampled ids of every batch written so far or now
        self.counts: list[int] = []
        self.partial: list[str] = []
        self.taxii_reads = 0
        self.base = site["store"].count_objects(site["cid"])
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._count), threading.Thread(target=self._taxii)]

    def __enter__(self):
        for t in self._threads:
            t.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        for t in self._threads:
            t.join()

    def _count(self):
        store, cid = self.site["store"], self.site["cid"]
        while not self._stop.is_set():
            n = store.count_objects(cid)
            self.counts.append(n)
            if (n - self.base) % self.batch_size:
                self.partial.append(f"store count {n - self.base} is not whole batches of {self.batch_size}")
            time.sleep(0.01)

    def _taxii(self):
        k = self.site["keys"]["writer"]
        session = requests.Session()
        session.auth = (k["key_id"], k["key"])
        session.headers["Accept"] = TAXII
        url = f"{self.server.base}/hub/collections/{self.site['cid']}/objects/"
        while not self._stop.is_set():
            batches = list(self.batches)
            if not batches:
                time.sleep(0.005)
                continue
            wanted = [i for b in batches for i in b]
            try:
                r = session.get(url, params={"match[id]": ",".join(wanted), "limit": 1000}, timeout=10)
            except requests.RequestException:
                time.sleep(0.01)  # the server is down (killed, restarting)
                continue
            if r.status_code != 200:
                continue
            got = {o["id"] for o in r.json().get("objects", [])}
            self.taxii_reads += 1
            for b in batches:
                seen = len(got & set(b))
                if seen not in (0, len(b)):
                    self.partial.append(f"TAXII read saw {seen} of {len(b)} sampled ids of one batch")
            time.sleep(0.01)


def present(site, ids: list[str]) -> int:
    """How many of `ids` the (restarted) server serves."""
    k = site["keys"]["writer"]
    url = f"{site['server'].base}/hub/collections/{site['cid']}/objects/"
    r = requests.get(url, params={"match[id]": ",".join(ids), "limit": 1000}, headers={"Accept": TAXII},
                     auth=(k["key_id"], k["key"]), timeout=30)
    assert r.status_code == 200
    return len(r.json().get("objects", []))


TALLY: dict[str, dict] = {}


# ----------------------------------------------------------------------------- hub serve killed
def test_server_killed_mid_write_keeps_every_batch_whole(site):
    """SERVER_CYCLES times: one batch is accepted (202), the next is in flight when the server is
    SIGKILLed; after the restart the accepted batches are there in full, the killed one is there
    in full or not at all, and no reader ever saw part of a batch."""
    rng = random.Random(SEED)
    probe = site["probe"]
    k = site["keys"]["writer"]
    server = site["server"] = Server(site["data"]).start()
    url = f"{server.base}/hub/collections/{site['cid']}/objects/"
    headers = {"Accept": TAXII, "Content-Type": TAXII}
    accepted: list[list[dict]] = []
    killed: list[list[dict]] = []
    outcomes = {"rolled back": 0, "committed": 0}
    taxii_reads = 0
    for cycle in range(SERVER_CYCLES):
        first = make_batch(f"{site['backend']}-server-{cycle}-a", SERVER_BATCH)
        second = make_batch(f"{site['backend']}-server-{cycle}-b", SERVER_BATCH)
        bodies = [json.dumps({"objects": b}).encode() for b in (first, second)]
        results: list = []

        def write():
            for body in bodies:
                try:
                    r = requests.post(url, data=body, headers=headers, auth=(k["key_id"], k["key"]), timeout=120)
                    results.append(r.status_code)
                except requests.RequestException:
                    results.append("no answer")
                    return

        with Readers(site, server, SERVER_BATCH) as readers:
            readers.batches += [sample_ids(b) for b in accepted + killed + [first, second]]
            writer = threading.Thread(target=write)
            writer.start()
            wait_for(lambda: len(results) >= 1, 120, "the first batch to be accepted")
            assert results[0] == 202
            wait_for(probe, 60, "the second batch's write transaction")
            time.sleep(rng.uniform(0, 0.1))
            server.proc.kill()  # SIGKILL
            server.proc.wait()
            writer.join()
            time.sleep(0.05)  # the store reader reads the database the dead server left
        server.start()
        assert readers.counts and not readers.partial, readers.partial[:5]
        taxii_reads += readers.taxii_reads
        accepted.append(first)
        if len(results) == 2 and results[1] == 202:
            accepted.append(second)
        else:
            killed.append(second)
        # After the restart: every accepted batch in full ...
        for batch in accepted:
            assert present(site, sample_ids(batch)) == SAMPLE
        # ... the killed one all or nothing, and the store's count is whole batches.
        seen = present(site, sample_ids(second))
        assert seen in (0, SAMPLE)
        outcomes["committed" if seen else "rolled back"] += 1
        if seen and second not in accepted:
            accepted.append(second)
            killed.remove(second)
        assert site["store"].count_objects(site["cid"]) == site["base"] + len(accepted) * SERVER_BATCH
    assert taxii_reads > 0
    TALLY[site["backend"]] = {"server kill cycles": SERVER_CYCLES, **outcomes, "reader polls TAXII": taxii_reads}
    print(f"\n{site['backend']}: server SIGKILLed mid-write {SERVER_CYCLES}x (seed {SEED}): {outcomes}")


# ----------------------------------------------------------------------------- hub publish killed
def test_hub_publish_killed_mid_way_commits_nothing_and_a_rerun_completes(site, tmp_path):
    rng = random.Random(SEED + 1)
    probe = site["probe"]
    server = site["server"]
    if server.proc is None or server.proc.poll() is not None:
        server.start()
    site_green = {**site, "cid": site["green"]}
    objects = make_batch(f"{site['backend']}-publish", PUBLISH_BATCH * PUBLISH_BATCHES)
    path = tmp_path / "bundle.json"
    path.write_text(json.dumps({"type": "bundle", "id": f"bundle--{uuid.uuid4()}", "objects": objects}))
    store = site["store"]
    base = store.count_objects(site["green"])
    publications = len(store.list_publications())
    audited = len(store.list_audit())
    argv = [sys.executable, "-m", "hub", "publish", str(path), "--collection", "TLP:GREEN",
            "--data-dir", str(site["data"]), "--json"]
    env = {**os.environ, "HUB_PUBLISH_BATCH": str(PUBLISH_BATCH)}
    with Readers(site_green, server, len(objects)) as readers:
        readers.batches += [sample_ids(objects)]  # the whole bundle is one unit of work
        proc = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        wait_for(lambda: probe() or proc.poll() is not None, 600, "the publish's write transaction")
        time.sleep(rng.uniform(0, 0.005))  # the one transaction is short: strike inside it
        proc.kill()
        proc.communicate()
    assert proc.returncode == -9, "hub publish finished before it could be killed"
    assert readers.counts and not readers.partial, readers.partial[:5]
    # Nothing of it: no object, no publication, no audit entry.
    assert store.count_objects(site["green"]) == base
    assert present(site_green, sample_ids(objects)) == 0
    assert len(store.list_publications()) == publications and len(store.list_audit()) == audited
    # Publishing the same bundle again completes it (in-process, the code `hub publish` runs).
    summary = feed.publish(DataDir(site["data"]), store, path.read_bytes(), "TLP:GREEN")
    assert summary["added"] == len(objects) and summary["duplicates"] == 0
    assert store.count_objects(site["green"]) == base + len(objects)
    assert len(store.list_publications()) == publications + 1
    assert [e.action for e in store.list_audit()[audited:]] == ["publish"]
    server.stop()
    TALLY[site["backend"]]["publish killed"] = "nothing committed"
    print(f"\n{site['backend']}: hub publish SIGKILLed inside its transaction: nothing committed; "
          f"publishing again added {len(objects)}; {TALLY[site['backend']]}")

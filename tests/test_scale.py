"""Several processes sharing PostgreSQL (issue 14): two `hub serve --no-worker` web processes and
two `hub worker` processes. Submissions from five organisations are each sanitised exactly once;
a rate limit of R a minute admits R across both web processes (Redis storage), not 2R; a `next`
cursor from one web process continues on the other; a worker SIGKILLed mid-way loses nothing and
its claim is finished by the other worker within 60 s."""
from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from sqlalchemy import create_engine, text

from conftest import ROOT
from hub.datadir import DataDir
from hub.services import accounts
from hub.services.permissions import cli_operator
from review_fixtures import auth, demo
from taxii_fixtures import Server, child_pids, hub, pg_database
from test_crash_submission import big_submission

ORGS = [f"csirt-{n}" for n in range(1, 6)]
RATE = 40  # requests per minute per key, shared by both web processes
LEASE = 3  # seconds: a killed worker's claim is taken over after this
TAXII = "application/taxii+json;version=2.1"


class WorkerProcess:
    def __init__(self, data_dir, log):
        self.log = log
        with open(log, "ab") as out:
            self.proc = subprocess.Popen([sys.executable, "-m", "hub", "worker", "--data-dir", str(data_dir)],
                                         cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)

    def sanitised(self) -> list[str]:
        return re.findall(r"submission (sub_\w+) sanitised", self.log.read_text(errors="replace"))

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=30)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("scale")
    with pg_database() as url:
        data_dir = tmp / "hub"
        hub("init", "--database-url", url, data_dir=data_dir)
        data = DataDir(data_dir)
        data.write_config({**data.config(), "rate_limit_per_minute": RATE,
                           "rate_limit_storage": "redis://127.0.0.1:6379/0", "worker_lease_seconds": LEASE})
        store = data.open_store()
        op = cli_operator()
        keys = {}
        for org in ORGS:
            accounts.add_org(store, principal=op, name=org, org_type="csirt")
            keys[org] = accounts.create_key(store, principal=op, org=org, role="submitter")
        accounts.add_org(store, principal=op, name="peer-b", org_type="peer")
        keys["peers"] = [accounts.create_key(store, principal=op, org="peer-b", role="consumer") for _ in range(2)]
        store.close()
        bundle = {"type": "bundle", "id": "bundle--6a1d3c4e-1b8f-4a8e-9f41-3a4c5d6e7f80", "objects": [
            {"type": "indicator", "spec_version": "2.1", "id": f"indicator--00000000-0000-4000-8000-{i:012d}",
             "created": "2025-05-29T01:00:00.000Z", "modified": "2025-05-29T01:00:00.000Z",
             "pattern_type": "stix", "valid_from": "2025-05-29T00:00:00Z",
             "pattern": f"[ipv4-addr:value = '198.51.100.{i % 250 + 1}']"} for i in range(70)]}
        (tmp / "green.json").write_text(json.dumps(bundle))
        hub("publish", str(tmp / "green.json"), "--collection", "TLP:GREEN", data_dir=data_dir)
        webs = [Server(data_dir, "--no-worker", log=tmp / f"web{n}.log").start() for n in range(2)]
        workers = [WorkerProcess(data_dir, tmp / f"worker{n}.log") for n in range(2)]
        engine = create_engine(url)
        try:
            yield {"data": data, "keys": keys, "webs": webs, "workers": workers, "engine": engine}
        finally:
            for w in workers:
                w.stop()
            for s in webs:
                s.stop()
            engine.dispose()


def _status(cluster, sid: str) -> str:
    with cluster["engine"].connect() as conn:
        return conn.execute(text("SELECT status FROM submissions WHERE id = :i"), {"i": sid}).scalar_one()


def _wait(cluster, sids, seconds: float) -> dict:
    deadline = time.monotonic() + seconds
    while True:
        states = {sid: _status(cluster, sid) for sid in sids}
        if all(s not in ("queued", "processing") for s in states.values()) or time.monotonic() > deadline:
            return states
        time.sleep(0.3)


def _logged(counts, sids, seconds: float = 30) -> None:
    """Wait until every sid appears in the workers' logs (or `seconds` pass; the caller asserts)."""
    deadline = time.monotonic() + seconds
    while any(counts()[sid] < 1 for sid in sids) and time.monotonic() < deadline:
        time.sleep(0.2)


def test_fifty_submissions_from_five_organisations_each_processed_exactly_once(cluster):
    body = {"bundle": demo("submission.json"), "victim_profile": demo("profile.json"), "victim_ref": "CASE-1"}

    def send(i: int) -> str:
        org, web = ORGS[i % 5], cluster["webs"][i % 2]
        r = requests.post(f"{web.base}/api/v1/submissions", json=body, auth=auth(cluster["keys"][org]), timeout=60)
        assert r.status_code == 202, r.text
        return r.json()["id"]

    with ThreadPoolExecutor(10) as pool:
        sids = list(pool.map(send, range(50)))
    states = _wait(cluster, sids, 120)
    assert set(states.values()) == {"review"}, Counter(states.values())
    # A worker logs its outcome just after the commit: wait for the lines (a loaded machine lags).
    _logged(lambda: Counter(s for w in cluster["workers"] for s in w.sanitised()), sids)
    done = Counter(sid for w in cluster["workers"] for sid in w.sanitised())
    assert all(done[sid] == 1 for sid in sids), [sid for sid in sids if done[sid] != 1]
    assert all(w.sanitised() for w in cluster["workers"])  # both workers took part


def test_rate_limit_holds_across_both_web_processes(cluster):
    key = cluster["keys"]["peers"][0]
    codes = [requests.get(f"{cluster['webs'][i % 2].base}/hub/collections/", headers={"Accept": TAXII},
                          auth=auth(key), timeout=10).status_code for i in range(2 * RATE + 10)]
    admitted = codes.count(200)
    assert RATE <= admitted <= RATE + 2, (admitted, Counter(codes))  # not 2 x RATE
    assert set(codes) == {200, 429}


def test_next_cursor_from_one_process_continues_on_the_other(cluster):
    key = cluster["keys"]["peers"][1]
    first = requests.get(f"{cluster['webs'][0].base}/hub/collections/", headers={"Accept": TAXII},
                         auth=auth(key), timeout=10).json()
    green = next(c["id"] for c in first["collections"] if c["title"] == "TLP:GREEN")
    seen, nxt, page = [], None, 0
    while True:
        web = cluster["webs"][page % 2]
        params = {"limit": 25, **({"next": nxt} if nxt else {})}
        r = requests.get(f"{web.base}/hub/collections/{green}/objects/", params=params,
                         headers={"Accept": TAXII}, auth=auth(key), timeout=10)
        assert r.status_code == 200, r.text
        envelope = r.json()
        seen += [o["id"] for o in envelope.get("objects", [])]
        page += 1
        if not envelope.get("more"):
            break
        nxt = envelope["next"]
    assert page >= 3 and len(seen) == len(set(seen))  # no object twice
    assert len([i for i in seen if i.startswith("indicator--00000000-0000-4000-8000-")]) == 70  # none missed


def test_worker_killed_mid_way_loses_nothing_and_its_claim_is_finished_by_the_other(cluster):
    org = ORGS[0]
    r = requests.post(f"{cluster['webs'][0].base}/api/v1/submissions", json=big_submission("scale-kill", 3000),
                      auth=auth(cluster["keys"][org]), timeout=120)
    assert r.status_code == 202, r.text
    sid = r.json()["id"]
    deadline = time.monotonic() + 30
    owner = None
    while time.monotonic() < deadline and owner is None:
        with cluster["engine"].connect() as conn:
            owner = conn.execute(text("SELECT lease_owner FROM submissions WHERE id = :i AND status = 'processing'"),
                                 {"i": sid}).scalar()
        time.sleep(0.05)
    assert owner, "no worker claimed the submission"
    pid = int(owner.split(":")[1])
    victim = next(w for w in cluster["workers"] if w.proc.pid == pid)
    survivor = next(w for w in cluster["workers"] if w is not victim)
    victim.proc.send_signal(signal.SIGKILL)
    victim.proc.wait(timeout=10)
    # Within 60 s the other worker has taken the claim over (or finished it already) ...
    deadline, owner = time.monotonic() + 60, None
    while time.monotonic() < deadline:
        with cluster["engine"].connect() as conn:
            status, owner = conn.execute(text("SELECT status, lease_owner FROM submissions WHERE id = :i"),
                                         {"i": sid}).one()
        if status == "review" or (status == "processing" and f":{survivor.proc.pid}:" in owner):
            break
        time.sleep(0.2)
    assert status == "review" or f":{survivor.proc.pid}:" in owner, (status, owner)
    # ... and finishes it (slower when the machine is loaded).
    states = _wait(cluster, [sid], 180)
    assert states[sid] == "review", states
    _logged(lambda: Counter(survivor.sanitised()), [sid])
    assert sid in survivor.sanitised() and sid not in victim.sanitised()
    view = requests.get(f"{cluster['webs'][1].base}/api/v1/submissions/{sid}", auth=auth(cluster["keys"][org]),
                        timeout=30).json()
    assert view["object_count"] == len(demo("submission.json")["objects"]) + 3000


def test_serve_processes_share_one_port_one_rate_limit_and_sanitise(tmp_path):
    """`hub serve --processes 2` on SQLite: two web children on one port and a worker child, the
    Redis-held limit admits R (not 2R), and a submission reaches review through the worker child."""
    data_dir = tmp_path / "hub"
    hub("init", data_dir=data_dir)
    data = DataDir(data_dir)
    data.write_config({**data.config(), "rate_limit_per_minute": 20, "rate_limit_storage": "redis://127.0.0.1:6379/0"})
    store = data.open_store()
    accounts.add_org(store, principal=cli_operator(), name="csirt-a", org_type="csirt")
    submitter = accounts.create_key(store, principal=cli_operator(), org="csirt-a", role="submitter")
    store.close()
    log = tmp_path / "serve.log"
    server = Server(data_dir, "--processes", "2", log=log).start()
    try:
        deadline, workers, webs = time.monotonic() + 30, [], set()
        while time.monotonic() < deadline and (len(workers) < 1 or len(webs) < 2):
            time.sleep(0.1)
            workers = re.findall(r"worker running .*pid (\d+)", log.read_text())
            webs = set(re.findall(r"review at /review/ \(pid (\d+)\)", log.read_text()))
        children = child_pids(server.proc.pid)
        assert children == sorted([*workers, *webs]) and len(children) == 3
        body = {"bundle": demo("submission.json"), "victim_profile": demo("profile.json")}
        r = requests.post(f"{server.base}/api/v1/submissions", json=body, auth=auth(submitter), timeout=60)
        assert r.status_code == 202, r.text
        deadline, status = time.monotonic() + 60, "queued"
        while time.monotonic() < deadline and status in ("queued", "processing"):
            time.sleep(0.3)
            s = requests.get(server.base + r.headers["Location"], auth=auth(submitter), timeout=10)
            status = s.json()["status"] if s.status_code == 200 else status
        assert status == "review"
        codes = [requests.get(f"{server.base}/hub/collections/", headers={"Accept": TAXII}, auth=auth(submitter),
                              timeout=10).status_code for _ in range(60)]
        # 20 a minute in all: the submission and the status polls above took some of them.
        assert 0 < codes.count(200) <= 20 and codes.count(429) >= 40
    finally:
        server.stop()

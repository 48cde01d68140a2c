"""Issue 15, end to end over real sockets on SQLite and PostgreSQL: three CSIRTs report the same
C2 in three submissions through the API; the C2's holds release themselves in all three, a C2
reported by one stays held; rejecting one brings the holds back; after approval a peer's
taxii2-client finds ONE indicator for the shared C2 with a hub sighting of count 3, and no
CSIRT is named anywhere in the feed."""
from __future__ import annotations

import json

import pytest
import requests
import stix2
from taxii2client.v21 import ApiRoot, Collection

from review_fixtures import auth, demo, hub, setup_hub
from taxii_fixtures import Server, pg_database

SHARED = "c2-relay.example.net"
CSIRTS = ("csirt-a", "csirt-b", "csirt-c")


def _prepare(data_dir, url=None):
    keys = setup_hub(data_dir, url)
    hub("org", "add", "csirt-c", "--type", "csirt", "--sector", "energy", "--region", "JP", data_dir=data_dir)
    submitter_c = hub("key", "create", "--org", "csirt-c", "--role", "submitter", data_dir=data_dir)
    for org in CSIRTS:
        hub("agreement", "add", "--org", org, "--victim-ref", "CASE-9", "--signed-on", "2025-01-01",
            data_dir=data_dir)
    return keys, [keys.submitter, keys.submitter_b, submitter_c]


@pytest.fixture(params=["sqlite", "postgresql"])
def served(request, tmp_path):
    if request.param == "sqlite":
        keys, submitters = _prepare(tmp_path / "hub")
        server = Server(keys.data_dir).start()
        yield keys, submitters, server
        server.stop()
        return
    with pg_database() as url:
        keys, submitters = _prepare(tmp_path / "hub", url)
        server = Server(keys.data_dir).start()
        yield keys, submitters, server
        server.stop()


def _bundle(n: int, shared_form: str) -> dict:
    def ind(i: int, pattern: str) -> dict:
        return {"type": "indicator", "spec_version": "2.1", "id": f"indicator--{n:08d}-0000-4000-8000-{i:012d}",
                "created": "2025-03-01T10:00:00.000Z", "modified": "2025-03-01T10:00:00.000Z",
                "name": f"C2 of campaign {n}", "pattern": pattern, "pattern_type": "stix",
                "valid_from": "2025-03-01T10:00:00Z", "indicator_types": ["malicious-activity"]}
    return {"type": "bundle", "id": f"bundle--{n:08d}-0000-4000-8000-000000000000",
            "objects": [ind(1, f"[domain-name:value = '{shared_form}']"),
                        ind(2, f"[domain-name:value = 'lonely-{n}.example.org']")]}


def _submit(server, key, n: int, shared_form: str) -> str:
    r = requests.post(f"{server.base}/api/v1/submissions", auth=auth(key), timeout=60,
                      json={"bundle": _bundle(n, shared_form), "victim_profile": demo("profile.json"),
                            "tlp": "green", "victim_ref": "CASE-9"})
    assert r.status_code in (200, 201, 202), r.text
    return r.json()["id"]


def _holds(server, keys, sid: str) -> dict[str, dict]:
    """'shared' / 'lonely' -> the public report's hold on that indicator."""
    view = requests.get(f"{server.base}/api/v1/submissions/{sid}", auth=auth(keys.analyst), timeout=30).json()
    draft = requests.get(f"{server.base}/api/v1/submissions/{sid}/draft", auth=auth(keys.analyst), timeout=30).json()
    pattern = {o["id"]: o.get("pattern", "") for o in draft["objects"]}
    return {("lonely" if "lonely" in pattern[h["object"]] else "shared"): h for h in view["report"]["holds"]}


def test_e2e_three_csirts_corroborate_one_c2(served):
    keys, submitters, server = served
    forms = [SHARED, SHARED.upper(), SHARED + "."]  # one value, three spellings
    sids = [_submit(server, submitters[i], i, forms[i]) for i in range(3)]
    for sid in sids:
        holds = _holds(server, keys, sid)
        assert holds["shared"].get("released") is True and holds["shared"]["released_by"] == "corroboration"
        assert not holds["lonely"].get("released")  # reported by one: stays held

    # A rejected submission lowers the count: the shared C2 is held again in the other two.
    r = requests.post(f"{server.base}/api/v1/submissions/{sids[2]}/reject", auth=auth(keys.analyst), timeout=60,
                      json={"reason": "sent twice by mistake"})
    assert r.status_code == 200, r.text
    for sid in sids[:2]:
        assert not _holds(server, keys, sid)["shared"].get("released")
    sids[2] = _submit(server, submitters[2], 2, forms[2])
    assert _holds(server, keys, sids[0])["shared"]["released_by"] == "corroboration"

    for sid in sids:
        lonely = _holds(server, keys, sid)["lonely"]
        r = requests.post(f"{server.base}/api/v1/submissions/{sid}/holds/release", auth=auth(keys.analyst),
                          timeout=60, json={"object": lonely["object"], "justification": "public sinkhole domain"})
        assert r.status_code == 200, r.text
        r = requests.post(f"{server.base}/api/v1/submissions/{sid}/approve", auth=auth(keys.analyst), timeout=60)
        assert r.status_code == 200 and r.json()["status"] == "published", r.text

    root = ApiRoot(f"{server.base}/hub/", user=keys.consumer["key_id"], password=keys.consumer["key"])
    green = next(c for c in root.collections if c.title == "TLP:GREEN")
    objects = green.get_objects()["objects"]
    shared = [o for o in objects if o["type"] == "indicator" and SHARED in o["pattern"].lower()]
    assert len({o["id"] for o in shared}) == 1 and len(shared) == 1
    assert shared[0]["confidence"] == 70
    sightings = [o for o in objects if o["type"] == "sighting" and o["sighting_of_ref"] == shared[0]["id"]]
    assert len(sightings) == 1 and sightings[0]["count"] == 3
    assert sightings[0]["first_seen"].endswith("T00:00:00Z") and "where_sighted_refs" not in sightings[0]
    hub_identity = sightings[0]["created_by_ref"]
    assert any(o["id"] == hub_identity and o["type"] == "identity" for o in objects)
    lonely = [o for o in objects if o["type"] == "sighting" and o["count"] == 1]
    assert len(lonely) == 3
    feed = json.dumps(objects, ensure_ascii=False)
    for org in CSIRTS:
        assert org not in feed
    parsed = stix2.parse(sightings[0], allow_custom=False)  # the peer's library reads it unmodified
    assert parsed.count == 3


def _sighting_counts(green) -> dict[str, int]:
    return {o["sighting_of_ref"]: o["count"] for o in green.get_objects()["objects"] if o["type"] == "sighting"}


def test_e2e_a_sighting_pushed_to_the_inbox_confirms_an_indicator(served):
    keys, submitters, server = served
    sid = _submit(server, submitters[1], 1, SHARED)
    for hold in requests.get(f"{server.base}/api/v1/submissions/{sid}", auth=auth(keys.analyst),
                             timeout=30).json()["report"]["holds"]:
        requests.post(f"{server.base}/api/v1/submissions/{sid}/holds/release", auth=auth(keys.analyst), timeout=60,
                      json={"object": hold["object"], "justification": "public sinkhole domain"})
    r = requests.post(f"{server.base}/api/v1/submissions/{sid}/approve", auth=auth(keys.analyst), timeout=60)
    assert r.json()["status"] == "published", r.text
    root = ApiRoot(f"{server.base}/hub/", user=keys.consumer["key_id"], password=keys.consumer["key"])
    green = next(c for c in root.collections if c.title == "TLP:GREEN")
    indicator = next(o for o in green.get_objects()["objects"]
                     if o["type"] == "indicator" and "lonely-1" in o["pattern"])
    assert _sighting_counts(green)[indicator["id"]] == 1
    inbox = Collection(f"{server.base}/hub/collections/{keys.inbox_a}/", user=keys.submitter["key_id"],
                       password=keys.submitter["key"])
    mine = {"type": "sighting", "spec_version": "2.1", "id": "sighting--6b0e8a4c-3f0e-4d8e-9a51-0c2b7f1d2e3a",
            "created": "2025-03-02T00:00:00.000Z", "modified": "2025-03-02T00:00:00.000Z",
            "sighting_of_ref": indicator["id"]}
    status = inbox.add_objects({"objects": [mine]}, wait_for_completion=False)
    assert status.status == "complete" and status.success_count == 1, status.failures
    assert _sighting_counts(green)[indicator["id"]] == 2
    r = requests.post(f"{server.base}/api/v1/sightings", auth=auth(keys.consumer), timeout=60,
                      json={"indicator": indicator["id"]})
    assert r.status_code == 201 and r.json()["count"] == 3
    feed = json.dumps(green.get_objects()["objects"])
    assert mine["id"] not in feed and "csirt-a" not in feed and "peer-b" not in feed

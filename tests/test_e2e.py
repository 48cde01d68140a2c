"""End to end over real sockets: a CSIRT submits with `hub submit` (and, separately, pushes over
TAXII into its inbox), an analyst reviews over the API, a peer pulls with `hub poll` and checks
the publication with `hub verify`; no victim string ever reaches the peer."""
from __future__ import annotations

import json
import subprocess
import sys
import time

import pytest
import requests
from taxii2client.v21 import ApiRoot, Collection

from conftest import ROOT
from review_fixtures import DEMO, auth, demo, setup_hub, victim_strings
from taxii_fixtures import Server, pg_database


@pytest.fixture(params=["sqlite", "postgresql"])
def served(request, tmp_path):
    if request.param == "sqlite":
        keys = setup_hub(tmp_path / "hub")
        server = Server(keys.data_dir).start()
        yield keys, server
        server.stop()
        return
    with pg_database() as url:
        keys = setup_hub(tmp_path / "hub", url)
        server = Server(keys.data_dir).start()
        yield keys, server
        server.stop()


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "hub", *args], capture_output=True, text=True, cwd=ROOT,
                          timeout=300)


def _review_and_approve(server, keys, sid: str) -> dict:
    """The analyst releases the holds (with a justification) and approves, over the API."""
    api = f"{server.base}/api/v1/submissions/{sid}"
    view = requests.get(api, auth=auth(keys.analyst), timeout=30).json()
    for hold in view["report"]["holds"]:
        r = requests.post(f"{api}/holds/release", auth=auth(keys.analyst), timeout=60,
                          json={"object": hold["object"], "justification": "reported by several members already"})
        assert r.status_code == 200, r.text
    r = requests.post(f"{api}/approve", auth=auth(keys.analyst), timeout=60)
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "published"
    return r.json()


def _green_id(server, keys) -> str:
    root = ApiRoot(f"{server.base}/hub/", user=keys.consumer["key_id"], password=keys.consumer["key"])
    return next(c.id for c in root.collections if c.title == "TLP:GREEN")


def _pulled_text(out_dir) -> str:
    return "".join(p.read_text(encoding="utf-8") for p in sorted(out_dir.glob("bundle-*.json")))


def test_hub_submit_to_hub_poll(served, tmp_path):
    keys, server = served
    sub = _cli("submit", str(DEMO / "submission.json"), "--profile", str(DEMO / "profile.json"),
               "--victim-ref", "CASE-1", "--tlp", "green", "--url", server.base,
               "--user", keys.submitter["key_id"], "--password", keys.submitter["key"], "--json")
    assert sub.returncode == 0, sub.stderr
    accepted = json.loads(sub.stdout)
    assert accepted["status"] == "review"
    published = _review_and_approve(server, keys, accepted["id"])

    out = tmp_path / "pulled"
    poll_args = ("poll", f"{server.base}/hub/", "--collection", _green_id(server, keys),
                 "--user", keys.consumer["key_id"], "--password", keys.consumer["key"], "-o", str(out), "--json")
    first = _cli(*poll_args)
    assert first.returncode == 0, first.stderr
    assert json.loads(first.stdout)["objects"] >= 20
    text = _pulled_text(out)
    assert '"type":"indicator"' in text.replace(" ", "") and '"type":"malware"' in text.replace(" ", "")
    for value in victim_strings():
        assert value not in text and json.dumps(value)[1:-1] not in text
    assert json.loads(_cli(*poll_args).stdout)["objects"] == 0  # incremental: nothing new

    verify = _cli("verify", published["publication_id"], "--url", server.base, "--user", keys.consumer["key_id"],
                  "--password", keys.consumer["key"], "--json")
    assert verify.returncode == 0, verify.stdout + verify.stderr
    assert json.loads(verify.stdout)["valid"] is True
    # A key that does not match the hub's is not trusted.
    forged = _cli("verify", published["publication_id"], "--url", server.base, "--user", keys.consumer["key_id"],
                  "--password", keys.consumer["key"], "--public-key", "A" * 43 + "=")
    assert forged.returncode == 3


def test_hub_submit_bad_input_exits_2_and_names_no_value(served, tmp_path):
    keys, server = served
    profile = tmp_path / "p.json"
    profile.write_text(json.dumps({"organization_names": ["ヤマブキ製作所"], "domains": ["zz bogus zz"]}),
                       encoding="utf-8")
    bad = _cli("submit", str(DEMO / "submission.json"), "--profile", str(profile), "--url", server.base,
               "--user", keys.submitter["key_id"], "--password", keys.submitter["key"])
    assert bad.returncode == 2
    assert "domains" in bad.stderr and "zz bogus zz" not in bad.stderr and "Traceback" not in bad.stderr
    wrong_key = _cli("submit", str(DEMO / "submission.json"), "--profile", str(DEMO / "profile.json"),
                     "--url", server.base, "--user", keys.consumer["key_id"], "--password", keys.consumer["key"])
    assert wrong_key.returncode == 2 and "403" in wrong_key.stderr


def test_taxii_inbox_push_becomes_a_submission(served, tmp_path):
    keys, server = served
    inbox = Collection(f"{server.base}/hub/collections/{keys.inbox_a}/", user=keys.submitter["key_id"],
                       password=keys.submitter["key"])
    assert inbox.can_write and not inbox.can_read
    envelope = {"objects": demo("submission.json")["objects"]}
    # Without a registered default profile the inbox cannot sanitise: refused, nothing kept.
    with pytest.raises(requests.HTTPError) as refused:
        inbox.add_objects(envelope, wait_for_completion=False)
    assert refused.value.response.status_code == 422
    r = requests.post(f"{server.base}/api/v1/profiles", auth=auth(keys.submitter), timeout=30,
                      json={"name": "yamabuki", "profile": demo("profile.json"), "default": True,
                            "victim_ref": "CASE-1"})
    assert r.status_code == 201, r.text

    status = inbox.add_objects(envelope, wait_for_completion=False)
    assert status.total_count == len(envelope["objects"])
    deadline = time.monotonic() + 60
    while status.status != "complete" and time.monotonic() < deadline:
        time.sleep(0.3)
        status.refresh()
    assert status.status == "complete" and status.success_count == status.total_count
    body = json.dumps(status._raw if hasattr(status, "_raw") else status.__dict__, default=str, ensure_ascii=False)
    for value in victim_strings():
        assert value not in body  # the status never echoes victim data
    sid = status.successes[0]["message"].split("submission ")[1].split()[0]
    view = requests.get(f"{server.base}/api/v1/submissions/{sid}", auth=auth(keys.submitter), timeout=30).json()
    assert (view["source"], view["victim_ref"], view["agreement"]["status"]) == ("taxii", "CASE-1", "active")
    # Nobody reads an inbox, the pushing CSIRT included; other CSIRTs cannot write to it.
    assert requests.get(f"{server.base}/hub/collections/{keys.inbox_a}/objects/", auth=auth(keys.admin),
                        headers={"Accept": "application/taxii+json;version=2.1"}, timeout=30).status_code in (403, 404)
    other = requests.post(f"{server.base}/hub/collections/{keys.inbox_a}/objects/", auth=auth(keys.submitter_b),
                          data=json.dumps(envelope), timeout=30,
                          headers={"Accept": "application/taxii+json;version=2.1",
                                   "Content-Type": "application/taxii+json;version=2.1"})
    assert other.status_code in (403, 404)

    _review_and_approve(server, keys, sid)
    out = tmp_path / "pulled"
    poll = _cli("poll", f"{server.base}/hub/", "--collection", _green_id(server, keys) if view["tlp"] == "green"
                else _collection_id(server, keys, view["tlp"]), "--user", keys.admin["key_id"],
                "--password", keys.admin["key"], "-o", str(out), "--json")
    assert poll.returncode == 0, poll.stderr
    text = _pulled_text(out)
    assert json.loads(poll.stdout)["objects"] > 0
    for value in victim_strings():
        assert value not in text


def _collection_id(server, keys, tlp: str) -> str:
    root = ApiRoot(f"{server.base}/hub/", user=keys.admin["key_id"], password=keys.admin["key"])
    return next(c.id for c in root.collections if c.title == f"TLP:{tlp.upper()}")


def test_inbox_refuses_hostile_nesting_with_a_4xx(served):
    keys, server = served
    r = requests.post(f"{server.base}/api/v1/profiles", auth=auth(keys.submitter), timeout=30,
                      json={"name": "yamabuki", "profile": demo("profile.json"), "default": True})
    assert r.status_code == 201
    deep: object = "x"
    for _ in range(300):  # parses (orjson reads 1024 levels) but could not be sealed (254)
        deep = [deep]
    obj = {"type": "indicator", "spec_version": "2.1", "id": "indicator--00000000-0000-4000-8000-000000000001",
           "created": "2025-01-01T00:00:00.000Z", "modified": "2025-01-01T00:00:00.000Z", "x_deep": deep}
    r = requests.post(f"{server.base}/hub/collections/{keys.inbox_a}/objects/", auth=auth(keys.submitter),
                      data=json.dumps({"objects": [obj]}), timeout=30,
                      headers={"Accept": "application/taxii+json;version=2.1",
                               "Content-Type": "application/taxii+json;version=2.1"})
    assert r.status_code == 400 and "nested" in r.json()["description"]
    assert requests.get(f"{server.base}/healthz", timeout=5).status_code == 200

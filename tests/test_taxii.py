"""The TAXII 2.1 feed as peers use it: the real taxii2-client over a real socket against
`hub serve`, on SQLite and on PostgreSQL."""
from __future__ import annotations

import json
import threading

import pytest
import requests
from taxii2client.exceptions import TAXIIServiceException
from taxii2client.v21 import ApiRoot, Collection, Server, as_pages

from taxii_fixtures import Server as HubServer
from taxii_fixtures import hub, pg_database


def hub_lines(feed, *args: str) -> list[str]:
    """A `hub ... --json` command that prints JSON lines."""
    import subprocess
    import sys

    from conftest import ROOT

    proc = subprocess.run([sys.executable, "-m", "hub", *args, "--data-dir", str(feed["data"]), "--json"],
                          capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    return [line for line in proc.stdout.splitlines() if line.strip()]

from conftest import indicator

TAXII = "application/taxii+json;version=2.1"


def make_objects(start: int, n: int) -> list[dict]:
    return [indicator(start + i, f"[ipv4-addr:value = '192.0.2.{(start + i) % 250 + 1}']",
                      name=f"C2 {start + i}") for i in range(n)]


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def feed(request, tmp_path_factory):
    data = tmp_path_factory.mktemp(f"hub-{request.param}")
    if request.param == "postgresql":
        ctx = pg_database()
        url = ctx.__enter__()
        init = hub("init", "--database-url", url, data_dir=data)
    else:
        ctx = None
        init = hub("init", data_dir=data)
    colls = {c["title"]: c["id"] for c in init["collections"]}
    hub("org", "add", "csirt-a", "--type", "csirt", "--sector", "manufacturing", "--region", "JP", data_dir=data)
    hub("org", "add", "peer-b", "--type", "peer", data_dir=data)
    hub("org", "add", "peer-c", "--type", "peer", data_dir=data)
    keys = {
        "admin": init["admin_key"],
        "b": hub("key", "create", "--org", "peer-b", "--role", "consumer", data_dir=data),
        "c": hub("key", "create", "--org", "peer-c", "--role", "consumer", data_dir=data),
        "a": hub("key", "create", "--org", "csirt-a", "--role", "consumer", data_dir=data),
        "a_submitter": hub("key", "create", "--org", "csirt-a", "--role", "submitter", data_dir=data),
    }
    hub("grant", "--org", "peer-b", "--collection", "TLP:AMBER", "--read", data_dir=data)
    hub("grant", "--org", "csirt-a", "--collection", "TLP:GREEN", "--read", data_dir=data)
    green = data / "green.json"
    green.write_text(json.dumps({"type": "bundle", "id": "bundle--6a0f3c8e-1111-4aaa-8bbb-000000000001",
                                 "objects": make_objects(1000, 120)}))
    pub = hub("publish", str(green), "--collection", "TLP:GREEN", data_dir=data)
    assert pub["added"] == 120
    amber = data / "amber.json"
    amber.write_text(json.dumps({"type": "bundle", "id": "bundle--6a0f3c8e-1111-4aaa-8bbb-000000000002",
                                 "objects": make_objects(5000, 5)}))
    hub("publish", str(amber), "--collection", "TLP:AMBER", data_dir=data)
    server = HubServer(data).start()
    yield {"server": server, "data": data, "colls": colls, "keys": keys, "backend": request.param}
    server.stop()
    if ctx:
        ctx.__exit__(None, None, None)


def publish(feed, objects: list[dict], title: str = "TLP:GREEN") -> dict:
    """The operator's `hub publish` (TLP collections are written only by publication)."""
    path = feed["data"] / f"bundle-{objects[0]['id']}.json"
    path.write_text(json.dumps({"type": "bundle", "id": "bundle--" + objects[0]["id"].split("--")[1],
                                "objects": objects}))
    return hub("publish", str(path), "--collection", title, data_dir=feed["data"])


def api_root(feed, who="b") -> ApiRoot:
    k = feed["keys"][who]
    return ApiRoot(feed["server"].base + "/hub/", user=k["key_id"], password=k["key"])


def collection(feed, title, who="b") -> Collection:
    k = feed["keys"][who]
    return Collection(f"{feed['server'].base}/hub/collections/{feed['colls'][title]}/",
                      user=k["key_id"], password=k["key"])


def raw(feed, path, who="b", method="GET", headers=None, **kwargs):
    k = feed["keys"][who] if who else None
    h = {"Accept": TAXII, **(headers or {})}
    return requests.request(method, feed["server"].base + path, headers=h,
                            auth=(k["key_id"], k["key"]) if k else None, **kwargs)


# ----------------------------------------------------------------------------- discovery
def test_discovery_api_root_and_collections_filtered_per_organisation(feed):
    k = feed["keys"]["b"]
    server = Server(feed["server"].base + "/taxii2/", user=k["key_id"], password=k["key"])
    assert server.title and len(server.api_roots) == 1
    root = server.api_roots[0]
    assert "application/taxii+json;version=2.1" in root.versions
    titles_b = {c.title for c in api_root(feed, "b").collections}
    titles_c = {c.title for c in api_root(feed, "c").collections}
    assert titles_b == {"TLP:CLEAR", "TLP:GREEN", "TLP:AMBER"}  # AMBER by grant
    assert titles_c == {"TLP:CLEAR", "TLP:GREEN"}
    titles_admin = {c.title for c in api_root(feed, "admin").collections}
    assert "TLP:AMBER+STRICT" in titles_admin


def test_collection_resource_and_invisible_collection_is_404(feed):
    coll = collection(feed, "TLP:GREEN")
    assert coll.can_read and not coll.can_write
    r = raw(feed, f"/hub/collections/{feed['colls']['TLP:AMBER']}/", who="c")
    assert r.status_code == 404
    r = raw(feed, "/hub/collections/00000000-0000-4000-8000-000000000000/objects/")
    assert r.status_code == 404


# ----------------------------------------------------------------------------- objects
def test_pages_cover_everything_once(feed):
    ids = []
    for env in as_pages(collection(feed, "TLP:GREEN").get_objects, per_request=25):
        ids += [o["id"] for o in env.get("objects", [])]
    assert len(ids) == len(set(ids)) >= 120


def test_paging_while_objects_are_added_loses_and_duplicates_nothing(feed):
    coll = collection(feed, "TLP:GREEN", who="b")
    seen, added = [], []
    pages = as_pages(coll.get_objects, per_request=20)
    for n, env in enumerate(pages):
        seen += [o["id"] for o in env.get("objects", [])]
        if n < 3:  # the hub publishes between our pages
            new = make_objects(20000 + n * 7, 7)
            assert publish(feed, new)["added"] == 7
            added += [o["id"] for o in new]
    assert len(seen) == len(set(seen))
    assert set(added) <= set(seen)


def test_cursor_survives_a_server_restart(feed):
    coll = collection(feed, "TLP:GREEN")
    first = coll.get_objects(limit=30)
    assert first["more"] and first["next"]
    feed["server"].restart()
    second = collection(feed, "TLP:GREEN").get_objects(limit=30, next=first["next"])
    ids1 = {o["id"] for o in first["objects"]}
    ids2 = {o["id"] for o in second["objects"]}
    assert ids2 and not ids1 & ids2


def test_next_without_limit(feed):
    first = raw(feed, f"/hub/collections/{feed['colls']['TLP:GREEN']}/objects/?limit=10").json()
    r = raw(feed, f"/hub/collections/{feed['colls']['TLP:GREEN']}/objects/?next={first['next']}")
    assert r.status_code == 200 and r.json()["objects"]


def test_added_after_and_date_added_headers(feed):
    cid = feed["colls"]["TLP:GREEN"]
    r = raw(feed, f"/hub/collections/{cid}/objects/?limit=5")
    first, last = r.headers["X-TAXII-Date-Added-First"], r.headers["X-TAXII-Date-Added-Last"]
    assert first <= last
    after = raw(feed, f"/hub/collections/{cid}/objects/?limit=1000&added_after={last}").json()["objects"]
    before = {o["id"] for o in r.json()["objects"]}
    assert not before & {o["id"] for o in after}


def test_match_filters(feed):
    coll = collection(feed, "TLP:GREEN")
    one = coll.get_objects(limit=3)["objects"]
    ids = ",".join(o["id"] for o in one[:2])
    got = coll.get_objects(id=ids)["objects"]
    assert sorted(o["id"] for o in got) == sorted(o["id"] for o in one[:2])
    assert not coll.get_objects(type="malware").get("objects")
    assert coll.get_objects(type="indicator", limit=5)["objects"]
    assert coll.get_objects(spec_version="2.1", limit=5)["objects"]
    versions = coll.get_objects(id=one[0]["id"], version="all")["objects"]
    assert [o["modified"] for o in versions] == [one[0]["modified"]]


def test_object_versions_manifest_and_new_versions(feed):
    base = make_objects(30000, 1)[0]
    newer = {**base, "modified": "2025-03-19T09:00:00.000Z", "name": "C2 updated"}
    publish(feed, [base])
    publish(feed, [newer])
    coll = collection(feed, "TLP:GREEN")
    assert coll.get_object(base["id"])["objects"][0]["name"] == "C2 updated"  # last by default
    assert len(coll.get_object(base["id"], version="all")["objects"]) == 2
    assert coll.get_object(base["id"], version="first")["objects"][0]["name"] == "C2 30000"
    versions = raw(feed, f"/hub/collections/{feed['colls']['TLP:GREEN']}/objects/{base['id']}/versions/").json()
    assert versions["versions"] == ["2025-03-18T09:00:00.000000Z", "2025-03-19T09:00:00.000000Z"] or \
        len(versions["versions"]) == 2
    manifest = coll.get_manifest(id=base["id"])["objects"]
    assert manifest[0]["id"] == base["id"] and manifest[0]["media_type"].startswith("application/stix+json")


def test_members_cannot_change_a_tlp_collection_over_taxii(feed):
    """Issue 12: TLP collections are written only by publication. A member with a grant (read
    here; a write grant cannot be given) cannot POST, re-version or DELETE; even the operator's
    admin key cannot POST (it publishes with `hub publish`), and the refusal points to the inbox."""
    published = collection(feed, "TLP:GREEN").get_objects(limit=1)["objects"][0]
    path = f"/hub/collections/{feed['colls']['TLP:GREEN']}/objects/"
    reversion = {**published, "modified": "2030-01-01T00:00:00.000Z", "pattern": "[ipv4-addr:value = '198.51.100.7']"}
    for who in ("a", "b", "admin"):
        for body in ([reversion], make_objects(45000, 1)):
            r = raw(feed, path, who=who, method="POST", headers={"Content-Type": TAXII},
                    data=json.dumps({"objects": body}))
            assert r.status_code == 403, (who, r.text)
    assert "INBOX" in r.text and "受付" in r.text  # the operator's key reached the refusal itself
    for who in ("a", "b"):
        assert raw(feed, path + published["id"] + "/", who=who, method="DELETE").status_code == 403
    assert collection(feed, "TLP:GREEN").get_object(published["id"])["objects"] == [published]
    refused = hub("grant", "--org", "csirt-a", "--collection", "TLP:GREEN", "--write", data_dir=feed["data"],
                  check=False)
    assert refused.returncode == 2 and "publication" in refused.stderr and "Traceback" not in refused.stderr


def test_operator_withdrawal_reaches_a_poller_as_revoked(feed):
    """TAXII DELETE by the operator's admin is a withdrawal: the SDO comes back as a new version
    with `revoked: true` (a signed publication), `hub verify` stays valid, one audit entry."""
    obj = make_objects(40000, 1)[0]
    publish(feed, [obj])
    before = [json.loads(line) for line in hub_lines(feed, "audit", "list", "--limit", "100000")]
    path = f"/hub/collections/{feed['colls']['TLP:GREEN']}/objects/{obj['id']}/"
    assert raw(feed, path, who="b", method="DELETE").status_code == 403
    assert raw(feed, path, who="admin", method="DELETE").status_code == 200
    poller = collection(feed, "TLP:GREEN")  # a peer's taxii2-client
    latest = poller.get_object(obj["id"])["objects"][0]
    assert latest["revoked"] is True and latest["modified"] > obj["modified"]
    assert [o.get("revoked", False) for o in poller.get_object(obj["id"], version="all")["objects"]] == [False, True]
    after = [json.loads(line) for line in hub_lines(feed, "audit", "list", "--limit", "100000")]
    new = after[len(before):]
    assert [(e["action"], e["subject"]) for e in new] == [("withdraw", obj["id"])]
    assert {"seq", "time", "actor", "action", "subject"} <= set(new[0])
    assert hub("verify", data_dir=feed["data"])["valid"] is True
    # The CLI says so for an object already withdrawn, and refuses a missing reason.
    again = hub("withdraw", obj["id"], "--collection", "TLP:GREEN", "--reason", "dup", data_dir=feed["data"],
                check=False)
    assert again.returncode == 2 and "already withdrawn" in again.stderr


def test_stix2_taxii_collection_source_reads_the_feed(feed):
    from stix2 import Filter, TAXIICollectionSource

    src = TAXIICollectionSource(collection(feed, "TLP:GREEN"))
    found = src.query([Filter("type", "=", "indicator")])
    assert len(found) >= 120


# ----------------------------------------------------------------------------- auth and errors
def test_bearer_and_token_schemes(feed):
    k = feed["keys"]["b"]["key"]
    for scheme in ("Bearer", "Token"):
        r = requests.get(feed["server"].base + "/hub/collections/",
                         headers={"Accept": TAXII, "Authorization": f"{scheme} {k}"})
        assert r.status_code == 200


@pytest.mark.parametrize("case,expected", [
    ("no credentials", 401), ("wrong key", 401), ("write without grant", 403),
    ("unknown api root", 404), ("accept html", 406), ("too large", 413), ("content type", 415),
    ("bad limit", 400), ("bad added_after", 400), ("bad next", 400), ("bad match id", 400),
    ("accept without version", 200), ("submitter reads", 404),  # a submitter key sees no TLP collection
])
def test_error_statuses(feed, case, expected):
    green = f"/hub/collections/{feed['colls']['TLP:GREEN']}/objects/"
    post = {"method": "POST", "headers": {"Content-Type": TAXII}, "data": json.dumps({"objects": []})}
    if case == "no credentials":
        r = raw(feed, green, who=None)
        assert r.headers.get("WWW-Authenticate", "").startswith("Basic")
    elif case == "wrong key":
        r = requests.get(feed["server"].base + green, headers={"Accept": TAXII},
                         auth=(feed["keys"]["b"]["key_id"], "nope"))
    elif case == "write without grant":
        r = raw(feed, green, who="b", **post)
    elif case == "unknown api root":
        r = raw(feed, "/nope/collections/")
    elif case == "accept html":
        r = raw(feed, green, headers={"Accept": "text/html"})
    elif case == "too large":
        r = raw(feed, green, who="admin", method="POST", headers={"Content-Type": TAXII},
                data=b'{"objects": [' + b" " * (11 * 1024 * 1024) + b"]}")
    elif case == "content type":
        r = raw(feed, green, who="admin", method="POST", headers={"Content-Type": "application/json"},
                data=json.dumps({"objects": []}))
    elif case == "bad limit":
        r = raw(feed, green + "?limit=abc")
    elif case == "bad added_after":
        r = raw(feed, green + "?added_after=yesterday")
    elif case == "bad next":
        r = raw(feed, green + "?next=garbage!!")
    elif case == "bad match id":
        r = raw(feed, green + "?match[id]=notanid")
    elif case == "accept without version":
        r = raw(feed, green, headers={"Accept": "application/taxii+json"})
    elif case == "submitter reads":
        r = raw(feed, green, who="a_submitter")
    assert r.status_code == expected
    if expected >= 400:
        body = r.json()
        assert body["http_status"] == str(expected) and "Traceback" not in r.text


def test_revoked_key_stops_at_once(feed):
    k = hub("key", "create", "--org", "peer-c", "--role", "consumer", data_dir=feed["data"])
    path = "/hub/collections/"
    ok = requests.get(feed["server"].base + path, headers={"Accept": TAXII}, auth=(k["key_id"], k["key"]))
    assert ok.status_code == 200
    hub("key", "revoke", k["key_id"], data_dir=feed["data"])
    r = requests.get(feed["server"].base + path, headers={"Accept": TAXII}, auth=(k["key_id"], k["key"]))
    assert r.status_code == 401


def test_concurrent_readers(feed):
    errors = []

    def read():
        try:
            for _env in as_pages(collection(feed, "TLP:GREEN").get_objects, per_request=50):
                pass
        except (TAXIIServiceException, requests.RequestException) as exc:
            errors.append(exc)

    threads = [threading.Thread(target=read) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors


# ----------------------------------------------------------------------------- hub poll
def test_hub_poll_pulls_only_what_is_new(feed, tmp_path):
    k = feed["keys"]["b"]
    out = tmp_path / "pulled"
    args = ("poll", feed["server"].base + "/hub/", "--collection", feed["colls"]["TLP:AMBER"],
            "--user", k["key_id"], "--password", k["key"], "-o", str(out))
    import subprocess
    import sys

    from conftest import ROOT

    def run():
        proc = subprocess.run([sys.executable, "-m", "hub", *args, "--json"], capture_output=True, text=True,
                              cwd=ROOT)
        assert proc.returncode == 0, proc.stderr
        return json.loads(proc.stdout)

    first = run()
    assert first["objects"] == 6  # five indicators and the operator's identity
    assert run()["objects"] == 0
    amber = feed["data"] / "amber2.json"
    amber.write_text(json.dumps({"type": "bundle", "id": "bundle--6a0f3c8e-1111-4aaa-8bbb-000000000003",
                                 "objects": make_objects(70000, 3)}))
    hub("publish", str(amber), "--collection", "TLP:AMBER", data_dir=feed["data"])
    third = run()
    assert third["objects"] == 3
    pulled = [o["id"] for f in sorted(out.glob("bundle-*.json")) for o in json.loads(f.read_text())["objects"]]
    assert len(pulled) == len(set(pulled)) == 9


def test_hub_poll_merge_writes_one_bundle_with_the_key_from_the_environment_or_a_file(feed, tmp_path):
    import os
    import subprocess
    import sys

    from conftest import ROOT

    k = feed["keys"]["b"]
    base = ("poll", feed["server"].base + "/hub/", "--collection", feed["colls"]["TLP:AMBER"], "--page-size", "2",
            "--merge", "--json")

    def run(*extra, env=None):
        return subprocess.run([sys.executable, "-m", "hub", *base, *extra], capture_output=True, text=True, cwd=ROOT,
                              env={**os.environ, "HUB_KEY": "", **(env or {})})

    # The key from $HUB_KEY: never on the command line (the key id is the part before the dot).
    out = tmp_path / "merged"
    proc = run("-o", str(out), env={"HUB_KEY": k["key"]})
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert result["pages"] >= 3 and result["bundles"] == 1
    files = sorted(out.glob("bundle-*.json"))
    assert len(files) == 1
    objects = json.loads(files[0].read_text())["objects"]
    assert len(objects) == result["objects"]
    ids = {o["id"] for o in objects}
    refs = [o[f] for o in objects for f in ("created_by_ref", "source_ref", "target_ref") if f in o]
    assert len(ids) == result["objects"] and all(r in ids for r in refs)  # references resolve inside
    assert k["key"] not in proc.stdout + proc.stderr
    # A key file readable by others is refused before anything is asked of the server.
    key_file = tmp_path / "peer.key"
    key_file.write_text(k["key"] + "\n")
    key_file.chmod(0o644)
    proc = run("-o", str(tmp_path / "other"), "--key-file", str(key_file))
    assert proc.returncode == 2 and "chmod 600" in proc.stderr and k["key"] not in proc.stderr
    assert not (tmp_path / "other").exists()
    key_file.chmod(0o600)
    proc = run("-o", str(tmp_path / "other"), "--key-file", str(key_file))
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["objects"] == result["objects"]
    # No key at all: a clear exit 2.
    proc = run("-o", str(tmp_path / "none"))
    assert proc.returncode == 2 and "HUB_KEY" in proc.stderr

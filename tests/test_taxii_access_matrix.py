"""TAXII access matrix: every role of every organisation × every collection (the four TLP
collections and two CSIRTs' inboxes) × every TAXII endpoint, generated, on SQLite and PostgreSQL.
An allowed cell must do its job (a read returns the stored object, a write stores or submits it,
a delete removes a version), so an endpoint that refused everything would fail as surely as one
that let everybody in.

The rule it checks (README, "Running the feed"): CLEAR and GREEN are read by every member's
consumer, analyst and admin keys; AMBER and AMBER+STRICT only by grant (peer-b has AMBER);
TLP collections are written only by publication (issue 12): nobody adds objects over TAXII, even
with a grant (csirt-a holds one on GREEN), and a DELETE is the operator admin's withdrawal (the
object comes back as a revoked version); the operator's admin reads every TLP collection; an inbox
is written by its own CSIRT's submitter key (a push is a submission) and read by nobody.
A cell that may not read gets 403 or 404 and never an object; a revoked key gets 401 at once."""
from __future__ import annotations

import itertools
import json

import pytest

from hub.app import create_app
from hub.context import HubContext
from hub.datadir import DataDir
from hub.domain import ROLES
from hub.services.profiles import add_profile
from review_fixtures import demo, hub, setup_hub
from taxii_fixtures import pg_database

ORGS = ("hub-operator", "csirt-a", "csirt-b", "peer-b")
COLLECTIONS = ("TLP:CLEAR", "TLP:GREEN", "TLP:AMBER", "TLP:AMBER+STRICT", "INBOX:csirt-a", "INBOX:csirt-b")
GRANTS = {("peer-b", "TLP:AMBER"): "read", ("csirt-a", "TLP:GREEN"): "read"}
TAXII = "application/taxii+json;version=2.1"
OBJ = "indicator--00000000-0000-4000-8000-0000000000aa"


def may_read(org: str, role: str, coll: str) -> bool:
    if coll.startswith("INBOX:"):
        return False
    if role not in ("consumer", "analyst", "admin"):
        return False
    if org == "hub-operator" and role == "admin":
        return True
    return coll in ("TLP:CLEAR", "TLP:GREEN") or GRANTS.get((org, coll)) == "read"


def may_write(org: str, role: str, coll: str) -> bool:
    """TAXII add: only a CSIRT's submitter into its own inbox."""
    return coll == f"INBOX:{org}" and role == "submitter"


def may_withdraw(org: str, role: str, coll: str) -> bool:
    """TAXII DELETE: the operator's admin withdraws from a TLP collection."""
    return not coll.startswith("INBOX:") and org == "hub-operator" and role == "admin"


ENDPOINTS = (("collection", "GET", ""), ("objects", "GET", "objects/"), ("manifest", "GET", "manifest/"),
             ("object", "GET", f"objects/{OBJ}/"), ("versions", "GET", f"objects/{OBJ}/versions/"),
             ("add", "POST", "objects/"), ("delete", "DELETE", f"objects/{OBJ}/"))
CELLS = list(itertools.product(ORGS, ROLES, COLLECTIONS, ENDPOINTS))


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def matrix(request, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("matrix")
    if request.param == "sqlite":
        yield _build(tmp, None)
        return
    with pg_database() as url:
        m = _build(tmp, url)
        yield m
        m["ctx"].store.close()


def _build(tmp, url):
    setup_hub(tmp / "hub", url)  # csirt-a, csirt-b (with inboxes), peer-b, the operator
    data = DataDir(tmp / "hub")
    for (org, coll), right in GRANTS.items():
        hub("grant", "--org", org, "--collection", coll, f"--{right}", data_dir=data.path)
    keys = {(org, role): hub("key", "create", "--org", org, "--role", role, data_dir=data.path)
            for org in ORGS for role in ROLES}
    ctx = HubContext.from_datadir(data)
    app = create_app(ctx.store, ctx=ctx, test_config={"SECRET_KEY": b"k" * 32, "RATE_LIMIT_PER_MINUTE": 0})
    client = app.test_client()
    admin = keys[("hub-operator", "admin")]
    ids = {c.title: c.id for c in ctx.store.list_collections()}
    for csirt in ("csirt-a", "csirt-b"):  # inbox pushes are sanitised with the CSIRT's default profile
        submitter = ctx.store.authenticate(keys[(csirt, "submitter")]["key_id"],
                                           keys[(csirt, "submitter")]["key"].split(".", 1)[1])
        add_profile(ctx, principal=submitter, name="default", profile=demo("profile.json"), default=True)
    for title in COLLECTIONS[:4]:  # one object in every TLP collection, so reads have something to leak
        _publish(data, ctx, title, {"type": "indicator", "spec_version": "2.1", "id": OBJ,
                                    "created": "2025-01-01T00:00:00.000Z", "modified": "2025-01-01T00:00:00.000Z",
                                    "pattern": "[ipv4-addr:value = '203.0.113.9']", "pattern_type": "stix",
                                    "valid_from": "2025-01-01T00:00:00Z"})
    return {"client": client, "keys": keys, "ids": ids, "ctx": ctx, "data": data}


def _publish(data, ctx, title: str, obj: dict) -> None:
    """The operator's `hub publish` path, in process."""
    from hub import feed

    raw = json.dumps({"type": "bundle", "id": "bundle--" + obj["id"].split("--")[1], "objects": [obj]}).encode()
    assert feed.publish(data, ctx.store, raw, title)["added"] == 1


def _h(key: dict, content_type: str | None = None) -> dict:
    import base64

    token = base64.b64encode(f"{key['key_id']}:{key['key']}".encode()).decode()
    headers = {"Authorization": f"Basic {token}", "Accept": TAXII}
    if content_type:
        headers["Content-Type"] = content_type
    return headers


def _indicator(n: int) -> dict:
    return {"type": "indicator", "spec_version": "2.1", "id": f"indicator--00000000-0000-4000-8000-{n:012x}",
            "created": "2025-01-02T00:00:00.000Z", "modified": "2025-01-02T00:00:00.000Z",
            "pattern": "[ipv4-addr:value = '203.0.113.10']", "pattern_type": "stix",
            "valid_from": "2025-01-02T00:00:00Z"}


def test_the_matrix_exercises_every_outcome():
    """Each kind of collection has cells that may and may not read and write, so the
    per-organisation test checks both that access is granted and that it is refused."""
    for kind in ("TLP:CLEAR", "TLP:AMBER", "INBOX:csirt-a"):
        cells = [(o, r) for o in ORGS for r in ROLES]
        reads = {may_read(o, r, kind) for o, r in cells}
        writes = {(may_withdraw if kind.startswith("TLP:") else may_write)(o, r, kind) for o, r in cells}
        assert writes == {True, False}, kind
        assert reads == ({False} if kind.startswith("INBOX:") else {True, False}), kind


@pytest.mark.parametrize("org", ORGS)
def test_no_cross_organisation_read_or_write(matrix, org):
    """All cells of one organisation (4 roles × 6 collections × 7 endpoints)."""
    client, ids = matrix["client"], matrix["ids"]
    admin = matrix["keys"][("hub-operator", "admin")]
    failures = []
    for n, (o, role, coll, (name, method, suffix)) in enumerate(c for c in CELLS if c[0] == org):
        key = matrix["keys"][(o, role)]
        path = f"/hub/collections/{ids[coll]}/{suffix}"
        if method == "POST":
            allowed = may_write(o, role, coll)
            r = client.post(path, headers=_h(key, TAXII), data=json.dumps({"objects": [_indicator(0xbb)]}))
            status = r.get_json(silent=True) or {}
            done = r.status_code == 202 and status.get("failure_count") == 0 and status.get("total_count") == 1
        elif method == "DELETE":
            allowed = may_withdraw(o, role, coll)
            # An object of its own to withdraw, so an allowed delete must withdraw something real.
            victim = _indicator(0x1000 + ORGS.index(org) * 1000 + n)
            if allowed:
                _publish(matrix["data"], matrix["ctx"], coll, victim)
            target = path.replace(OBJ, victim["id"]) if allowed else path
            r = client.delete(target, headers=_h(key))
            after = client.get(f"/hub/collections/{ids[coll]}/objects/{victim['id']}/", headers=_h(admin))
            done = r.status_code == 200 and after.status_code == 200 and after.get_json()["objects"][0]["revoked"]
        else:
            allowed = may_read(o, role, coll) or (name == "collection" and may_write(o, role, coll))
            r = client.get(path, headers=_h(key))
            expected = {"collection": ids[coll], "versions": "2025-01-01T00:00:00.000000Z"}.get(name, OBJ)
            done = r.status_code == 200 and expected in r.get_data(as_text=True)
        if allowed:
            ok = done
        else:
            ok = r.status_code in (401, 403, 404) and OBJ not in r.get_data(as_text=True)
        if not ok:
            failures.append((o, role, coll, name, r.status_code))
    # Nothing a refused delete or add aimed at is gone or changed.
    for coll in COLLECTIONS[:4]:
        r = client.get(f"/hub/collections/{ids[coll]}/objects/{OBJ}/?match[version]=all", headers=_h(admin))
        assert r.status_code == 200 and [o.get("revoked") for o in r.get_json()["objects"]] == [None]
        r = client.get(f"/hub/collections/{ids[coll]}/objects/{_indicator(0xbb)['id']}/", headers=_h(admin))
        assert r.status_code == 404
    assert not failures, failures[:10]


def test_revoked_key_stops_at_once(matrix):
    client, ids = matrix["client"], matrix["ids"]
    key = hub("key", "create", "--org", "peer-b", "--role", "consumer", data_dir=matrix["data"].path)
    path = f"/hub/collections/{ids['TLP:AMBER']}/objects/"
    assert client.get(path, headers=_h(key)).status_code == 200
    hub("key", "revoke", key["key_id"], data_dir=matrix["data"].path)
    assert client.get(path, headers=_h(key)).status_code == 401
    assert client.get("/api/v1/signing-key", headers=_h(key)).status_code == 401

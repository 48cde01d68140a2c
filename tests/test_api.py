"""The submission and review API (/api/v1/), on SQLite and on PostgreSQL: the bulk through the
Flask test client over create_app, an end-to-end slice through a real `hub serve` with
`requests` (background worker included), and a scan of the data at rest for victim strings."""
from __future__ import annotations

import json
import time

import pytest
import requests

from api_fixtures import SERVE_INLINE_LIMIT, api_hub, basic, bearer, demo_submission, release_holds
from review_fixtures import DEMO, auth, demo, victim_strings
from taxii_fixtures import Server

from hub.crypto import verify_signature
from hub.store.base import ObjectFilter

CSV = ("type,value,description\n"
       "domain-name,update-check.cdn-sync.example,C2 contacted from YMB-FS02\n"
       "ipv4-addr,203.0.113.77,staging server\n")
IOCS = (DEMO / "iocs.txt").read_text(encoding="utf-8")
SECRET = "ZQX-SECRET-ヤマブキ-4711"  # a value that must never come back in an error message


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def api(request, tmp_path_factory):
    with api_hub(tmp_path_factory.mktemp(f"api-{request.param}"), request.param) as h:
        yield h


def post(api, path, key, body=None, **kw):
    return api.client.post(path, headers=basic(key), json=body, **kw)


def get(api, path, key):
    return api.client.get(path, headers=basic(key))


def submit(api, key=None, **extra):
    r = post(api, "/api/v1/submissions", key or api.keys.submitter, demo_submission(**extra))
    assert r.status_code == 202, r.get_json()
    return r.get_json()["id"]


def assert_no_victim_values(text: str) -> None:
    for value in victim_strings():
        assert value not in text, "a victim value appears in a response that must not carry one"


# -- submitting ----------------------------------------------------------------------------------

def test_submit_bundle_inline(api):
    r = post(api, "/api/v1/submissions", api.keys.submitter, demo_submission())
    assert r.status_code == 202
    body = r.get_json()
    assert body["mode"] == "inline" and body["status"] == "review"
    assert r.headers["Location"] == body["status_url"] == f"/api/v1/submissions/{body['id']}"
    view = get(api, body["status_url"], api.keys.submitter)
    assert view.status_code == 200
    v = view.get_json()
    assert v["org"] == "csirt-a" and v["input_format"] == "stix" and v["tlp"] == "green"
    assert v["report"]["summary"]["changes_by_rule"]["DI-03"] >= 1
    draft = get(api, body["status_url"] + "/draft", api.keys.submitter)
    assert draft.status_code == 200 and draft.get_json()["type"] == "bundle"
    for resp in (r, view, draft):
        assert_no_victim_values(resp.get_data(as_text=True))
        assert resp.headers["Cache-Control"] == "no-store"


@pytest.mark.parametrize("kind", ["csv", "text"])
def test_submit_csv_and_text(api, kind):
    data = CSV if kind == "csv" else IOCS
    r = post(api, "/api/v1/submissions", api.keys.submitter,
             {kind: data, "victim_profile": demo("profile.json"), "tlp": "amber"})
    assert r.status_code == 202, r.get_json()
    v = get(api, r.get_json()["status_url"], api.keys.submitter).get_json()
    assert v["status"] == "review" and v["input_format"] == kind and v["tlp"] == "amber"
    draft = get(api, r.get_json()["status_url"] + "/draft", api.keys.submitter)
    assert any(o["type"] in ("indicator", "domain-name", "ipv4-addr") for o in draft.get_json()["objects"])
    assert_no_victim_values(draft.get_data(as_text=True))


def test_registered_profile(api):
    a, b = api.keys.submitter, api.keys.submitter_b
    r = post(api, "/api/v1/profiles", a, {"name": "plant-7", "profile": demo("profile.json"), "default": True})
    assert r.status_code == 201, r.get_json()
    created = r.get_json()
    assert set(created) == {"id", "name", "default", "created"} and created["default"] is True
    assert r.headers["Location"] == f"/api/v1/profiles/{created['id']}"
    assert_no_victim_values(r.get_data(as_text=True))
    listed = get(api, "/api/v1/profiles", a).get_json()["profiles"]
    assert [p["id"] for p in listed if p["name"] == "plant-7"] == [created["id"]]
    assert_no_victim_values(json.dumps(listed, ensure_ascii=False))
    assert created["id"] not in json.dumps(get(api, "/api/v1/profiles", b).get_json())
    # Same name again: a conflict, not a second profile.
    again = post(api, "/api/v1/profiles", a, {"name": "plant-7", "profile": demo("profile.json")})
    assert again.status_code == 409
    # Submit through the registered profile.
    r = post(api, "/api/v1/submissions", a, {"bundle": demo("submission.json"), "profile_id": created["id"],
                                             "tlp": "green", "victim_ref": "CASE-1"})
    assert r.status_code == 202 and r.get_json()["status"] == "review"
    draft = get(api, r.get_json()["status_url"] + "/draft", a).get_data(as_text=True)
    assert_no_victim_values(draft)
    # Another CSIRT can neither use nor delete it.
    r = post(api, "/api/v1/submissions", b, {"bundle": demo("submission.json"), "profile_id": created["id"]})
    assert r.status_code == 404
    assert api.client.delete(f"/api/v1/profiles/{created['id']}", headers=basic(b)).status_code == 404
    assert api.client.delete(f"/api/v1/profiles/{created['id']}", headers=basic(a)).status_code == 204
    assert api.client.delete(f"/api/v1/profiles/{created['id']}", headers=basic(a)).status_code == 404


# Each wrong field: the message names the field and never echoes the value.
BAD_FIELDS = [
    ("tlp", {"tlp": SECRET}), ("tlp", {"tlp": 5}), ("tlp", {"tlp": "red"}),
    ("victim_ref", {"victim_ref": ""}), ("victim_ref", {"victim_ref": 123}),
    ("victim_ref", {"victim_ref": SECRET * 20}),
    ("attribution", {"attribution": SECRET}),
    ("bundle", {"bundle": SECRET}), ("bundle", {"bundle": [SECRET]}),
    ("csv", {"bundle": None, "csv": 5}), ("text", {"bundle": None, "text": [SECRET]}),
    ("bundle", {"csv": SECRET}),  # two inputs
    ("bundle", {"bundle": None}),  # no input
    ("victim_profile", {"victim_profile": None}),
    ("victim_profile", {"profile_id": "prof_x"}),  # both
    ("victim_profile", {"victim_profile": SECRET}),
    ("organization_names", {"victim_profile": {"organization_names": []}}),
    ("organization_names", {"victim_profile": {"organization_names": SECRET}}),
    ("domains", {"victim_profile": {"organization_names": ["x"], "domains": [SECRET]}}),
    ("ip_ranges", {"victim_profile": {"organization_names": ["x"], "ip_ranges": [SECRET]}}),
    ("email_addresses", {"victim_profile": {"organization_names": ["x"], "email_addresses": [SECRET]}}),
    ("region", {"victim_profile": {"organization_names": ["x"], "region": SECRET}}),
    ("profile_id", {"victim_profile": None, "profile_id": 7}),
    ("allowed", {"x_ZQX_colour": SECRET}),  # an unknown field: neither its name nor its value, the allowed ones
]


@pytest.mark.parametrize("field,change", BAD_FIELDS, ids=[f"{f}-{i}" for i, (f, _) in enumerate(BAD_FIELDS)])
def test_bad_field(api, field, change):
    r = post(api, "/api/v1/submissions", api.keys.submitter, demo_submission(**change))
    assert r.status_code == 400, r.get_json()
    body = r.get_json()
    assert set(body) >= {"title", "description"} and field in body["description"]
    assert SECRET not in r.get_data(as_text=True) and "ZQX" not in body["description"]


def test_bad_bundle_content_is_400_without_values(api):
    bundle = {"type": "bundle", "id": "bundle--x", "objects": [{"type": "indicator", "id": SECRET}]}
    r = post(api, "/api/v1/submissions", api.keys.submitter, demo_submission(bundle=bundle))
    assert r.status_code == 400
    body = r.get_json()
    assert body["description"] and SECRET not in r.get_data(as_text=True)
    assert body["status"] == "failed" and body["status_url"].endswith(body["id"])  # the record stays visible


def test_body_errors(api):
    c, h = api.client, basic(api.keys.submitter)
    url = "/api/v1/submissions"
    assert c.post(url, headers=h, data="{not json", content_type="application/json").status_code == 400
    assert c.post(url, headers=h, data=b"\xff\xfe", content_type="application/json").status_code == 400
    assert "JSON object" in c.post(url, headers=h, json=[1, 2]).get_json()["description"]
    assert c.post(url, headers=h, json="text").status_code == 400
    r = c.post(url, headers=h, data=json.dumps(demo_submission()), content_type="text/plain")
    assert r.status_code == 415 and r.get_json()["title"] == "Unsupported Media Type"
    assert c.post(url, headers=h, data="x").status_code == 415
    nul = demo_submission(victim_ref="CASE\u00001")
    assert c.post(url, headers=h, json=nul).status_code == 400
    for depth, status in ((90, 202), (300, 400), (1000, 400)):  # orjson re-serialises at most 254 levels
        bundle = demo("submission.json")
        bundle["objects"][3]["x_deep"] = "@DEEP@"
        text = json.dumps(demo_submission(bundle=bundle)).replace('"@DEEP@"', "[" * depth + "]" * depth)
        r = c.post(url, headers=h, data=text, content_type="application/json")
        assert r.status_code == status, (depth, r.get_json())
        assert status == 202 or "nested" in r.get_json()["description"]
    api.app.config["MAX_CONTENT_LENGTH"], old = 2000, api.app.config["MAX_CONTENT_LENGTH"]
    try:
        r = c.post(url, headers=h, json=demo_submission())
        assert r.status_code == 413 and set(r.get_json()) == {"title", "description"}
    finally:
        api.app.config["MAX_CONTENT_LENGTH"] = old
    for q in ("status=nope", "tlp=red", "needs_review=maybe", "limit=0", "limit=501", "limit=x", "offset=-1",
              "org=%00", "colour=blue"):
        r = c.get(f"/api/v1/submissions?{q}", headers=h)
        assert r.status_code == 400, q
        assert r.get_json()["description"].startswith(("'", "unknown")), r.get_json()


def test_protocol_errors(api):
    c = api.client
    r = c.get("/api/v1/submissions")
    assert r.status_code == 401 and r.headers["WWW-Authenticate"].startswith("Basic realm=")
    assert set(r.get_json()) == {"title", "description"}
    wrong = {"key_id": api.keys.submitter["key_id"], "key": api.keys.submitter["key_id"] + ".wrong"}
    assert c.get("/api/v1/submissions", headers=basic(wrong)).status_code == 401
    assert c.get("/api/v1/submissions", headers=basic(api.revoked)).status_code == 401
    assert c.get("/api/v1/submissions", headers=bearer(api.keys.submitter)).status_code == 200
    assert c.get("/api/v1/submissions", headers={"Authorization": "Token " + api.keys.analyst["key"]}).status_code == 200
    assert c.get("/api/v1/nowhere").status_code == 401  # unknown paths: credentials first
    r = c.get("/api/v1/nowhere", headers=basic(api.keys.analyst))
    assert r.status_code == 404 and r.mimetype == "application/json"
    r = c.delete("/api/v1/submissions", headers=basic(api.keys.analyst))
    assert r.status_code == 405 and "POST" in r.headers["Allow"] and set(r.get_json()) == {"title", "description"}
    r = c.get("/api/openapi.json")
    assert r.status_code == 200 and r.get_json()["openapi"].startswith("3.")


# -- review ----------------------------------------------------------------------------------------

def test_approve_needs_an_agreement(api):
    sid = submit(api, victim_ref="CASE-WITHOUT-NDA")
    release_holds(api.client, api.keys.analyst, sid)
    r = post(api, f"/api/v1/submissions/{sid}/approve", api.keys.analyst)
    assert r.status_code == 422
    assert "agreement" in r.get_json()["description"]
    v = get(api, f"/api/v1/submissions/{sid}", api.keys.submitter).get_json()
    assert v["status"] == "review" and v["agreement"]["status"] == "none" and v["agreement"]["allowed"] is False
    # No victim reference at all: refused too, and said so.
    sid = submit(api, victim_ref=None)
    release_holds(api.client, api.keys.analyst, sid)
    r = post(api, f"/api/v1/submissions/{sid}/approve", api.keys.analyst)
    assert r.status_code == 422 and "victim_ref" in r.get_json()["description"]


def test_approve_with_holds_open_is_refused(api):
    sid = submit(api)
    r = post(api, f"/api/v1/submissions/{sid}/approve", api.keys.analyst)
    assert r.status_code == 422 and "hold" in r.get_json()["description"]


def _approve(api, sid):
    release_holds(api.client, api.keys.analyst, sid)
    r = post(api, f"/api/v1/submissions/{sid}/approve", api.keys.analyst)
    assert r.status_code == 200, r.get_json()
    v = r.get_json()
    assert v["status"] == "published" and v["publication_id"]
    return v


def test_approve_publishes_signed(api):
    v = _approve(api, submit(api))
    pub = get(api, f"/api/v1/publications/{v['publication_id']}", api.keys.analyst)
    assert pub.status_code == 200
    p = pub.get_json()
    key = get(api, "/api/v1/signing-key", api.keys.consumer).get_json()
    assert key["algorithm"] == "Ed25519" and key["public_key"] == p["public_key"]
    assert verify_signature(key["public_key"], p["manifest"].encode("utf-8"), p["signature"])
    sig = get(api, f"/api/v1/publications/{v['publication_id']}/signature", api.keys.analyst)
    assert sig.mimetype == "text/plain" and sig.get_data(as_text=True) == p["signature"]
    assert not verify_signature(key["public_key"], p["manifest"].replace("TLP", "TLX").encode(), p["signature"])
    manifest = json.loads(p["manifest"])
    green = api.store.find_collection("TLP:GREEN")
    assert p["collection"] == green.id and manifest["submission"] == v["id"]
    stored = {json.loads(t)["id"] for t in api.store.get_objects(green.id, ObjectFilter(), 10_000).items}
    assert {o["id"] for o in manifest["objects"]} <= stored
    # GREEN is readable by every member's consumer key; a submitter key does not read the feed.
    assert get(api, f"/api/v1/publications/{p['id']}", api.keys.consumer).status_code == 200
    assert get(api, f"/api/v1/publications/{p['id']}", api.keys.submitter).status_code == 404
    assert_no_victim_values(pub.get_data(as_text=True))
    # A published submission cannot be changed or approved again.
    assert post(api, f"/api/v1/submissions/{v['id']}/approve", api.keys.analyst).status_code == 409
    assert post(api, f"/api/v1/submissions/{v['id']}/tlp", api.keys.analyst, {"tlp": "amber"}).status_code == 409


def test_same_ids_publish_a_new_version(api):
    """The same objects submitted again with new content keep their regenerated ids (DI-13) and
    become a newer version in the collection; identical content adds no row."""
    clear = api.store.find_collection("TLP:CLEAR")

    def versions(object_id):
        return api.store.get_versions(clear.id, object_id, ObjectFilter(versions=("all",)), 100).items

    first = _approve(api, submit(api, tlp="clear"))
    m1 = json.loads(api.store.get_publication(first["publication_id"]).manifest)["objects"]
    before = {o["id"]: versions(o["id"]) for o in m1}
    bundle = demo("submission.json")
    for obj in bundle["objects"]:
        if obj["type"] in ("malware", "attack-pattern"):
            obj["description"] = obj.get("description", "") + " Updated after further analysis."
    second = _approve(api, submit(api, tlp="clear", bundle=bundle))
    m2 = {o["id"]: o for o in json.loads(api.store.get_publication(second["publication_id"]).manifest)["objects"]}
    assert set(m2) == set(before)  # the same regenerated ids
    changed = [o for o in m1 if o["id"].startswith(("malware--", "attack-pattern--"))]
    assert changed
    for item in m1:
        now = versions(item["id"])
        if item in changed:
            assert len(now) == len(before[item["id"]]) + 1 and m2[item["id"]]["version"] > item["version"]
        elif m2[item["id"]]["sha256"] == item["sha256"]:
            assert now == before[item["id"]], item["id"]  # the very same object: no duplicate row


def test_reject_reason_reaches_the_submitter(api):
    sid = submit(api)
    assert post(api, f"/api/v1/submissions/{sid}/reject", api.keys.analyst, {"reason": ""}).status_code == 400
    assert post(api, f"/api/v1/submissions/{sid}/reject", api.keys.submitter,
                {"reason": "not allowed"}).status_code == 403
    r = post(api, f"/api/v1/submissions/{sid}/reject", api.keys.analyst,
             {"reason": "Duplicate of an earlier report; please merge."})
    assert r.status_code == 200 and r.get_json()["status"] == "rejected"
    v = get(api, f"/api/v1/submissions/{sid}", api.keys.submitter).get_json()
    assert v["status"] == "rejected" and v["message"] == "Duplicate of an earlier report; please merge."
    assert post(api, f"/api/v1/submissions/{sid}/reject", api.keys.analyst, {"reason": "again"}).status_code == 409


def test_edits(api):
    sid = submit(api)
    url = f"/api/v1/submissions/{sid}"
    before = get(api, url, api.keys.analyst).get_json()["report"]["summary"]["changes_by_rule"]
    r = post(api, url + "/redactions", api.keys.analyst, {"value": "beacons", "field": "keywords"})
    assert r.status_code == 200, r.get_json()
    after = r.get_json()["report"]["summary"]["changes_by_rule"]
    assert after.get("DI-03", 0) > before.get("DI-03", 0)
    assert "beacons" not in get(api, url + "/draft", api.keys.analyst).get_data(as_text=True)
    r = post(api, url + "/redactions", api.keys.analyst, {"value": SECRET, "field": "colour"})
    assert r.status_code == 400 and "field" in r.get_json()["description"] and SECRET not in r.get_data(as_text=True)
    r = post(api, url + "/redactions", api.keys.analyst, {"value": "not a domain", "field": "domains"})
    assert r.status_code == 400 and "domains" in r.get_json()["description"]
    assert post(api, url + "/redactions", api.keys.analyst, {"value": "x"}).status_code == 400  # field missing
    # Undo names an entry by the key the private report gives it.
    report = get(api, url + "/private-report", api.keys.analyst).get_json()
    coarsened = [e for e in report["entries"] if e["action"] == "coarsened"]
    assert coarsened and all(isinstance(e["key"], str) for e in report["entries"])
    r = post(api, url + "/redactions/undo", api.keys.analyst,
             {"entry": coarsened[0]["key"], "justification": "the exact time is the attacker's, not the victim's"})
    assert r.status_code in (200, 422), r.get_json()  # 422: the leak gate refused, the draft is unchanged
    r = post(api, url + "/redactions/undo", api.keys.analyst,
             {"entry": "no|such|entry#1", "justification": "a long enough justification"})
    assert r.status_code == 400
    r = post(api, url + "/redactions/undo", api.keys.analyst, {"entry": coarsened[0]["key"], "justification": "short"})
    assert r.status_code == 400 and "justification" in r.get_json()["description"]
    # TLP
    r = post(api, url + "/tlp", api.keys.analyst, {"tlp": "amber+strict"})
    assert r.status_code == 200 and r.get_json()["tlp"] == "amber+strict"
    assert post(api, url + "/tlp", api.keys.analyst, {"tlp": "red"}).status_code == 400
    # Holds
    r = post(api, url + "/holds/release", api.keys.analyst, {"object": "identity--none", "justification": "x" * 12})
    assert r.status_code == 400 and "hold" in r.get_json()["description"]
    assert post(api, url + "/holds/release", api.keys.analyst, {"object": "x"}).status_code == 400


# -- who sees what ------------------------------------------------------------------------------

def test_submitter_sees_only_its_own(api):
    sid = submit(api)
    b = api.keys.submitter_b
    for path in ("", "/draft", "/private-report"):
        r = get(api, f"/api/v1/submissions/{sid}{path}", b)
        assert r.status_code == 404 and r.get_json()["description"] == "no such submission"
    assert sid not in json.dumps(get(api, "/api/v1/submissions", b).get_json())
    assert get(api, "/api/v1/submissions?org=csirt-a", b).status_code == 403
    own = get(api, "/api/v1/submissions?limit=500", api.keys.submitter).get_json()["submissions"]
    assert sid in {s["id"] for s in own} and {s["org"] for s in own} == {"csirt-a"}
    assert all("report" not in s for s in own)
    every = get(api, "/api/v1/submissions?org=csirt-a&status=review&tlp=green&limit=500", api.keys.analyst)
    assert sid in {s["id"] for s in every.get_json()["submissions"]}
    assert get(api, "/api/v1/submissions", api.keys.consumer).status_code == 403
    b_sub = submit(api, key=b, victim_ref=None)
    assert get(api, f"/api/v1/submissions/{b_sub}", api.keys.submitter).status_code == 404
    assert b_sub in {s["id"] for s in get(api, "/api/v1/submissions?needs_review=true&limit=500",
                                          api.keys.analyst).get_json()["submissions"]}


def test_private_report_owner_and_reviewer_only(api):
    sid = submit(api)
    url = f"/api/v1/submissions/{sid}/private-report"
    for key in (api.keys.submitter, api.keys.analyst, api.keys.admin):
        r = get(api, url, key)
        assert r.status_code == 200
        originals = " ".join(str(e.get("original")) for e in r.get_json()["entries"])
        assert any(v in originals for v in victim_strings())  # the originals, for those who may see them
    for key in (api.keys.submitter_b, api.keys.consumer, api.keys.csirt_consumer):
        assert get(api, url, key).status_code == 404
    assert api.client.get(url).status_code == 401


def test_auto_publish_setting(api):
    url = "/api/v1/orgs/csirt-b/auto-publish"
    assert api.client.put(url, headers=basic(api.keys.analyst), json={"enabled": True}).status_code == 403
    assert api.client.put(url, headers=basic(api.keys.submitter_b), json={"enabled": True}).status_code == 403
    assert api.client.put(url, headers=basic(api.keys.admin), json={"enabled": "yes"}).status_code == 400
    assert api.client.put("/api/v1/orgs/nobody/auto-publish", headers=basic(api.keys.admin),
                          json={"enabled": True}).status_code == 404
    assert api.client.put("/api/v1/orgs/peer-b/auto-publish", headers=basic(api.keys.admin),
                          json={"enabled": True}).status_code == 400
    r = api.client.put(url, headers=basic(api.keys.admin), json={"enabled": True})
    assert r.status_code == 200 and r.get_json() == {"org": "csirt-b", "auto_publish": True}
    assert api.store.get_org("csirt-b").auto_publish is True
    api.client.put(url, headers=basic(api.keys.admin), json={"enabled": False})
    assert api.store.get_org("csirt-b").auto_publish is False


# -- end to end through `hub serve` -----------------------------------------------------------------

def test_end_to_end_over_http_with_background_worker(api):
    """A real server: a submission above the inline limit is queued, the worker sanitises it,
    an analyst releases the holds and approves, and the signature verifies."""
    server = Server(api.data.path).start()
    try:
        base = server.base + "/api/v1"
        body = demo_submission(tlp="amber")
        assert len(json.dumps(body)) > SERVE_INLINE_LIMIT
        r = requests.post(base + "/submissions", json=body, auth=auth(api.keys.submitter), timeout=30)
        assert r.status_code == 202, r.text
        accepted = r.json()
        assert accepted["mode"] == "background" and accepted["status"] == "queued"
        deadline = time.monotonic() + 60
        status_url = server.base + r.headers["Location"]
        while time.monotonic() < deadline:
            view = requests.get(status_url, auth=auth(api.keys.submitter), timeout=10).json()
            if view["status"] not in ("queued", "processing"):
                break
            time.sleep(0.2)
        assert view["status"] == "review", view
        assert requests.get(status_url, auth=auth(api.keys.submitter_b), timeout=10).status_code == 404
        analyst = auth(api.keys.analyst)
        for hold in view["report"]["holds"]:
            rr = requests.post(status_url + "/holds/release", auth=analyst, timeout=30,
                               json={"object": hold["object"], "justification": "widely reported infrastructure"})
            assert rr.status_code == 200, rr.text
        r = requests.post(status_url + "/approve", auth=analyst, timeout=30)
        assert r.status_code == 200, r.text
        pub = requests.get(f"{base}/publications/{r.json()['publication_id']}", auth=analyst, timeout=10).json()
        key = requests.get(base + "/signing-key", headers={"Authorization": f"Bearer {api.keys.analyst['key']}"},
                           timeout=10).json()["public_key"]
        assert verify_signature(key, pub["manifest"].encode("utf-8"), pub["signature"])
        # The peer with an AMBER grant? none here: peer-b cannot read AMBER, so the publication is hidden.
        assert requests.get(f"{base}/publications/{pub['id']}", auth=auth(api.keys.consumer),
                            timeout=10).status_code == 404
        r = requests.post(base + "/submissions", data="{", headers={"Content-Type": "application/json"},
                          auth=auth(api.keys.submitter), timeout=10)
        assert r.status_code == 400 and set(r.json()) == {"title", "description"}
        r = requests.get(base + "/submissions", timeout=10)
        assert r.status_code == 401 and "Basic" in r.headers["WWW-Authenticate"]
    finally:
        server.stop()


# -- data at rest --------------------------------------------------------------------------------

def test_no_victim_strings_at_rest(api):
    """After submissions of every kind, registered profiles, edits and a publication, nothing
    under the data directory (but secrets/) nor in any database table holds a victim string in
    clear: UTF-8, or JSON \\u-escaped."""
    submit(api)
    post(api, "/api/v1/submissions", api.keys.submitter, {"csv": CSV, "victim_profile": demo("profile.json")})
    r = post(api, "/api/v1/profiles", api.keys.submitter, {"name": "at-rest", "profile": demo("profile.json")})
    post(api, "/api/v1/submissions", api.keys.submitter,
         {"text": IOCS, "profile_id": r.get_json()["id"]})
    sid = submit(api)
    post(api, f"/api/v1/submissions/{sid}/redactions", api.keys.analyst, {"value": "beacons", "field": "keywords"})
    _approve(api, sid)
    needles = []
    for value in victim_strings():
        needles.append(value.encode("utf-8"))
        needles.append(json.dumps(value).strip('"').encode("ascii"))  # \uXXXX form
        needles.append(json.dumps(value, ensure_ascii=False).strip('"').encode("utf-8"))
    blobs = {}
    for path in api.data.path.rglob("*"):
        if path.is_file() and "secrets" not in path.relative_to(api.data.path).parts:
            blobs[str(path)] = path.read_bytes()
    if api.backend == "postgresql":
        from sqlalchemy import MetaData

        meta = MetaData()
        meta.reflect(api.store.engine)
        with api.store.engine.connect() as conn:
            for table in meta.sorted_tables:
                blobs[f"table {table.name}"] = repr(conn.execute(table.select()).all()).encode("utf-8")
    assert any(name.endswith(".sqlite3") for name in blobs) == (api.backend == "sqlite")
    for name, blob in blobs.items():
        for needle in needles:
            assert needle not in blob, f"{name} holds a victim string in clear"

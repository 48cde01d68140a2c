"""No victim data in logs or error bodies: every case of the shared corpus goes through a real
`hub serve` at DEBUG level — accepted, malformed, refused at approval, pushed over TAXII — and no
string the corpus marks as victim-identifying appears in any log line or any 4xx body."""
from __future__ import annotations

import json
import time

import pytest
import requests

from conftest import SHARED
from review_fixtures import auth, setup_hub
from taxii_fixtures import Server

CORPUS = SHARED / "corpus" / "visible"
CASES = sorted(p for p in CORPUS.iterdir() if (p / "expect.json").is_file()) if CORPUS.is_dir() else []
JSON_HEADERS = {"Accept": "application/taxii+json;version=2.1", "Content-Type": "application/taxii+json;version=2.1"}


def _victim_strings() -> set[str]:
    found = set()
    for case in CASES:
        expect = json.loads((case / "expect.json").read_text(encoding="utf-8"))
        found.update(v for v in expect["must_not_appear"] if len(v) >= 4)
    return found


def _forms(value: str) -> tuple[str, ...]:
    return value, json.dumps(value)[1:-1], value.lower()


@pytest.fixture
def debug_server(tmp_path):
    keys = setup_hub(tmp_path / "hub")
    log_path = tmp_path / "serve.log"
    server = Server(keys.data_dir, "--log-level", "DEBUG", "--rate-limit", "0", log=log_path).start()
    yield keys, server.base, log_path
    server.stop()


def test_corpus_through_the_server_leaves_no_victim_string_in_logs_or_errors(debug_server):
    assert len(CASES) >= 12
    keys, base, log_path = debug_server
    error_bodies: list[str] = []
    requests_sent = 0

    def call(method, path, key, **kw):
        nonlocal requests_sent
        requests_sent += 1
        r = requests.request(method, base + path, auth=auth(key) if key else None, timeout=120, **kw)
        assert r.status_code < 500, (path, r.status_code)
        if r.status_code >= 400:
            error_bodies.append(r.text)
        return r

    profile_ids = []
    for n, case in enumerate(CASES):
        bundle = json.loads((case / "input.json").read_text(encoding="utf-8"))
        profile = json.loads((case / "profile.json").read_text(encoding="utf-8"))
        ok = call("POST", "/api/v1/submissions", keys.submitter,
                  json={"bundle": bundle, "victim_profile": profile, "victim_ref": f"NO-NDA-{n}"})
        assert ok.status_code == 202, ok.text
        sid = ok.json()["id"]
        call("GET", f"/api/v1/submissions/{sid}", keys.submitter)
        call("GET", f"/api/v1/submissions/{sid}/private-report", keys.submitter_b)   # another CSIRT: 404
        call("POST", f"/api/v1/submissions/{sid}/approve", keys.analyst)              # no NDA / holds: 422
        call("POST", f"/api/v1/submissions/{sid}/redactions", keys.analyst,
             json={"value": profile["organization_names"][0], "field": "domains"})   # wrong kind: 400
        # Malformed variants that still carry the victim's strings.
        call("POST", "/api/v1/submissions", keys.submitter,
             json={"bundle": {**bundle, "spec_version": "2.0", "type": "bundle"}, "victim_profile": profile})
        call("POST", "/api/v1/submissions", keys.submitter,
             json={"bundle": bundle, "victim_profile": {**profile, "domains": profile["organization_names"]}})
        call("POST", "/api/v1/submissions", keys.submitter,
             json={"text": 42, "victim_profile": profile, "tlp": profile["organization_names"][0]})
        broken = json.dumps({"bundle": bundle, "victim_profile": profile})[:-5]
        call("POST", "/api/v1/submissions", keys.submitter, data=broken, headers={"Content-Type": "application/json"})
        call("POST", "/api/v1/profiles", keys.submitter,
             json={"name": profile["organization_names"][0], "profile": profile, "default": n == 0,
                   "victim_ref": f"NO-NDA-{n}"})
        # Raw victim data written to a published collection by a key without write access.
        coll = _green(base, keys)
        call("POST", f"/hub/collections/{coll}/objects/", keys.submitter, data=json.dumps({"objects": bundle["objects"]}),
             headers=JSON_HEADERS)
        # And pushed through the CSIRT's TAXII inbox.
        call("POST", f"/hub/collections/{keys.inbox_a}/objects/", keys.submitter,
             data=json.dumps({"objects": bundle["objects"]}), headers=JSON_HEADERS)
        profile_ids.append(sid)

    time.sleep(1.0)  # let the log reach the file
    log_text = log_path.read_text(encoding="utf-8", errors="replace")
    assert "DEBUG" in log_text or "INFO" in log_text  # the server did log at the level asked
    leaks = [(v, "log") for v in _victim_strings() if any(f in log_text for f in _forms(v))]
    for body in error_bodies:
        leaks += [(v, "error body") for v in _victim_strings() if any(f in body for f in _forms(v))]
    assert not leaks, leaks[:5]
    assert "Traceback" not in log_text
    print(f"\n{requests_sent} requests, {len(error_bodies)} error bodies, {len(log_text.splitlines())} log lines checked")


def _green(base, keys) -> str:
    r = requests.get(f"{base}/hub/collections/", auth=auth(keys.admin), headers=JSON_HEADERS, timeout=30)
    return next(c["id"] for c in r.json()["collections"] if c["title"] == "TLP:GREEN")

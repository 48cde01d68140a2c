"""No victim string in clear anywhere the hub writes, on SQLite and PostgreSQL.

A real `hub serve --log-level DEBUG` takes a run of hostile submissions — the victim's values
in custom keys, custom types, object ids, hash names, the registered profile's name, malformed
objects, unknown fields and query parameters, CSV and text lists, TAXII inbox pushes — and an
analyst browses and acts in the web view. Then an independent decoder (tests/victim_scan.py:
NFKC/casefold, kana and width, percent, HTML, base64, hex, JSON escapes) looks for every victim
string in the server's log, every 4xx body, every file under the data directory (database,
WAL, configuration) and every table, and every file the hub keeps there is 0600 in a 0700
directory.
"""
from __future__ import annotations

import json
import re
import stat
import time
import uuid
from urllib.parse import quote

import pytest
import requests

from review_fixtures import auth, setup_hub
from taxii_fixtures import Server, pg_database
from victim_scan import Needles

TAXII = {"Accept": "application/taxii+json;version=2.1", "Content-Type": "application/taxii+json;version=2.1"}
ORG = "黒鉄精密工業株式会社"
PROFILE = {
    "organization_names": [ORG, "黒鉄精密工業", "クロガネセイミツ", "Kurogane Seimitsu"],
    "domains": ["kurogane-seimitsu.example"], "hostnames": ["KRGN-FILESV07"], "people": ["鈴木 一郎", "Ichiro Suzuki"],
    "accounts": ["ichiro.suzuki"], "email_addresses": ["soc@kurogane-seimitsu.example"],
    "ip_ranges": ["198.51.100.0/25"], "keywords": ["Project Hagane"], "sector": "manufacturing", "region": "JP",
}
VICTIM = [v for key, values in PROFILE.items() if isinstance(values, list) for v in values if "/" not in v]
CREATED = "2025-06-02T08:30:00.000Z"


def _id(t: str) -> str:
    return f"{t}--{uuid.uuid4()}"


def hostile_objects(custom: bool) -> list[dict]:
    """Victim values where a value is expected and, with `custom`, in custom property names,
    a custom object type (and so its ids), a hash algorithm name and an extension name."""
    indicator = {"type": "indicator", "spec_version": "2.1", "id": _id("indicator"), "created": CREATED,
                 "modified": CREATED, "pattern": "[domain-name:value = 'fileserver.kurogane-seimitsu.example']",
                 "pattern_type": "stix", "valid_from": CREATED, "description": f"{ORG} の KRGN-FILESV07 から C2 へ",
                 "name": "Kurogane Seimitsu beacon"}
    file = {"type": "file", "spec_version": "2.1", "id": _id("file"), "name": "ichiro.suzuki.docx",
            "hashes": {"SHA-256": "a" * 64}}
    malware = {"type": "malware", "spec_version": "2.1", "id": _id("malware"), "created": CREATED,
               "modified": CREATED, "name": "HaganeLoader", "is_family": False,
               "description": "dropped on KRGN-FILESV07 by soc@kurogane-seimitsu.example"}
    if not custom:
        return [indicator, file, malware]
    asset = "x-kurogane-seimitsu-asset"
    indicator.update({"x_kurogane_seimitsu_ticket": "Project Hagane 42", "x_クロガネセイミツ_担当": "鈴木 一郎"})
    file["hashes"]["kurogane-seimitsu-internal"] = "Kurogane Seimitsu"
    malware["extensions"] = {"x-kurogane-seimitsu-ext": {"extension_type": "property-extension", "site": ORG}}
    return [indicator, file, malware,
            {"type": asset, "spec_version": "2.1", "id": _id(asset), "created": CREATED, "modified": CREATED,
             "owner": "soc@kurogane-seimitsu.example"}]


def malformed_objects() -> list[list[dict]]:
    return [
        [{"type": "黒鉄精密工業", "id": "黒鉄精密工業--1", "spec_version": "2.1"}],
        [{"type": "Kurogane Seimitsu", "spec_version": "2.1"}],
        [{"type": "relationship", "spec_version": "2.1", "id": _id("relationship"), "created": CREATED,
          "modified": CREATED, "relationship_type": "uses", "x_kurogane_seimitsu_ref": 7,
          "source_ref": _id("malware"), "target_ref": _id("malware")}],
        [{"type": "indicator", "spec_version": "2.1", "id": _id("indicator"), "created": CREATED,
          "modified": CREATED, "pattern_type": "stix", "valid_from": CREATED, "name": "ichiro.suzuki"}],
    ]


def bundle(objects: list[dict]) -> dict:
    return {"type": "bundle", "id": _id("bundle"), "objects": objects}


CSV = ("type,value,description\n"
       "domain,c2.evil-cdn.example,C2 seen from KRGN-FILESV07\n"
       "domain,kurogane-seimitsu.example,the victim's own domain\n"
       "email,soc@kurogane-seimitsu.example,reporter\n"
       "黒鉄精密工業,198.51.100.7,type cell holds the victim\n")
TEXT = (f"{ORG} (Kurogane Seimitsu) 生産管理サーバ KRGN-FILESV07 への不正アクセス\n"
        "担当: 鈴木 一郎 (soc@kurogane-seimitsu.example)\nC2: hxxps://update[.]evil-cdn[.]example/beacon\n"
        "C2 IP: 203.0.113.77\n")


@pytest.fixture(params=["sqlite", "postgresql"])
def served(request, tmp_path):
    if request.param == "postgresql":
        with pg_database() as url:
            yield from _serve(tmp_path, url, request.param)
    else:
        yield from _serve(tmp_path, None, request.param)


def _serve(tmp_path, url, backend):
    keys = setup_hub(tmp_path / "hub", url)
    log = tmp_path / "serve.log"
    server = Server(keys.data_dir, "--log-level", "DEBUG", "--rate-limit", "0", log=log).start()
    try:
        yield keys, server.base, log, backend, url
    finally:
        server.stop()


class Client:
    def __init__(self, base: str):
        self.base, self.sent, self.bodies = base, 0, []

    def __call__(self, method, path, key=None, session=None, **kw):
        self.sent += 1
        r = (session or requests).request(method, self.base + path, auth=auth(key) if key else None, timeout=120,
                                          allow_redirects=False, **kw)
        assert r.status_code < 500, (method, path, r.status_code)
        if r.status_code >= 400 and not path.startswith("/review/"):
            # (a refused action in the review view re-renders the submission page, which shows
            # the original to the analyst by design: only API and TAXII bodies are scanned)
            self.bodies.append(r.text)
        return r


def _hostile_run(keys, call: Client, custom: bool) -> None:
    sub = keys.submitter
    profile_id = call("POST", "/api/v1/profiles", sub, json={"name": ORG, "profile": PROFILE, "default": True,
                                                             "victim_ref": "CASE-1"}).json()["id"]
    call("POST", "/api/v1/profiles", sub, json={"name": "Kurogane Seimitsu", "profile": PROFILE,
                                                "victim_ref": "Kurogane Seimitsu"})
    call("POST", "/api/v1/profiles", sub, json={"name": "x", "profile": {**PROFILE, "domains": [ORG]}})
    sids = []
    for body in ({"bundle": bundle(hostile_objects(custom)), "victim_profile": PROFILE, "victim_ref": "CASE-1"},
                 {"bundle": bundle(hostile_objects(custom)), "profile_id": profile_id},
                 {"csv": CSV, "profile_id": profile_id}, {"text": TEXT, "victim_profile": PROFILE}):
        r = call("POST", "/api/v1/submissions", sub, json=body)
        sids.append(r.json().get("id"))
    for objects in malformed_objects():
        call("POST", "/api/v1/submissions", sub, json={"bundle": bundle(objects), "victim_profile": PROFILE})
        call("POST", f"/hub/collections/{keys.inbox_a}/objects/", sub, headers=TAXII,
             data=json.dumps({"objects": objects}))
    call("POST", "/api/v1/submissions", sub, json={"bundle": bundle(hostile_objects(custom)), "victim_profile": PROFILE,
                                                   "Kurogane Seimitsu": 1})
    call("POST", "/api/v1/submissions", sub, json={"text": TEXT, "victim_profile": PROFILE,
                                                   "policy": {"kurogane_seimitsu": True}})
    call("POST", "/api/v1/submissions", sub, json={"csv": "domain\n" + CSV, "victim_profile": PROFILE})
    call("GET", "/api/v1/submissions?kurogane-seimitsu.example=1&org=" + ORG, sub)
    status = call("POST", f"/hub/collections/{keys.inbox_a}/objects/", sub, headers=TAXII,
                  data=json.dumps({"objects": hostile_objects(custom)})).json()
    for _ in range(3):
        call("GET", f"/hub/status/{status['id']}/", sub, headers=TAXII)
    sids = [s for s in sids if s]
    for sid in sids:
        call("GET", f"/api/v1/submissions/{sid}", sub)
        call("GET", f"/api/v1/submissions/{sid}/draft", sub)
        call("GET", f"/api/v1/submissions/{sid}/private-report", sub)
        call("POST", f"/api/v1/submissions/{sid}/redactions", keys.analyst, json={"value": ORG, "field": "domains"})
        call("POST", f"/api/v1/submissions/{sid}/redactions", keys.analyst,
             json={"value": "Project Hagane", "field": "keywords"})
        call("POST", f"/api/v1/submissions/{sid}/holds/release", keys.analyst,
             json={"object": "x-kurogane-seimitsu-asset--1", "justification": "Kurogane Seimitsu asked us"})
    _other_routes(keys, call, sids, profile_id)
    _web(keys, call, sids)


def _other_routes(keys, call: Client, sids: list[str], profile_id: str) -> None:
    """The remaining API routes, with victim strings where the caller controls a value or a path."""
    sub, analyst, admin = keys.submitter, keys.analyst, keys.admin
    call("GET", "/api/v1/submissions?status=review&limit=5", analyst)
    call("GET", "/api/v1/profiles", sub)
    call("GET", "/api/openapi.json")
    call("GET", "/api/v1/submissions/" + quote(ORG), sub)
    call("DELETE", "/api/v1/profiles/" + quote("Kurogane Seimitsu"), sub)
    call("PUT", "/api/v1/orgs/" + quote(ORG) + "/auto-publish", admin, json={"enabled": True})
    for sid in sids[:2]:
        call("POST", f"/api/v1/submissions/{sid}/tlp", analyst, json={"tlp": "Kurogane Seimitsu"})
        call("POST", f"/api/v1/submissions/{sid}/redactions/undo", analyst,
             json={"entry": ORG, "justification": "soc@kurogane-seimitsu.example asked"})
        call("POST", f"/api/v1/submissions/{sid}/approve", analyst)
        call("GET", f"/api/v1/submissions/{sid}/private-report", keys.submitter_b)
    # An analyst's rejection reason is free text and quotes the victim here: it is sealed, and the
    # submitter still reads it.
    reason = f"{ORG} の案件 (KRGN-FILESV07, soc@kurogane-seimitsu.example) と重複"
    deadline = time.monotonic() + 120  # sanitised by the server's worker process meanwhile
    while call("GET", f"/api/v1/submissions/{sids[2]}", sub).json()["status"] in ("queued", "processing"):
        assert time.monotonic() < deadline
        time.sleep(0.2)
    assert call("POST", f"/api/v1/submissions/{sids[2]}/reject", analyst, json={"reason": reason}).status_code == 200
    assert call("GET", f"/api/v1/submissions/{sids[2]}", sub).json()["message"] == reason
    call("DELETE", f"/api/v1/profiles/{profile_id}", sub)


def _web(keys, call: Client, sids: list[str]) -> None:
    """An analyst signs in, browses the queue and the submissions and tries actions."""
    web = requests.Session()
    page = call("GET", "/review/login", session=web).text
    csrf = re.search(r'name="csrf" value="([^"]+)"', page).group(1)
    call("POST", "/review/login", session=web, data={"key": keys.analyst["key"], "csrf": csrf,
                                                       "next": "/review/?org=" + ORG})
    call("GET", "/review/?org=" + ORG + "&status=kurogane", session=web)
    for sid in sids:
        page = call("GET", f"/review/submissions/{sid}", session=web).text
        csrf = re.search(r'name="csrf" value="([^"]+)"', page).group(1)
        call("POST", f"/review/submissions/{sid}/redact", session=web,
             data={"csrf": csrf, "value": "Kurogane Seimitsu", "field": ORG})
        call("POST", f"/review/submissions/{sid}/release", session=web,
             data={"csrf": csrf, "object": ORG, "justification": "Kurogane Seimitsu agreed"})


def _tables(backend: str, url: str | None, data_dir) -> dict[str, bytes]:
    from sqlalchemy import MetaData, create_engine

    engine = create_engine(url or f"sqlite:///{data_dir / 'hub.sqlite3'}")
    meta = MetaData()
    meta.reflect(engine)
    out = {}
    with engine.connect() as conn:
        for table in meta.sorted_tables:
            rows = conn.execute(table.select()).all()
            out[f"table {table.name}"] = "\n".join(
                " | ".join(c.decode("latin-1") if isinstance(c, bytes) else str(c) for c in row)
                for row in rows).encode("utf-8")
    engine.dispose()
    return out


def test_hostile_submissions_leave_no_victim_string_at_rest_in_logs_or_errors(served):
    _scan(*served, custom=False)


def test_victim_names_in_custom_keys_types_and_extensions_leave_nothing_at_rest(served):
    _scan(*served, custom=True)


def _scan(keys, base, log, backend, url, *, custom: bool) -> None:
    call = Client(base)
    _hostile_run(keys, call, custom)
    time.sleep(1.0)  # the worker's last lines reach the log
    needles = Needles(VICTIM)
    blobs = {"log": log.read_bytes()}
    blobs.update({f"error body {n}": b.encode("utf-8") for n, b in enumerate(call.bodies)})
    files = [p for p in keys.data_dir.rglob("*") if p.is_file() and "secrets" not in p.parts]
    blobs.update({str(p): p.read_bytes() for p in files})
    blobs.update(_tables(backend, url, keys.data_dir))
    assert any(p.name == "config.json" for p in files)
    assert any(p.name.startswith("hub.sqlite3") for p in files) == (backend == "sqlite")
    assert b" INFO hub." in blobs["log"]  # the server logged (at DEBUG: third-party loggers capped)
    leaks = [(name, hit) for name, blob in blobs.items() for hit in needles.find(blob)]
    assert not leaks, leaks[:10]
    assert b"Traceback" not in blobs["log"]
    lax = {str(p): f"{stat.S_IMODE(p.stat().st_mode):04o}" for p in [keys.data_dir, *files]
           if stat.S_IMODE(p.stat().st_mode) & 0o077}
    assert not lax, lax
    print(f"\n{backend}: {call.sent} requests, {len(call.bodies)} error bodies, {len(blobs)} blobs scanned")

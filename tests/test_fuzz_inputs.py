"""Malformed input on every route answers 4xx, never 5xx (issue 13, item 7).

1. Wrong JSON types for every field of every API request body (from the OpenAPI document):
   each field in turn gets values of every other JSON type while the rest of the body is valid.
2. Hypothesis over the review view's routes with a signed-in analyst and a valid CSRF token:
   query strings (page numbers past 64 bits, non-ASCII digits, CR/LF, unknown keys), the sign-in
   form (`next` with CR/LF, keys of any shape) and every action's form fields.
The counts of requests sent and 5xx seen are printed (run with -s) for the closing note.
"""
from __future__ import annotations

import json
import os
import re
from urllib.parse import quote, urlencode

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from api_fixtures import api_hub, basic, demo_submission
from hub.openapi import document

EXAMPLES = int(os.environ.get("HUB_FUZZ_EXAMPLES", "150"))
COUNTS = {"requests": 0, "5xx": 0}
WRONG = {
    "string": [None, True, 0, -1, 1.5, 10 ** 30, [], ["x"], {}, {"k": "v"}],
    "boolean": [None, "true", "", 0, 1, [], [True], {}],
    "integer": [None, "1", "", 1.5, True, [], [1], {}],
    "object": [None, "x", "", 0, True, [], [{}]],
    "array": [None, "x", 0, True, {}, {"0": "x"}],
}


@pytest.fixture(scope="module")
def h(tmp_path_factory):
    with api_hub(tmp_path_factory.mktemp("fuzz-inputs"), "sqlite") as hub:
        yield hub


@pytest.fixture(scope="module")
def sids(h):
    """Submissions in review (the demo has holds), so review actions reach their field checks."""
    out = []
    for _ in range(3):
        r = h.client.post("/api/v1/submissions", headers=basic(h.keys.submitter), json=demo_submission())
        assert r.status_code == 202, r.get_json()
        out.append(r.get_json()["id"])
    return out


def _count(status: int) -> None:
    COUNTS["requests"] += 1
    COUNTS["5xx"] += status >= 500


# -- 1. wrong JSON types for every API field -------------------------------------------------------

def _schema(ref_or_schema: dict) -> dict:
    doc = document()
    if "$ref" in ref_or_schema:
        return doc["components"]["schemas"][ref_or_schema["$ref"].rsplit("/", 1)[1]]
    return ref_or_schema


def _bodies(h, sid: str) -> list[tuple[str, str, dict, str, dict]]:
    """(method, path, valid body, field, field schema) for every field of every JSON body."""
    valid = {
        "/api/v1/submissions": demo_submission(),
        "/api/v1/submissions/{id}/reject": {"reason": "not useful for peers"},
        "/api/v1/submissions/{id}/redactions": {"value": "beacons", "field": "keywords"},
        "/api/v1/submissions/{id}/redactions/undo": {"entry": "x", "justification": "a written reason here"},
        "/api/v1/submissions/{id}/tlp": {"tlp": "amber"},
        "/api/v1/submissions/{id}/holds/release": {"object": "x", "justification": "a written reason here"},
        "/api/v1/profiles": {"name": "fuzz", "profile": demo_submission()["victim_profile"]},
        "/api/v1/orgs/{org}/auto-publish": {"enabled": False},
        "/api/v1/sightings": {"indicator": "indicator--00000000-0000-4000-8000-000000000000"},
    }
    out = []
    for path, ops in document()["paths"].items():
        for method, op in ops.items():
            if "requestBody" not in op:
                continue
            schema = _schema(op["requestBody"]["content"]["application/json"]["schema"])
            assert path in valid, f"no valid body for {method} {path}: add one here"
            concrete = path.replace("{id}", sid).replace("{org}", "csirt-a")
            for field, prop in schema.get("properties", {}).items():
                out.append((method, concrete, valid[path], field, prop))
    return out


def _key(h, path: str) -> dict:
    if path.startswith("/api/v1/profiles") or path == "/api/v1/submissions":
        return h.keys.submitter
    return h.keys.admin if "auto-publish" in path else h.keys.analyst


def test_wrong_json_types_for_every_api_field_are_4xx(h, sids):
    cases = _bodies(h, sids[0])
    assert len({(m, p) for m, p, *_ in cases}) >= 8
    sent, accepted = 0, []
    for method, path, base, field, prop in cases:
        kind = prop.get("type") if isinstance(prop.get("type"), str) else None
        for wrong in WRONG.get(kind) or [v for values in WRONG.values() for v in values]:
            r = h.client.open(path, method=method.upper(), headers=basic(_key(h, path)),
                              data=json.dumps({**base, field: wrong}), content_type="application/json")
            _count(r.status_code)
            sent += 1
            assert r.status_code < 500, (method, path, field, wrong, r.get_json())
            if r.status_code < 400 and wrong is not None:
                accepted.append((path, field, wrong))
    assert not accepted, accepted[:5]  # a value of the wrong type is never taken
    print(f"\nwrong JSON types: {sent} requests over {len(cases)} fields, 0 5xx")


def test_the_listed_500s_are_4xx(h, sids):
    analyst = basic(h.keys.analyst)
    for body in ({"object": [], "justification": "a written reason here"},
                 {"object": {}, "justification": "a written reason here"}):
        assert h.client.post(f"/api/v1/submissions/{sids[1]}/holds/release", headers=analyst,
                             json=body).status_code == 400
    assert h.client.post(f"/api/v1/submissions/{sids[1]}/redactions", headers=analyst,
                         json={"value": "beacons", "field": []}).status_code == 400
    web = _signed_in(h)
    for page in ("99999999999999999999999", "²", "-5", "1" * 400):
        assert web.get("/review/?page=" + quote(page)).status_code == 200
    login = h.app.test_client()
    token = re.search(r'name="csrf" value="([^"]+)"', login.get("/review/login").text).group(1)
    r = login.post("/review/login", data={"csrf": token, "key": h.keys.analyst["key"],
                                          "next": "/review/\r\nSet-Cookie: x=1"})
    assert r.status_code == 302 and "\n" not in r.headers["Location"] and r.headers["Location"].endswith("/review/")


# -- 2. hypothesis over the review view ------------------------------------------------------------

def _signed_in(h):
    client = h.app.test_client()
    token = re.search(r'name="csrf" value="([^"]+)"', client.get("/review/login").text).group(1)
    r = client.post("/review/login", data={"csrf": token, "key": h.keys.analyst["key"]})
    assert r.status_code == 302
    return client


def _csrf(client) -> str:
    with client.session_transaction("/review/") as s:
        return s["csrf"]


NASTY = st.sampled_from(["99999999999999999999999", "²", "٣", "１２", "-1", "0", "1e9", "\r\nX: y", "/review/\r\n",
                         "//evil.example/", "/review/../x", "%0d%0a", "\x00", "<script>", "' OR 1=1 --", "",
                         "review", "green", "amber", "red", "yes", "no", "keywords", "domains", "ja", "en"])
VALUE = st.one_of(NASTY, st.text(st.characters(exclude_categories=("Cs",)), max_size=60))
QUERY_KEYS = st.sampled_from(["page", "status", "tlp", "org", "needs_review", "lang", "next", "x", "page[]"])
FORM_KEYS = st.sampled_from(["reason", "value", "field", "entry", "justification", "object", "tlp", "x"])
ACTIONS = st.sampled_from(["approve", "reject", "redact", "undo", "release", "tlp", "nope", "..", "%0a"])


@pytest.fixture(scope="module")
def web(h):
    return _signed_in(h)


@settings(max_examples=EXAMPLES, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=st.data())
def test_review_view_forms_and_query_strings_never_5xx(h, sids, web, data):
    kind = data.draw(st.sampled_from(["queue", "submission", "login-get", "login-post", "action"]))
    query = data.draw(st.lists(st.tuples(QUERY_KEYS, VALUE), max_size=5))
    form = dict(data.draw(st.lists(st.tuples(FORM_KEYS, VALUE), max_size=6)))
    sid = data.draw(st.one_of(st.sampled_from(sids), VALUE.filter(lambda s: "/" not in s and s not in ("", ".", ".."))))
    qs = urlencode(query)
    if kind == "queue":
        r = web.get("/review/?" + qs)
    elif kind == "submission":
        r = web.get(f"/review/submissions/{quote(sid, safe='')}?" + qs)
    elif kind == "login-get":
        r = h.app.test_client().get("/review/login?" + qs)
    elif kind == "login-post":
        client = h.app.test_client()
        token = re.search(r'name="csrf" value="([^"]+)"', client.get("/review/login").text).group(1)
        r = client.post("/review/login", data={"csrf": token, "key": form.get("value", ""),
                                               "next": form.get("reason", "")})
        assert r.status_code in (302, 401, 403, 429)
    else:
        action = data.draw(ACTIONS)
        r = web.post(f"/review/submissions/{quote(sid, safe='')}/{quote(action, safe='')}",
                     data={**form, "csrf": _csrf(web)})
    _count(r.status_code)
    assert r.status_code < 500, (kind, r.status_code)


def test_zz_report_counts():
    """Printed for the closing note (run with -s); the 5xx count must be 0."""
    print(f"\nfuzzed requests: {COUNTS['requests']}, 5xx seen: {COUNTS['5xx']}")
    assert COUNTS["5xx"] == 0

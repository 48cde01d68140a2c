"""The permission matrix of the API (and the review web view's sign-in): every principal ×
every endpoint and method, generated from one table of who is allowed, on SQLite and PostgreSQL.

Allowed cells send a valid request and must get 2xx or a 4xx that is about the request or the
state (400, 409, 422), never 401/403/404. Forbidden cells must get 401, 403 or 404 (404 where
existence is not confirmed: another CSIRT's submission or profile, an unreadable publication).
Each cell acts on fresh resources, so one cell's action never changes another's answer."""
from __future__ import annotations

import itertools
import json
import re

import pytest

from api_fixtures import api_hub, basic, demo_submission, release_holds
from review_fixtures import demo

from hub.services import profiles, submissions
from hub.services.redactions import entry_keys, undoable
from hub.services.sealed import open_private_report
from hub.store.base import ObjectFilter

PRINCIPALS = ("submitter-a", "submitter-b", "consumer-b", "consumer-a", "analyst", "admin", "no-key", "revoked")
REVIEWERS = {"analyst", "admin"}
ANY_KEY = set(PRINCIPALS) - {"no-key", "revoked"}
EVERYONE = set(PRINCIPALS)

# (name, method, path template, body builder name, allowed principals)
ENDPOINTS = [
    ("submit", "POST", "/api/v1/submissions", "submission", {"submitter-a", "submitter-b"}),
    ("list", "GET", "/api/v1/submissions", None, {"submitter-a", "submitter-b"} | REVIEWERS),
    ("get", "GET", "/api/v1/submissions/{sub}", None, {"submitter-a"} | REVIEWERS),
    ("draft", "GET", "/api/v1/submissions/{sub}/draft", None, {"submitter-a"} | REVIEWERS),
    ("private-report", "GET", "/api/v1/submissions/{sub}/private-report", None, {"submitter-a"} | REVIEWERS),
    ("approve", "POST", "/api/v1/submissions/{sub}/approve", None, REVIEWERS),
    ("reject", "POST", "/api/v1/submissions/{sub}/reject", "reject", REVIEWERS),
    ("redact", "POST", "/api/v1/submissions/{sub}/redactions", "redact", REVIEWERS),
    ("undo", "POST", "/api/v1/submissions/{sub}/redactions/undo", "undo", REVIEWERS),
    ("tlp", "POST", "/api/v1/submissions/{sub}/tlp", "tlp", REVIEWERS),
    ("release", "POST", "/api/v1/submissions/{sub}/holds/release", "release", REVIEWERS),
    ("add-profile", "POST", "/api/v1/profiles", "profile", {"submitter-a", "submitter-b"}),
    ("list-profiles", "GET", "/api/v1/profiles", None, {"submitter-a", "submitter-b"}),
    ("delete-profile", "DELETE", "/api/v1/profiles/{profile}", None, {"submitter-a"}),
    # GREEN: every member organisation's consumer key reads it; AMBER: only by grant (none here).
    ("publication-green", "GET", "/api/v1/publications/{green}", None, {"consumer-a", "consumer-b"} | REVIEWERS),
    ("signature-green", "GET", "/api/v1/publications/{green}/signature", None,
     {"consumer-a", "consumer-b"} | REVIEWERS),
    ("publication-amber", "GET", "/api/v1/publications/{amber}", None, REVIEWERS),
    ("signing-key", "GET", "/api/v1/signing-key", None, ANY_KEY),
    ("auto-publish", "PUT", "/api/v1/orgs/csirt-a/auto-publish", "auto", {"admin"}),
    # Members whose organisation reads the indicator's collection confirm it; the hub's keys do not.
    ("confirm-sighting", "POST", "/api/v1/sightings", "sighting",
     {"consumer-a", "consumer-b", "submitter-a", "submitter-b"}),
    ("openapi", "GET", "/api/openapi.json", None, EVERYONE),
]
CELLS = [(p, e) for e, p in itertools.product(ENDPOINTS, PRINCIPALS)]
# The review web view (/review/, a signed session cookie, not the API's headers): only the hub's
# analysts and administrators may sign in with their key; everyone else stays on the login page.
WEB_SIGN_IN = REVIEWERS
WEB_ROUTES = [("queue", "GET", "/review/"), ("submission", "GET", "/review/submissions/{sub}"),
              ("reject", "POST", "/review/submissions/{sub}/reject"), ("tlp", "POST", "/review/submissions/{sub}/tlp"),
              ("approve", "POST", "/review/submissions/{sub}/approve")]
WEB_FORMS = {"reject": {"reason": "duplicate of an earlier report"}, "tlp": {"tlp": "amber"}, "approve": {}}
WEB_CELLS = [(p, r) for r, p in itertools.product(WEB_ROUTES, PRINCIPALS)]


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def world(request, tmp_path_factory):
    with api_hub(tmp_path_factory.mktemp(f"perm-{request.param}"), request.param) as h:
        k = h.keys
        keys = {"submitter-a": k.submitter, "submitter-b": k.submitter_b, "consumer-b": k.consumer,
                "consumer-a": k.csirt_consumer, "analyst": k.analyst, "admin": k.admin, "no-key": None,
                "revoked": h.revoked}
        pubs = {tlp: _published(h, tlp) for tlp in ("green", "amber")}
        yield h, keys, pubs


def _principal(h, key):
    return h.store.authenticate(key["key_id"], key["key"].split(".", 1)[1])


def _fresh_submission(h) -> str:
    return submissions.submit(h.ctx, principal=_principal(h, h.keys.submitter), body=demo_submission()).id


def _published(h, tlp: str) -> str:
    sid = submissions.submit(h.ctx, principal=_principal(h, h.keys.submitter), body=demo_submission(tlp=tlp)).id
    release_holds(h.client, h.keys.analyst, sid)
    r = h.client.post(f"/api/v1/submissions/{sid}/approve", headers=basic(h.keys.analyst))
    assert r.status_code == 200, r.get_json()
    return r.get_json()["publication_id"]


def _body(h, kind: str | None, sid: str | None, n: int):
    if kind is None:
        return None
    if kind == "submission":
        return demo_submission()
    if kind == "profile":
        return {"name": f"perm-{n}", "profile": demo("profile.json")}
    if kind == "reject":
        return {"reason": "duplicate of an earlier report"}
    if kind == "redact":
        return {"value": "beacons", "field": "keywords"}
    if kind == "tlp":
        return {"tlp": "amber"}
    if kind == "auto":
        return {"enabled": False}
    if kind == "sighting":
        green = h.store.find_collection("TLP:GREEN")
        objects = [json.loads(b) for b in h.store.get_objects(green.id, ObjectFilter(), 1000).items]
        return {"indicator": next(o["sighting_of_ref"] for o in objects if o["type"] == "sighting")}
    sub = h.store.get_submission(sid)
    if kind == "undo":
        entries = open_private_report(h.ctx, sub)["entries"]
        key = next(k for e, k in zip(entries, entry_keys(entries)) if undoable(e))
        return {"entry": key, "justification": "the attacker's own timestamp, not the victim's"}
    if kind == "release":
        hold = json.loads(sub.report)["holds"][0]
        return {"object": hold["object"], "justification": "widely reported attacker infrastructure"}
    raise AssertionError(kind)


_counter = itertools.count()


@pytest.mark.parametrize("principal,endpoint", CELLS, ids=[f"{e[0]}-{p}" for p, e in CELLS])
def test_cell(world, principal, endpoint):
    h, keys, pubs = world
    name, method, template, body_kind, allowed = endpoint
    n = next(_counter)
    sid = _fresh_submission(h) if "{sub}" in template or body_kind in ("undo", "release") else None
    profile = None
    if "{profile}" in template:
        profile = profiles.add_profile(h.ctx, principal=_principal(h, h.keys.submitter), name=f"cell-{n}",
                                       profile=demo("profile.json")).id
    path = template.format(sub=sid, profile=profile, green=pubs["green"], amber=pubs["amber"])
    body = _body(h, body_kind, sid, n)
    r = h.client.open(path, method=method, headers=basic(keys[principal]),
                      **({"json": body} if body is not None else {}))
    if principal in allowed:
        assert r.status_code < 500 and r.status_code not in (401, 403, 404), (r.status_code, r.get_data(as_text=True))
        assert r.status_code < 300 or r.status_code in (400, 409, 422)
    else:
        assert r.status_code in (401, 403, 404), (r.status_code, r.get_data(as_text=True))
        if principal in ("no-key", "revoked"):
            assert r.status_code == 401 and "WWW-Authenticate" in r.headers
    if r.status_code >= 400:
        assert set(r.get_json()) >= {"title", "description"}


def _csrf(client) -> str:
    page = client.get("/review/login").get_data(as_text=True)
    return re.search(r'name="csrf" value="([^"]+)"', page).group(1)


@pytest.mark.parametrize("principal,route", WEB_CELLS, ids=[f"web-{r[0]}-{p}" for p, r in WEB_CELLS])
def test_web_cell(world, principal, route):
    """Sign in through the form with the principal's key (none: no sign-in), then use a route.
    Reviewers are signed in and served; anyone else is refused at sign-in and every route sends
    them to /review/login, the API's Authorization header counting for nothing here."""
    h, keys, _ = world
    name, method, template = route
    client = h.app.test_client()
    token = _csrf(client)
    key = keys[principal]
    if key is not None:
        r = client.post("/review/login", data={"key": key["key"], "csrf": token, "next": ""})
        if principal in WEB_SIGN_IN:
            assert r.status_code == 302 and r.headers["Location"].endswith("/review/")
        else:
            assert r.status_code == (401 if principal == "revoked" else 403)
    sid = _fresh_submission(h)
    path = template.format(sub=sid)
    headers = basic(key)  # ignored by the web view: only its session signs in
    if method == "GET":
        r = client.get(path, headers=headers)
    else:
        with client.session_transaction("/review/") as session:
            token = session.get("csrf", token)  # sign-in starts a fresh session with a new token
        r = client.post(path, headers=headers, data={"csrf": token, **WEB_FORMS[name]})
    after = h.store.get_submission(sid)
    if principal in WEB_SIGN_IN:
        # approve: refused, back on the submission page (303) which shows the refusal (422); the draft
        # still has its holds
        assert r.status_code == (303 if method == "POST" else 200), r.status_code
        if name == "approve":
            assert client.get(r.headers["Location"]).status_code == 422
        assert after.status == ("rejected" if name == "reject" else "review")
        assert after.tlp == ("amber" if name == "tlp" else "green")
    else:
        assert r.status_code == 302 and "/review/login" in r.headers["Location"]
        assert (after.status, after.tlp) == ("review", "green")  # nothing was done


def test_matrix_size(capsys):
    """8 principals × 20 API endpoints = 160 API cells, plus 8 principals × 5 web routes
    (each with its sign-in attempt) = 40 web cells: 200 cells per backend, 400 in all."""
    with capsys.disabled():
        print(f"\npermission matrix: {len(PRINCIPALS)} principals x {len(ENDPOINTS)} API endpoints = {len(CELLS)} "
              f"cells + {len(PRINCIPALS)} x {len(WEB_ROUTES)} web routes = {len(WEB_CELLS)} cells, per backend")
    assert len(CELLS) == len(PRINCIPALS) * len(ENDPOINTS) == 168  # 21 endpoints with POST /api/v1/sightings
    assert len(WEB_CELLS) == 40

"""Issue 15: the corroboration index and DI-17 holds that release themselves once k distinct
member organisations reported a value, on SQLite and PostgreSQL (service layer)."""
from __future__ import annotations

import json

import orjson
import pytest

from hub.context import HubContext
from hub.datadir import DataDir
from hub.crypto import verify_signature
from hub.errors import Forbidden, Missing
from hub.services import corroboration, sightings
from hub.services.publication import approve
from hub.services.review import reject, release_hold
from hub.services.sealed import open_private_report
from hub.services.submissions import submit
from hub.store.base import Agreement, ObjectFilter
from review_fixtures import demo, setup_hub
from taxii_fixtures import pg_database

SHARED = "c2-shared.example.net"


@pytest.fixture(params=["sqlite", "postgresql"])
def env(request, tmp_path):
    if request.param == "sqlite":
        yield _env(setup_hub(tmp_path / "hub"))
        return
    with pg_database() as url:
        e = _env(setup_hub(tmp_path / "hub", url))
        yield e
        e.ctx.store.close()


class _Env:
    pass


def _env(keys) -> _Env:
    e = _Env()
    e.ctx = HubContext.from_datadir(DataDir(keys.data_dir))
    store = e.ctx.store
    store.add_org("csirt-c", "csirt", sector="energy", region="JP")
    _key_c, secret_c = store.create_key("csirt-c", "submitter")
    principal = lambda k: store.authenticate(k["key_id"], k["key"].split(".", 1)[1])  # noqa: E731
    e.analyst, e.admin, e.consumer = principal(keys.analyst), principal(keys.admin), principal(keys.consumer)
    e.csirts = [principal(keys.submitter), principal(keys.submitter_b), store.authenticate(_key_c.key_id, secret_c)]
    for org in ("csirt-a", "csirt-b", "csirt-c"):
        if store.get_agreement(org, "CASE-9") is None:
            store.add_agreement(Agreement(org, "CASE-9", "2025-01-01", None, ("NDA-03",)))
    return e


def _bundle(n: int, shared_form: str, unique: str) -> dict:
    ind = lambda i, p: {"type": "indicator", "spec_version": "2.1",  # noqa: E731
                        "id": f"indicator--{n:08d}-0000-4000-8000-{i:012d}",
                        "created": "2025-03-01T10:00:00.000Z", "modified": "2025-03-01T10:00:00.000Z",
                        "pattern": p, "pattern_type": "stix", "valid_from": "2025-03-01T10:00:00Z",
                        "indicator_types": ["malicious-activity"]}
    return {"type": "bundle", "id": f"bundle--{n:08d}-0000-4000-8000-000000000000",
            "objects": [ind(1, f"[domain-name:value = '{shared_form}']"),
                        ind(2, f"[domain-name:value = '{unique}']")]}


def _submit(e, who: int, shared_form: str = SHARED, unique: str | None = None):
    body = {"bundle": _bundle(who, shared_form, unique or f"only-{who}.example.org"),
            "victim_profile": demo("profile.json"), "tlp": "green", "victim_ref": "CASE-9"}
    return submit(e.ctx, principal=e.csirts[who], body=body)


def _holds(e, sub_id: str) -> dict[str, dict]:
    """Pattern -> private-report hold of each indicator of a submission."""
    sub = e.ctx.store.get_submission(sub_id)
    patterns = {o["id"]: o.get("pattern") for o in orjson.loads(sub.draft)["objects"]}
    return {patterns[h["object"]]: h for h in open_private_report(e.ctx, sub)["holds"]}


def test_di17_holds_release_in_all_submissions_when_k_organisations_report(env):
    # The same C2 written three ways: one normalised value.
    subs = [_submit(env, 0, SHARED), _submit(env, 1, SHARED.upper() + "."), _submit(env, 2, SHARED.title())]
    shared = f"[domain-name:value = '{SHARED}']"
    for i, sub in enumerate(subs):
        holds = _holds(env, sub.id)
        held = next(h for p, h in holds.items() if p and p.lower().rstrip(".']").endswith(SHARED))
        assert held["released"] is True and held["released_by"] == "corroboration" and held["reported_by"] == 3
        unique = next(h for p, h in holds.items() if f"only-{i}" in p)
        assert not unique.get("released") and unique["reported_by"] == 1  # seen by one: stays held
        public = json.loads(env.ctx.store.get_submission(sub.id).report)
        assert all("reported_by" not in h for h in public["holds"])  # counts stay private
    assert shared  # the first report's pattern is the canonical one
    audit = [a for a in env.ctx.store.list_audit() if a.action == "corroboration-release"]
    assert {a.subject for a in audit} == {subs[0].id, subs[1].id}  # the third released at intake
    assert corroboration.reporter_count(env.ctx, value_kind="domain", value=SHARED.upper()) == 3
    assert corroboration.hold_reporters(env.ctx, principal=env.analyst, submission_id=subs[0].id)


def test_di17_same_organisation_twice_counts_once(env):
    for _ in range(3):
        sub = _submit(env, 0)
    assert not _holds(env, sub.id)[f"[domain-name:value = '{SHARED}']"].get("released")
    assert corroboration.reporter_count(env.ctx, value_kind="domain", value=SHARED) == 1


def test_di17_rejected_submission_lowers_the_count_and_holds_return(env):
    subs = [_submit(env, i) for i in range(3)]
    reject(env.ctx, principal=env.analyst, submission_id=subs[2].id, reason="duplicate of another case")
    assert corroboration.reporter_count(env.ctx, value_kind="domain", value=SHARED) == 2
    for sub in subs[:2]:
        hold = _holds(env, sub.id)[f"[domain-name:value = '{SHARED}']"]
        assert not hold.get("released") and hold["reported_by"] == 2
        assert env.ctx.store.get_submission(sub.id).needs_review


def test_di17_analyst_release_names_the_key_and_approval_publishes(env):
    subs = [_submit(env, i) for i in range(3)]
    for hold in json.loads(env.ctx.store.get_submission(subs[0].id).report)["holds"]:
        if not hold.get("released"):
            release_hold(env.ctx, principal=env.analyst, submission_id=subs[0].id, obj=hold["object"],
                         justification="generic phishing host, shared widely")
    released = [h for h in open_private_report(env.ctx, env.ctx.store.get_submission(subs[0].id))["holds"]]
    assert {h["released_by"] for h in released} == {"corroboration", env.analyst.key_id}
    assert approve(env.ctx, principal=env.analyst, submission_id=subs[0].id).status == "published"


def test_di17_auto_publish_fires_after_corroboration(env):
    env.ctx.store.set_auto_publish("csirt-b", True)
    first = _submit(env, 1, unique=SHARED)  # both indicators name the shared C2
    assert first.status == "review" and first.needs_review
    _submit(env, 0)
    _submit(env, 2)
    assert env.ctx.store.get_submission(first.id).status == "published"


def test_value_search_and_reporters_are_for_the_operator_only(env):
    subs = [_submit(env, i) for i in range(2)]
    found = corroboration.find_submissions_by_value(env.ctx, principal=env.analyst, value=f"https://{SHARED}")
    assert found == []  # a URL is another kind of value
    found = corroboration.find_submissions_by_value(env.ctx, principal=env.analyst, value=SHARED.upper() + ".")
    assert [s.id for s in found] == [s.id for s in subs]
    with pytest.raises(Forbidden):
        corroboration.find_submissions_by_value(env.ctx, principal=env.csirts[0], value=SHARED)
    with pytest.raises(Forbidden):
        corroboration.reporters(env.ctx, principal=env.analyst, value_kind="domain", value=SHARED)
    assert corroboration.reporters(env.ctx, principal=env.admin, value_kind="domain", value=SHARED) == [
        "csirt-a", "csirt-b"]


def _green_objects(e) -> list[dict]:
    green = e.ctx.store.find_collection("TLP:GREEN")
    return [orjson.loads(b) for b in e.ctx.store.get_objects(green.id, ObjectFilter(versions=("all",)), 1000).items]


def test_confirmation_adds_the_member_and_reversions_the_sighting_in_a_signed_publication(env):
    first, second = _submit(env, 0), _submit(env, 1)
    for hold in json.loads(env.ctx.store.get_submission(first.id).report)["holds"]:
        release_hold(env.ctx, principal=env.analyst, submission_id=first.id, obj=hold["object"],
                     justification="public sinkhole, safe to share")
    approve(env.ctx, principal=env.analyst, submission_id=first.id)
    shared = next(o for o in _green_objects(env) if o["type"] == "indicator" and SHARED in o["pattern"])
    assert shared["confidence"] == 50
    with pytest.raises(Forbidden):  # the hub's own keys confirm nothing
        sightings.confirm(env.ctx, principal=env.analyst, indicator=shared["id"])
    with pytest.raises(Missing):
        sightings.confirm(env.ctx, principal=env.consumer, indicator="indicator--" + "0" * 36)
    result = sightings.confirm(env.ctx, principal=env.consumer, indicator=shared["id"])
    assert result == {"indicator": shared["id"], "count": 3}
    assert sightings.confirm(env.ctx, principal=env.consumer, indicator=shared["id"])["count"] == 3  # once per org
    versions = [o for o in _green_objects(env) if o["type"] == "sighting" and o["sighting_of_ref"] == shared["id"]]
    assert sorted(v["count"] for v in versions) == [2, 3] and len({v["modified"] for v in versions}) == 2
    latest = max(
        (o for o in _green_objects(env) if o["id"] == shared["id"]), key=lambda o: o["modified"])
    assert latest["confidence"] == 70
    pub = next(p for p in env.ctx.store.list_publications() if p.submission_id == sightings.SUBJECT)
    assert verify_signature(pub.public_key, pub.manifest.encode("utf-8"), pub.signature)
    assert {o["id"] for o in orjson.loads(pub.manifest)["objects"]} >= {shared["id"], versions[0]["id"]}
    # The confirmation is the third organisation: the second submission's hold released itself.
    hold = _holds(env, second.id)[f"[domain-name:value = '{SHARED}']"]
    assert hold["released_by"] == "corroboration"
    assert "peer-b" not in json.dumps(_green_objects(env))

"""Issue 12 item 3 at approval: a draft that is not strict STIX 2.1 cannot be approved (Refused,
the failures named by position, type and field, never a value, the draft kept); the analyst
drops the object (review.drop_object, audited) and approves; what reaches the collection passes
stix2-validator. SQLite and PostgreSQL."""
from __future__ import annotations

import json

import orjson
import pytest
from stix2validator import ValidationOptions, validate_instance

from hub.errors import Refused
from hub.services.publication import approve, strict_failures
from hub.services.review import drop_object, release_hold
from hub.store.base import ObjectFilter

from review_fixtures import demo, submit_processed
from test_review_flow import _env
from review_fixtures import setup_hub
from taxii_fixtures import pg_database

BROKEN_HASH = "ab" * 32 + "c"  # 65 hex digits


@pytest.fixture(params=["sqlite", "postgresql"])
def env(request, tmp_path):
    if request.param == "sqlite":
        yield _env(setup_hub(tmp_path / "hub"))
        return
    with pg_database() as url:
        e = _env(setup_hub(tmp_path / "hub", url))
        yield e
        e.ctx.store.close()


def _broken_bundle() -> tuple[dict, str]:
    bundle = demo("submission.json")
    for obj in bundle["objects"]:
        if "SHA-256" in obj.get("hashes", {}):
            obj["hashes"]["SHA-256"] = BROKEN_HASH
            return bundle, obj["type"]
    raise AssertionError("the demo has no SHA-256")


def test_a_draft_that_is_not_strict_stix_is_not_approved_until_the_object_is_dropped(env):
    bundle, kind = _broken_bundle()
    sub = submit_processed(env.ctx, principal=env.submitter, body={"bundle": bundle, "victim_profile": demo("profile.json"),
                                                          "tlp": "green", "victim_ref": "CASE-1"})
    for hold in json.loads(env.ctx.store.get_submission(sub.id).report)["holds"]:
        release_hold(env.ctx, principal=env.analyst, submission_id=sub.id, obj=hold["object"],
                     justification="seen at several victims, safe to share")
    sub = env.ctx.store.get_submission(sub.id)
    failing = strict_failures(env.ctx, principal=env.analyst, sub=sub)
    assert failing and all(f"({kind})" in line and "hashes.SHA-256" in line for _id, line in failing)
    with pytest.raises(Refused) as refused:
        approve(env.ctx, principal=env.analyst, submission_id=sub.id)
    assert "hashes.SHA-256" in str(refused.value) and BROKEN_HASH not in str(refused.value)
    assert env.ctx.store.get_submission(sub.id).status == "review"
    before = len(env.ctx.store.list_audit())
    dropped = drop_object(env.ctx, principal=env.analyst, submission_id=sub.id, obj=failing[0][0],
                          justification="hash is malformed in the CSIRT's export")
    assert failing[0][0] not in {o["id"] for o in json.loads(dropped.draft)["objects"]}
    assert [e.action for e in env.ctx.store.list_audit()[before:]] == ["drop-object"]
    for _ in range(5):  # what only pointed at it (e.g. observed-data left without objects) goes too
        left = strict_failures(env.ctx, principal=env.analyst, sub=dropped)
        if not left:
            break
        dropped = drop_object(env.ctx, principal=env.analyst, submission_id=sub.id, obj=left[0][0],
                              justification="refers only to the dropped file")
    assert strict_failures(env.ctx, principal=env.analyst, sub=dropped) == []
    published = approve(env.ctx, principal=env.analyst, submission_id=sub.id)
    assert published.status == "published"
    green = env.ctx.store.find_collection("TLP:GREEN")
    for body in env.ctx.store.get_objects(green.id, ObjectFilter(versions=("all",)), 10_000).items:
        result = validate_instance(orjson.loads(body), ValidationOptions(version="2.1"))
        assert result.is_valid, [str(e) for e in result.errors]

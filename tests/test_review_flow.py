"""The submission → review → signed publication flow at the service layer, on SQLite and
PostgreSQL: sealing, the NDA gate (issue 5) at approval, analyst edits through the leak gate,
versions on re-publication, purge, the background worker, `hub verify` and `hub audit verify`."""
from __future__ import annotations

import copy
import json
import sqlite3
import subprocess
import sys

import orjson
import pytest
from sqlalchemy import text as sql_text

from conftest import ROOT
from hub.cli import main as hub_cli
from hub.context import HubContext
from hub.crypto import SealError
from hub.datadir import DataDir
from hub.errors import Forbidden, Invalid, Missing, Refused, WrongState
from hub.services.maintenance import purge
from hub.services.redactions import entry_keys
from hub.services.sealed import REJECTED_NOTE, open_payload, open_private_report, shown_message
from hub.services.submissions import describe, submit
from hub.services.publication import approve
from hub.services.review import add_redaction, change_tlp, reject, release_hold, undo_redaction
from hub.store.base import Agreement, ObjectFilter, SubmissionFilter
from hub.worker import Worker
from review_fixtures import demo, setup_hub, victim_strings
from taxii_fixtures import pg_database

NOT_A_VICTIM = "Mr. Smith"  # an attacker's alias that DI-10's name heuristic redacts


@pytest.fixture(params=["sqlite", "postgresql"])
def env(request, tmp_path):
    if request.param == "sqlite":
        keys = setup_hub(tmp_path / "hub")
        yield _env(keys)
        return
    with pg_database() as url:
        keys = setup_hub(tmp_path / "hub", url)
        e = _env(keys)
        yield e
        e.ctx.store.close()


class _Env:
    pass


def _env(keys) -> _Env:
    e = _Env()
    e.keys = keys
    e.data = DataDir(keys.data_dir)
    e.ctx = HubContext.from_datadir(e.data)
    store = e.ctx.store
    principal = lambda k: store.authenticate(k["key_id"], k["key"].split(".", 1)[1])  # noqa: E731
    e.submitter, e.analyst = principal(keys.submitter), principal(keys.analyst)
    e.admin, e.consumer, e.submitter_b = principal(keys.admin), principal(keys.consumer), principal(keys.submitter_b)
    return e


def _bundle_with_alias() -> dict:
    bundle = demo("submission.json")
    for obj in bundle["objects"]:
        if obj["type"] == "malware":
            obj["description"] = obj.get("description", "") + f" The operator calls himself {NOT_A_VICTIM} on forums."
    return bundle


def _submit(e, ref="CASE-1", tlp="green", bundle=None):
    """Submit, then let the worker sanitise it (what `hub serve`'s worker thread does at once)."""
    sub = submit(e.ctx, principal=e.submitter, body={"bundle": bundle or demo("submission.json"),
                                      "victim_profile": demo("profile.json"), "tlp": tlp, "victim_ref": ref})
    assert sub.status == "queued"
    Worker(e.ctx).drain()
    return e.ctx.store.get_submission(sub.id)


def _release_all(e, sub):
    for hold in json.loads(e.ctx.store.get_submission(sub.id).report)["holds"]:
        release_hold(e.ctx, principal=e.analyst, submission_id=sub.id, obj=hold["object"],
                     justification="seen at several victims, safe to share")


def test_sealed_payload_is_bound_to_its_submission(env):
    a, b = _submit(env), _submit(env)
    assert open_payload(env.ctx, a)["profile"] == demo("profile.json")
    swapped = env.ctx.store.get_submission(b.id)
    with pytest.raises(SealError):  # a's ciphertext on b's row does not open
        env.ctx.sealer.open(a.sealed, f"submission:{swapped.id}")
    tampered = bytearray(a.sealed)
    tampered[-1] ^= 1
    with pytest.raises(SealError):
        env.ctx.sealer.open(bytes(tampered), f"submission:{a.id}")


def test_draft_and_public_report_hold_no_victim_value(env):
    sub = _submit(env)
    assert sub.status == "review"
    for value in victim_strings():
        assert value not in sub.draft and value not in sub.report
    private = open_private_report(env.ctx, sub)
    assert any(e["original"] for e in private["entries"])  # analysts see what was removed


def test_approval_needs_an_active_agreement_and_keeps_the_draft(env):
    sub = _submit(env, ref="CASE-UNKNOWN")
    _release_all(env, sub)
    with pytest.raises(Refused, match="no agreement"):
        approve(env.ctx, principal=env.analyst, submission_id=sub.id)
    kept = env.ctx.store.get_submission(sub.id)
    assert kept.status == "review" and kept.draft == env.ctx.store.get_submission(sub.id).draft
    env.ctx.store.add_agreement(Agreement("csirt-a", "CASE-UNKNOWN", "2025-01-01", None, ("NDA-03",)))
    env.ctx.store.withdraw_agreement("csirt-a", "CASE-UNKNOWN", "2025-02-01")
    with pytest.raises(Refused, match="objected"):
        approve(env.ctx, principal=env.analyst, submission_id=sub.id)
    assert env.ctx.store.get_submission(sub.id).status == "review"


def test_open_holds_block_approval_until_released(env):
    sub = _submit(env)
    assert sub.needs_review
    with pytest.raises(Refused, match="hold"):
        approve(env.ctx, principal=env.analyst, submission_id=sub.id)
    _release_all(env, sub)
    published = approve(env.ctx, principal=env.analyst, submission_id=sub.id)
    assert published.status == "published" and published.publication_id
    green = env.ctx.store.find_collection("TLP:GREEN")
    bodies = env.ctx.store.get_objects(green.id, ObjectFilter(versions=("all",)), 1000).items
    assert len(bodies) >= len(orjson.loads(published.draft)["objects"])
    for value in victim_strings():
        assert all(value not in b for b in bodies)


def test_only_reviewers_act(env):
    sub = _submit(env)
    for who in (env.submitter, env.consumer, env.submitter_b):
        with pytest.raises((Forbidden, Missing)):
            approve(env.ctx, principal=who, submission_id=sub.id)
        with pytest.raises((Forbidden, Missing)):
            reject(env.ctx, principal=who, submission_id=sub.id, reason="not mine to reject")
    rejected = reject(env.ctx, principal=env.admin, submission_id=sub.id, reason="duplicate of an earlier case")
    assert rejected.status == "rejected" and rejected.message == REJECTED_NOTE  # the reason is sealed
    assert shown_message(env.ctx, rejected) == "duplicate of an earlier case"
    with pytest.raises(WrongState):
        approve(env.ctx, principal=env.analyst, submission_id=sub.id)


def test_added_redaction_is_applied_and_audited(env):
    sub = _submit(env)
    draft = orjson.loads(sub.draft)
    name = next(o["name"] for o in draft["objects"] if o["type"] == "malware")
    changed = add_redaction(env.ctx, principal=env.analyst, submission_id=sub.id, value=name, field="keywords")
    assert name not in changed.draft and "[KEYWORD]" in changed.draft
    assert any(e["rule"] == "DI-03" for e in json.loads(changed.report)["entries"])
    actions = [a.action for a in env.ctx.store.list_audit()]
    assert "add-redaction" in actions
    assert all(name not in a.details for a in env.ctx.store.list_audit())  # the value is never audited
    with pytest.raises(Invalid):
        add_redaction(env.ctx, principal=env.analyst, submission_id=sub.id, value="not a domain", field="domains")


def test_undo_restores_a_false_positive_and_refuses_a_victim_value(env):
    sub = _submit(env, bundle=_bundle_with_alias())
    private = open_private_report(env.ctx, sub)
    keys = entry_keys(private["entries"])
    alias = next(k for e, k in zip(private["entries"], keys) if (e["original"] or "").startswith(NOT_A_VICTIM))
    host = next(k for e, k in zip(private["entries"], keys) if e["original"] == "YMB-FS02")
    with pytest.raises(Invalid, match="justification"):
        undo_redaction(env.ctx, principal=env.analyst, submission_id=sub.id, entry_key=alias, justification="short")
    restored = undo_redaction(env.ctx, principal=env.analyst, submission_id=sub.id, entry_key=alias,
                              justification="an attacker alias, not a victim employee")
    assert NOT_A_VICTIM in restored.draft
    before = env.ctx.store.get_submission(sub.id).draft
    with pytest.raises(Refused, match="leak gate"):
        undo_redaction(env.ctx, principal=env.analyst, submission_id=sub.id, entry_key=host,
                       justification="the analyst believes this host is harmless")
    assert env.ctx.store.get_submission(sub.id).draft == before  # unchanged
    # A later edit recomputes from the raw input and keeps the earlier undo.
    again = change_tlp(env.ctx, principal=env.analyst, submission_id=sub.id, tlp="amber")
    assert again.tlp == "amber" and NOT_A_VICTIM in again.draft
    assert "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421" in again.draft  # TLP:AMBER 2.0


def test_same_content_is_a_duplicate_changed_content_a_new_version(env):
    first = _submit(env)
    _release_all(env, first)
    approve(env.ctx, principal=env.analyst, submission_id=first.id)
    green = env.ctx.store.find_collection("TLP:GREEN")
    count = env.ctx.store.count_objects(green.id)
    second = _submit(env)
    _release_all(env, second)
    approve(env.ctx, principal=env.analyst, submission_id=second.id)
    assert env.ctx.store.count_objects(green.id) == count  # nothing duplicated
    changed = _submit(env, bundle=_bundle_with_alias())
    _release_all(env, changed)
    approve(env.ctx, principal=env.analyst, submission_id=changed.id)
    malware = next(o for o in orjson.loads(changed.draft)["objects"] if o["type"] == "malware")
    versions = env.ctx.store.get_versions(green.id, malware["id"], ObjectFilter(versions=("all",)), 10).items
    assert len(versions) == 2  # the malware object got a new version, same id


def test_every_submission_is_queued_and_wakes_the_worker(env):
    env.ctx.work_ready.clear()
    sub = submit(env.ctx, principal=env.submitter, body={"bundle": demo("submission.json"),
                                                          "victim_profile": demo("profile.json")})
    assert sub.status == "queued" and sub.draft is None  # nothing sanitised in the caller's thread
    assert env.ctx.work_ready.is_set()
    worker = Worker(env.ctx)
    assert worker.run_once() is True
    assert env.ctx.store.get_submission(sub.id).status == "review"
    assert worker.run_once() is False


def test_purge_drops_sealed_data_after_retention(env):
    sub = _submit(env)
    reject(env.ctx, principal=env.analyst, submission_id=sub.id, reason="test data")
    env.ctx.retention_days = 0
    assert purge(env.ctx) == 1
    purged = env.ctx.store.get_submission(sub.id)
    assert purged.sealed is None and purged.sealed_report is None and purged.purged
    with pytest.raises(Missing, match="purged"):
        open_payload(env.ctx, purged)


def _cli(*args):
    return subprocess.run([sys.executable, "-m", "hub", *args], capture_output=True, text=True, cwd=ROOT)


def test_verify_and_audit_verify_detect_tampering(env):
    sub = _submit(env)
    _release_all(env, sub)
    approve(env.ctx, principal=env.analyst, submission_id=sub.id)
    d = str(env.keys.data_dir)
    assert _cli("verify", "--data-dir", d).returncode == 0
    assert _cli("audit", "verify", "--data-dir", d).returncode == 0
    engine = env.ctx.store.engine
    with engine.begin() as conn:  # someone edits a published object in the database
        row = conn.execute(sql_text("SELECT id, body FROM objects WHERE object_type = 'malware'")).first()
        conn.execute(sql_text("UPDATE objects SET body = :b WHERE id = :i"),
                     {"b": row.body.replace('"malware"', '"malware" ', 1).replace('"name":"', '"name":"X', 1),
                      "i": row.id})
    bad = _cli("verify", "--data-dir", d)
    assert bad.returncode == 3 and "differs from what was signed" in bad.stdout
    with engine.begin() as conn:  # ... and rewrites history
        conn.execute(sql_text("UPDATE audit_log SET actor = 'someone-else' WHERE seq = 2"))
    broken = _cli("audit", "verify", "--data-dir", d)
    assert broken.returncode == 3 and "entry 2" in broken.stdout
    with engine.begin() as conn:
        conn.execute(sql_text("UPDATE audit_log SET actor = (SELECT actor FROM audit_log WHERE seq = 1) WHERE seq = 2"))
        conn.execute(sql_text("DELETE FROM audit_log WHERE seq = 3"))
    assert _cli("audit", "verify", "--data-dir", d).returncode == 3


def _clean_bundle() -> dict:
    """The demo without indicators and infrastructure: nothing for an analyst to release."""
    bundle = demo("submission.json")
    keep = {"marking-definition", "identity", "malware", "attack-pattern", "vulnerability"}
    objects = [o for o in bundle["objects"] if o["type"] in keep]
    ids = {o["id"] for o in objects}
    objects += [o for o in bundle["objects"] if o["type"] == "relationship"
                and o["source_ref"] in ids and o["target_ref"] in ids]
    return {**bundle, "objects": objects}


def test_auto_publish_only_when_clean_and_covered(env):
    env.ctx.store.set_auto_publish("csirt-a", True)
    clean = _submit(env, bundle=_clean_bundle())
    assert (clean.status, clean.needs_review) == ("published", False)
    assert env.ctx.store.list_audit()[-1].action == "auto-publish"
    uncovered = _submit(env, ref="CASE-NONE", bundle=_clean_bundle())
    assert uncovered.status == "review" and "not auto-published" in uncovered.message
    held = _submit(env)  # indicators: DI-17 holds need an analyst
    assert held.status == "review" and held.needs_review
    env.ctx.store.set_auto_publish("csirt-a", False)
    assert _submit(env, bundle=_clean_bundle()).status == "review"


def test_quickstart_sets_up_a_reviewed_hub(tmp_path):
    out = _cli("quickstart", "--data-dir", str(tmp_path / "qs"), "--no-serve", "--port", "18999")
    assert out.returncode == 0, out.stderr
    for url in ("http://127.0.0.1:18999/review/", "http://127.0.0.1:18999/taxii2/", "/api/openapi.json"):
        assert url in out.stdout
    store = DataDir(tmp_path / "qs").open_store()
    states = sorted(s.status for s in store.list_submissions(SubmissionFilter()))
    assert states == ["published", "review"]
    assert _cli("verify", "--data-dir", str(tmp_path / "qs")).returncode == 0
    again = _cli("quickstart", "--data-dir", str(tmp_path / "qs"), "--no-serve")
    assert again.returncode == 0 and "reusing" in again.stderr
    assert len(store.list_submissions(SubmissionFilter())) == 2  # nothing set up twice


def test_cli_and_api_auto_publish_share_one_rule(env):
    """`hub auto-publish` runs the API's service: CSIRTs only, unknown organisations refused,
    the change and its audit entry written together."""
    assert hub_cli(["auto-publish", "--org", "peer-b", "on", "--data-dir", str(env.data.path)]) == 2
    assert env.ctx.store.get_org("peer-b").auto_publish is False
    assert hub_cli(["auto-publish", "--org", "nobody", "on", "--data-dir", str(env.data.path)]) == 2
    assert hub_cli(["auto-publish", "--org", "csirt-a", "on", "--data-dir", str(env.data.path)]) == 0
    assert env.ctx.store.get_org("csirt-a").auto_publish is True
    last = env.ctx.store.list_audit()[-1]
    assert (last.actor, last.action, last.subject) == ("cli", "auto-publish", "csirt-a")


def test_quickstart_refuses_a_busy_port_before_creating_or_printing_anything(tmp_path):
    import socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        out = _cli("quickstart", "--data-dir", str(tmp_path / "qs"), "--port", str(port))
    assert out.returncode == 2 and out.stdout == ""
    assert f"port {port} on 127.0.0.1 is in use" in out.stderr and "--port" in out.stderr
    assert "Traceback" not in out.stderr and len(out.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "qs").exists()
    assert _cli("quickstart", "--data-dir", str(tmp_path / "qs"), "--host", "no such host!").returncode == 2
    helptext = _cli("quickstart", "--help").stdout
    assert "--host" in helptext and "--port" in helptext and "in use" in helptext


def test_a_second_quickstart_shows_the_queue_as_it_is(tmp_path):
    from hub.services.review import release_all_holds

    first = _cli("quickstart", "--data-dir", str(tmp_path / "qs"), "--no-serve")
    assert first.returncode == 0 and "1 waiting, 1 published" in first.stdout
    data = DataDir(tmp_path / "qs")
    store = data.open_store()
    ctx = HubContext.from_datadir(data, store)
    state = json.loads((tmp_path / "qs" / "quickstart-keys.json").read_text())
    assert f"/review/submissions/{state['waiting']}" in first.stdout
    key = state["keys"]["analyst"]
    analyst = store.authenticate(key["key_id"], key["key"].split(".", 1)[1])
    waiting = store.get_submission(state["waiting"])
    if waiting.needs_review:
        release_all_holds(ctx, principal=analyst, submission_id=waiting.id,
                                 justification="demo: reviewed by the analyst")
    approve(ctx, principal=analyst, submission_id=waiting.id)
    again = _cli("quickstart", "--data-dir", str(tmp_path / "qs"), "--no-serve")
    assert again.returncode == 0 and "review queue:                   empty (2 published)" in again.stdout
    assert f"/review/submissions/{state['waiting']}" not in again.stdout


def test_queue_search_order_and_bulk_actions_on_both_databases(env):
    """The store's queue filters (reference part in any case, wildcards literal, ids, oldest
    first) and the bulk review services, on SQLite and PostgreSQL."""
    from hub.services import queue
    from hub.services.review import release_all_holds, withhold_held

    first, second = _submit(env, ref="Case-Q_1"), _submit(env, ref="case-q_2")
    for ref in ("Case-Q_1", "case-q_2"):
        assert hub_cli(["agreement", "add", "--org", "csirt-a", "--victim-ref", ref, "--signed-on", "2025-01-01",
                        "--data-dir", str(env.data.path)]) == 0
    _submit(env, ref="CASEXQ")
    store = env.ctx.store
    found = store.list_submissions(SubmissionFilter(victim_ref="CASE-Q_", oldest_first=True))
    assert [s.id for s in found] == [first.id, second.id]  # "_" is a character, not a wildcard
    assert [s.id for s in store.list_submissions(SubmissionFilter(victim_ref="case-q"))] == [second.id, first.id]
    assert store.list_submissions(SubmissionFilter(victim_ref="%")) == []
    assert [s.id for s in store.list_submissions(SubmissionFilter(ids=(second.id,)))] == [second.id]
    # Release all holds at once; leave the held objects out of the other; both then publish.
    release_all_holds(env.ctx, principal=env.analyst, submission_id=first.id, justification="seen at many members")
    withhold_held(env.ctx, principal=env.analyst, submission_id=second.id, justification="single report, wait")
    for sub in (first, second):
        assert not store.get_submission(sub.id).needs_review
        assert approve(env.ctx, principal=env.analyst, submission_id=sub.id).status == "published"
    actions = [e.action for e in store.list_audit() if e.subject in (first.id, second.id)]
    assert actions.count("release-all-holds") == 1 and actions.count("withhold-held") == 1
    with pytest.raises(Forbidden):
        release_all_holds(env.ctx, principal=env.submitter, submission_id=first.id, justification="x" * 20)
    text = queue.export_csv(env.ctx, principal=env.analyst, flt=SubmissionFilter(victim_ref="case-q"))
    assert text.count("\r\n") == 3 and first.id in text and second.id in text


def test_a_reason_an_older_release_kept_in_clear_is_sealed_when_the_worker_starts(env):
    """Before migration 8 the rejection reason was kept in clear in `message`. After the upgrade
    the worker seals it at its start (the migration has no key): the column then holds only the
    hub's note, the submitter and analysts still read the reason, and the step is audited."""
    sub = _submit(env)
    store, reason = env.ctx.store, "重複: KRGN-FILESV07 の件 (soc@kurogane-seimitsu.example)"
    with store.engine.begin() as conn:  # the database as the older release left it
        conn.execute(sql_text("ALTER TABLE submissions DROP COLUMN sealed_reason"))
        conn.execute(sql_text("DELETE FROM schema_version WHERE version >= 8"))
        conn.execute(sql_text("UPDATE submissions SET status = 'rejected', message = :m WHERE id = :i"),
                     {"m": reason, "i": sub.id})
    store.migrate()
    assert store.get_submission(sub.id).message == reason  # migrated, not yet sealed
    Worker(env.ctx).run_once()
    after = store.get_submission(sub.id)
    assert after.message == REJECTED_NOTE and after.sealed_reason is not None
    assert reason.encode() not in after.sealed_reason
    assert shown_message(env.ctx, after) == reason
    assert describe(env.ctx, after)["message"] == reason
    assert [e.subject for e in store.list_audit() if e.action == "seal-reason"] == [sub.id]
    Worker(env.ctx).run_once()  # once only
    assert [e.subject for e in store.list_audit() if e.action == "seal-reason"] == [sub.id]

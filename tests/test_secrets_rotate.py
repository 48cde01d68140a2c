"""`hub secrets rotate` re-encrypts every sealed blob under a new data key, all or nothing, and
an interrupted rotation is finished by running it again (SQLite and PostgreSQL)."""
from __future__ import annotations

import os

import pytest

from hub.context import HubContext
from hub.crypto import SealError, Sealer, read_key_file
from hub.datadir import DataDir
from hub.services.maintenance import rotate
from hub.services.permissions import cli_operator
from hub.services.profiles import add_profile
from hub.services.review import reject
from hub.services.sealed import open_payload, open_private_report, shown_message
from hub.services.submissions import submit
from hub.store.base import SubmissionFilter
from hub.worker import Worker
from review_fixtures import demo, hub, setup_hub
from taxii_fixtures import pg_database


REASON = "duplicate of CASE-7 / 重複"


@pytest.fixture(params=["sqlite", "postgresql"])
def hubdir(request, tmp_path):
    if request.param == "sqlite":
        yield _filled(setup_hub(tmp_path / "hub"))
        return
    with pg_database() as url:
        yield _filled(setup_hub(tmp_path / "hub", url))


def _filled(keys) -> DataDir:
    data = DataDir(keys.data_dir)
    ctx = HubContext.from_datadir(data)
    submitter = ctx.store.authenticate(keys.submitter["key_id"], keys.submitter["key"].split(".", 1)[1])
    for _ in range(3):
        submit(ctx, principal=submitter, body={"bundle": demo("submission.json"), "victim_profile": demo("profile.json"),
                                "victim_ref": "CASE-1"})
    Worker(ctx).drain()  # sanitised, so private reports are sealed too
    analyst = ctx.store.authenticate(keys.analyst["key_id"], keys.analyst["key"].split(".", 1)[1])
    first = ctx.store.list_submissions(SubmissionFilter(oldest_first=True), 1)[0]
    reject(ctx, principal=analyst, submission_id=first.id, reason=REASON)  # a sealed reason too
    add_profile(ctx, principal=submitter, name="yamabuki", profile=demo("profile.json"), default=True,
                victim_ref="CASE-1")
    ctx.store.close()
    return data


def _blobs(store):
    for sub in store.list_submissions(SubmissionFilter(), 1000):
        full = store.get_submission(sub.id)
        yield full.sealed, f"submission:{full.id}"
        yield full.sealed_report, f"report:{full.id}"
        if full.sealed_reason is not None:
            yield full.sealed_reason, f"reason:{full.id}"
    for org in ("csirt-a",):
        for p in store.list_profiles(org):
            yield p.sealed, f"profile:{p.id}"


def test_rotation_reseals_everything_and_retires_the_old_key(hubdir):
    old = Sealer(read_key_file(hubdir.secrets / "data.key"))
    result = hub("secrets", "rotate", data_dir=hubdir.path)
    assert result["resealed"] == 3 * 2 + 1 + 1 and result["resumed"] is False
    new = Sealer(read_key_file(hubdir.secrets / "data.key"))
    assert new.fingerprint != old.fingerprint
    assert not (hubdir.secrets / "data.key.new").exists()
    assert oct(os.stat(hubdir.secrets / "data.key").st_mode & 0o777) == "0o600"
    store = hubdir.open_store()
    for blob, aad in _blobs(store):
        new.open(blob, aad)
        with pytest.raises(SealError):
            old.open(blob, aad)
    ctx = HubContext.from_datadir(hubdir, store)
    sub = store.list_submissions(SubmissionFilter(), 1)[0]
    assert open_payload(ctx, store.get_submission(sub.id))["profile"] == demo("profile.json")
    assert open_private_report(ctx, store.get_submission(sub.id))["entries"]
    rejected = store.list_submissions(SubmissionFilter(status="rejected"), 1)[0]
    assert shown_message(ctx, rejected) == REASON
    assert store.list_audit()[-1].action == "secrets-rotate"


def test_a_failure_inside_the_transaction_changes_nothing(hubdir):
    store = hubdir.open_store()
    before = [blob for blob, _ in _blobs(store)]
    calls = {"n": 0}

    def failing(blob, aad):
        calls["n"] += 1
        if calls["n"] == 4:
            raise RuntimeError("disk full")
        return b"HS1" + b"x" * 40

    with pytest.raises(RuntimeError):
        store.reseal_all(failing)
    assert [blob for blob, _ in _blobs(store)] == before


def test_an_interrupted_rotation_is_finished_by_running_it_again(hubdir):
    store = hubdir.open_store()
    old_key = read_key_file(hubdir.secrets / "data.key")
    # Interrupted after the database transaction, before data.key was replaced.
    new_key = os.urandom(32)
    fd = os.open(hubdir.secrets / "data.key.new", os.O_WRONLY | os.O_CREAT, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(new_key.hex())
    reader, writer = Sealer(new_key, (old_key,)), Sealer(new_key)
    store.reseal_all(lambda blob, aad: writer.seal(reader.open(blob, aad), aad))
    # Meanwhile the hub still reads everything (it opens with both keys) ...
    ctx = HubContext.from_datadir(hubdir, store)
    for blob, aad in _blobs(store):
        ctx.sealer.open(blob, aad)
    # ... and the next run finishes with the same new key.
    result = rotate(hubdir, store, principal=cli_operator())
    assert result["resumed"] is True
    assert read_key_file(hubdir.secrets / "data.key") == new_key
    for blob, aad in _blobs(store):
        Sealer(new_key).open(blob, aad)

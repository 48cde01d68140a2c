"""Review-view sessions live in the store (issue 13): signing out, revoking the key, `hub
sessions revoke` and the idle timeout end a session at once, a saved cookie included; failed
sign-ins are throttled per address and per key id with the count in the database, so two
apps (two `hub serve` processes) over one store share it. Store contract on SQLite and PostgreSQL."""
from __future__ import annotations

import json
import re

import pytest

from hub.app import create_app
from hub.context import HubContext
from hub.datadir import DataDir
from hub.services import accounts, sessions
from hub.services.permissions import cli_operator
from hub.store import open_store
from hub.store.base import WebSession
from review_fixtures import setup_hub
from taxii_fixtures import pg_database

SECRET_KEY = "test-session-key-0123456789abcdef"


# -- the store contract ---------------------------------------------------------------------------

@pytest.fixture(params=["sqlite", "postgresql"])
def store(request, tmp_path):
    if request.param == "postgresql":
        with pg_database() as url:
            s = open_store(url)
            s.migrate()
            yield s
            s.close()
    else:
        s = open_store(f"sqlite:///{tmp_path / 'hub.sqlite3'}")
        s.migrate()
        yield s
        s.close()


def test_store_sessions_contract(store):
    a, b = WebSession("a" * 64, "hk_a", 1, 1), WebSession("b" * 64, "hk_b", 2, 2)
    store.add_session(a)
    store.add_session(b)
    assert store.get_session("a" * 64) == a and store.get_session("c" * 64) is None
    store.touch_session("a" * 64, 50)
    assert store.get_session("a" * 64).last_seen == 50
    assert [s.id for s in store.list_sessions()] == ["b" * 64, "a" * 64]  # newest first
    assert store.delete_sessions() == 0 and len(store.list_sessions()) == 2  # nothing by omission
    assert store.delete_sessions(idle_before=10) == 1 and store.get_session("b" * 64) is None
    assert store.delete_sessions(key_id="hk_a") == 1 and store.list_sessions() == []


def test_store_signin_failures_count_within_a_window_then_restart(store):
    bucket = "f" * 64
    assert store.signin_failures(bucket) == (0, 0)
    assert store.count_signin_failure(bucket, 100, 50) == (1, 100)
    assert store.count_signin_failure(bucket, 120, 50) == (2, 100)
    assert store.count_signin_failure(bucket, 150, 50) == (1, 150)  # the window is over
    assert store.signin_failures(bucket) == (1, 150)
    store.clear_signin_failures(bucket)
    assert store.signin_failures(bucket) == (0, 0)


# -- through the review view -------------------------------------------------------------------

@pytest.fixture(scope="module")
def keys(tmp_path_factory):
    return setup_hub(tmp_path_factory.mktemp("sessions") / "hubdata")


@pytest.fixture(scope="module")
def ctx(keys):
    return HubContext.from_datadir(DataDir(keys.data_dir))


def make_app(ctx, **policy):
    return create_app(ctx.store, ctx=ctx, test_config={
        "SECRET_KEY": SECRET_KEY, "TESTING": True, "HUB_SESSION_POLICY": sessions.Policy(**policy)})


def sign_in(app, key: str, address: str = "192.0.2.10"):
    client = app.test_client()
    env = {"REMOTE_ADDR": address}
    token = re.search(r'name="csrf" value="([^"]+)"', client.get("/review/login", environ_base=env).text).group(1)
    return client, client.post("/review/login", data={"csrf": token, "key": key}, environ_base=env)


def csrf_of(client) -> str:
    with client.session_transaction("/review/") as s:
        return s["csrf"]


def cookie_of(client) -> str:
    return client.get_cookie("session", path="/review").value


def test_sign_out_ends_the_session_on_the_server_a_saved_cookie_no_longer_works(ctx, keys):
    app = make_app(ctx)
    client, r = sign_in(app, keys.analyst["key"])
    assert r.status_code == 302 and client.get("/review/").status_code == 200
    saved, token = cookie_of(client), csrf_of(client)
    assert client.post("/review/logout", data={"csrf": token}).status_code == 302
    replay = app.test_client()
    replay.set_cookie("session", saved, path="/review")
    assert replay.get("/review/").status_code == 302  # to the sign-in page
    assert "このセッションは終了しました" in replay.get("/review/login").text
    replay.set_cookie("session", saved, path="/review")
    r = replay.post("/review/submissions/sub_x/reject", data={"csrf": token, "reason": "x"})
    assert r.status_code in (302, 400)  # signed out: never an action


def test_key_revocation_and_hub_sessions_revoke_end_sessions_at_once(ctx, keys):
    app = make_app(ctx)
    key, secret = ctx.store.create_key("hub-operator", "analyst")
    client, _ = sign_in(app, f"{key.key_id}.{secret}")
    other, _ = sign_in(app, keys.admin["key"])
    assert client.get("/review/").status_code == 200 and other.get("/review/").status_code == 200
    operator = cli_operator()
    listed = sessions.list_sessions(ctx.store, principal=operator)["sessions"]
    mine = [s["id"] for s in listed if s["key_id"] == keys.admin["key_id"]]
    assert mine and all(len(s["id"]) == 16 for s in listed)
    assert sessions.revoke(ctx.store, principal=operator, session=mine[0]) == {"ended": 1}
    assert other.get("/review/").status_code == 302
    accounts.revoke_key(ctx.store, principal=operator, key_id=key.key_id)
    assert not [s for s in ctx.store.list_sessions() if s.key_id == key.key_id]
    assert client.get("/review/").status_code == 302


def test_idle_timeout_ends_a_session(ctx, keys):
    app = make_app(ctx, idle=1)
    client, _ = sign_in(app, keys.analyst["key"])
    assert client.get("/review/").status_code == 200
    sid = [s for s in ctx.store.list_sessions() if s.key_id == keys.analyst["key_id"]][0]
    ctx.store.touch_session(sid.id, sid.last_seen - 5_000_000)  # five seconds without a request
    assert client.get("/review/").status_code == 302
    assert ctx.store.get_session(sid.id) is None


def test_sign_in_is_throttled_per_address_across_processes_with_retry_after(ctx, keys):
    first, second = make_app(ctx, limit=3, window=600), make_app(ctx, limit=3, window=600)
    for app in (first, second, first):  # two processes over one store share the count
        _, r = sign_in(app, "hk_0000000000000000.wrong", address="198.51.100.9")
        assert r.status_code == 401
    _, r = sign_in(second, keys.analyst["key"], address="198.51.100.9")  # even the right key now
    assert r.status_code == 429 and 0 < int(r.headers["Retry-After"]) <= 600
    assert "Too many" in r.text or "多すぎます" in r.text
    _, r = sign_in(second, keys.analyst["key"], address="198.51.100.10")  # another address: fine
    assert r.status_code == 302


def test_sign_in_is_throttled_per_key_id_from_any_address(ctx, keys):
    app = make_app(ctx, limit=3, window=600)
    target = keys.admin["key_id"]
    for n in range(3):
        _, r = sign_in(app, f"{target}.wrong-secret-{n}", address=f"203.0.113.{n + 1}")
        assert r.status_code == 401
    _, r = sign_in(app, keys.admin["key"], address="203.0.113.50")
    assert r.status_code == 429 and int(r.headers["Retry-After"]) > 0
    _, r = sign_in(app, keys.analyst["key"], address="203.0.113.51")  # other keys are not affected
    assert r.status_code == 302


def test_hub_sessions_cli_lists_and_revokes(ctx, keys):
    from review_fixtures import hub

    app = make_app(ctx)
    client, _ = sign_in(app, keys.analyst["key"], address="192.0.2.77")
    listed = hub("sessions", "list", data_dir=keys.data_dir)["sessions"]
    assert keys.analyst["key_id"] in [s["key_id"] for s in listed]
    assert hub("sessions", "revoke", "--key", keys.analyst["key_id"], data_dir=keys.data_dir)["ended"] >= 1
    assert client.get("/review/").status_code == 302


def test_sign_ins_are_audited_with_failure_counts_per_key_and_no_secret(ctx, keys):
    """Issue 12 item 5: each sign-in and each failed one leaves an audit entry: a failure under
    the key id it named (with the count in the window) when that key exists, else as an unknown
    key; never the secret tried, never an unknown key id (that is input)."""
    app = make_app(ctx, limit=50, window=600)
    store = ctx.store
    before = store.audit_head().seq
    target = keys.analyst["key_id"]
    for n in range(2):
        _, r = sign_in(app, f"{target}.wrong-secret-{n}", address="192.0.2.60")
        assert r.status_code == 401
    _, r = sign_in(app, "hk_nosuchkeyid00000.wrong-secret-x", address="192.0.2.61")
    assert r.status_code == 401
    _, r = sign_in(app, keys.analyst["key"], address="192.0.2.62")
    assert r.status_code == 302
    entries = store.list_audit(before)
    assert [(e.action, e.subject) for e in entries] == [
        ("sign-in-failed", target), ("sign-in-failed", target), ("sign-in-failed", "unknown-key"),
        ("sign-in", target)]
    assert [json.loads(e.details).get("failures_in_window") for e in entries[:3]] == [1, 2, 1]
    text = " ".join(f"{e.actor} {e.subject} {e.details}" for e in entries)
    assert "wrong-secret" not in text and "nosuchkeyid" not in text and keys.analyst["key"] not in text

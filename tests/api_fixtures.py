"""A hub for the API tests: set up through the CLI (review_fixtures.setup_hub) on SQLite or
PostgreSQL, served by the Flask test client over create_app (fast) and, for the end-to-end
slice, by a real `hub serve` (taxii_fixtures.Server)."""
from __future__ import annotations

import base64
import json
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from review_fixtures import Keys, demo, setup_hub
from taxii_fixtures import hub, pg_database

from flask.testing import FlaskClient

from hub.app import create_app
from hub.context import HubContext
from hub.datadir import DataDir
from hub.worker import Worker


class DrainingClient(FlaskClient):
    """The test client, plus the worker: when a submission was queued (which woke the worker),
    the queue is drained here, between requests, so tests over the test client see the worker's
    outcome without sleeping. Real servers (`hub serve`) run the worker thread."""

    def open(self, *args, **kwargs):
        self._drain()
        response = super().open(*args, **kwargs)
        self._drain()
        return response

    def _drain(self) -> None:
        ctx = self.application.extensions.get("hub_test_ctx")
        if ctx is not None and ctx.work_ready.is_set():
            ctx.work_ready.clear()
            Worker(ctx).drain()


@dataclass
class ApiHub:
    backend: str
    keys: Keys
    data: DataDir
    store: object
    ctx: HubContext
    app: object
    revoked: dict

    @property
    def client(self):
        return self.app.test_client()


@contextmanager
def api_hub(tmp: Path, backend: str):
    """A hub with the review_fixtures keys plus a revoked csirt-a submitter key."""
    with (pg_database() if backend == "postgresql" else _nothing()) as url:
        keys = setup_hub(tmp, url)
        revoked = hub("key", "create", "--org", "csirt-a", "--role", "submitter", data_dir=tmp)
        hub("key", "revoke", revoked["key_id"], data_dir=tmp)
        data = DataDir(tmp)
        store = data.open_store()
        ctx = HubContext.from_datadir(data, store)
        app = create_app(store, ctx=ctx, test_config={"SECRET_KEY": b"test", "RATE_LIMIT_PER_MINUTE": 0})
        app.test_client_class = DrainingClient
        app.extensions["hub_test_ctx"] = ctx
        try:
            yield ApiHub(backend, keys, data, store, ctx, app, revoked)
        finally:
            store.close()


@contextmanager
def _nothing():
    yield None


def basic(key: dict | None) -> dict:
    """Authorization header for a key (HTTP Basic: key id, whole key); {} for no key."""
    if key is None:
        return {}
    token = base64.b64encode(f"{key['key_id']}:{key['key']}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


def bearer(key: dict) -> dict:
    return {"Authorization": f"Bearer {key['key']}"}


def demo_submission(**extra) -> dict:
    body = {"bundle": demo("submission.json"), "victim_profile": demo("profile.json"), "tlp": "green",
            "victim_ref": "CASE-1"}
    body.update(extra)
    return {k: v for k, v in body.items() if v is not None}


def release_holds(client, analyst: dict, sid: str) -> dict:
    """Release every open hold of a draft (as an analyst would after checking each)."""
    view = client.get(f"/api/v1/submissions/{sid}", headers=basic(analyst)).get_json()
    for hold in view["report"]["holds"]:
        if hold.get("released"):
            continue
        r = client.post(f"/api/v1/submissions/{sid}/holds/release", headers=basic(analyst),
                        json={"object": hold["object"], "justification": "seen in public reporting of this campaign"})
        assert r.status_code == 200, r.get_json()
        view = r.get_json()
    assert view["needs_review"] is False
    return view


def as_json_text(value) -> str:
    return json.dumps(value, ensure_ascii=False)

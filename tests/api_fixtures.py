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

from hub.app import create_app
from hub.context import INLINE_LIMIT_BYTES, HubContext
from hub.datadir import DataDir

# `hub serve` on this data directory sends anything larger to the background worker (the demo
# bundle is ~14 kB); the test-client app keeps the default limit, so it sanitises inline.
SERVE_INLINE_LIMIT = 4096


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
        config = data.config()
        data.write_config({**config, "inline_limit_bytes": SERVE_INLINE_LIMIT})
        store = data.open_store()
        ctx = HubContext.from_datadir(data, store)
        ctx.inline_limit = INLINE_LIMIT_BYTES
        app = create_app(store, ctx=ctx, test_config={"SECRET_KEY": b"test", "RATE_LIMIT_PER_MINUTE": 0})
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

"""Feed commands: `hub publish` (operator bulk path), `hub serve` (production WSGI server) and
`hub poll` (the peer side: an incremental pull with taxii2-client)."""
from __future__ import annotations

import hashlib
import hmac
import json
import os
import sys
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path

import waitress
from taxii2client.v21 import Collection, as_pages

from . import ratelimit
from .app import create_app
from .context import HubContext
from .services import bulk_publish
from .services.permissions import cli_operator
from .worker import Worker

BATCH = bulk_publish.BATCH


def _batch() -> int:
    """BATCH, or $HUB_PUBLISH_BATCH when set to a positive number (tests/test_crash.py kills
    `hub publish` between small batches)."""
    value = os.environ.get("HUB_PUBLISH_BATCH", "")
    return int(value) if value.isdigit() and int(value) > 0 else BATCH


def _progress(done: int, total: int, started: float) -> None:
    if not sys.stderr.isatty():
        return
    rate = done / max(time.perf_counter() - started, 1e-9)
    width = 30
    filled = int(width * done / total) if total else width
    sys.stderr.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total} objects, {rate:,.0f}/s")
    if done >= total:
        sys.stderr.write("\n")
    sys.stderr.flush()


def publish(data, store, raw: bytes, collection: str) -> dict:
    """`hub publish`: the bulk-publication service as the CLI operator, with a progress bar."""
    ctx = HubContext.from_datadir(data, store)
    started = time.perf_counter()
    summary = bulk_publish.publish_bundle(ctx, principal=cli_operator(data.config().get("operator_org")
                                                                      or cli_operator().org),
                                          collection=collection, raw=raw, batch=_batch(),
                                          progress=lambda done, total: _progress(done, total, started))
    seconds = time.perf_counter() - started
    return {**summary, "seconds": round(seconds, 3),
            "objects_per_second": round(summary["objects"] / seconds) if seconds else None}


def serve(data, host: str, port: int, workers: int, rate_limit: int | None = None) -> int:
    """Serve the hub with waitress (a production WSGI server), `workers` threads, plus the
    background worker that sanitises large submissions. `rate_limit`: requests per minute per
    API key (None: config.json's `rate_limit_per_minute`, else 600; 0: no limit)."""
    data.check_secret_permissions()  # refuse to serve with secrets others can read
    limits = ratelimit.settings(data.config(), rate_limit)
    store = data.open_store()
    ctx = HubContext.from_datadir(data, store)
    api_root = data.config().get("api_root", "hub")
    app = create_app(store, api_root=api_root, ctx=ctx,
                     test_config={"SECRET_KEY": session_key(ctx.id_secret), **limits})
    worker = Worker(ctx, stale_seconds=int(data.config().get("worker_stale_seconds", 900)))
    worker.start()
    print(f"hub: serving TAXII 2.1 at http://{host}:{port}/taxii2/ (API root /{api_root}/), "
          f"submissions at /api/v1/, review at /review/", file=sys.stderr, flush=True)
    # Bodies far beyond what the app accepts are refused by waitress before it buffers them
    # (plain-text 413); up to twice the limit the app answers with its JSON 413 message.
    waitress.serve(app, host=host, port=port, threads=workers, ident="hub", _quiet=True,
                   max_request_body_size=2 * app.config["MAX_CONTENT_LENGTH"] + 1024 * 1024)
    return 0


def session_key(id_secret: bytes) -> bytes:
    """The web view's session-signing key, derived from the data directory's secret so that
    every worker process of one hub accepts the same sessions."""
    return hmac.new(id_secret, b"hub web session key", hashlib.sha256).digest()


def poll(url: str, collection_id: str, user: str, password: str, out_dir: str | None,
         state_file: str | None, page_size: int = 1000) -> dict:
    """Pull what is new since the last run (added_after = the last X-TAXII-Date-Added-Last seen)."""
    state_path = Path(state_file) if state_file else (Path(out_dir) / "poll-state.json" if out_dir
                                                      else Path("hub-poll-state.json"))
    state = json.loads(state_path.read_text()) if state_path.is_file() else {}
    key = f"{url.rstrip('/')}/collections/{collection_id}/"
    added_after = state.get(key)
    coll = Collection(key, user=user, password=password)
    last_seen = {"value": added_after}

    def remember(resp, *args, **kwargs):
        header = resp.headers.get("X-TAXII-Date-Added-Last")
        if header and (last_seen["value"] is None or header > last_seen["value"]):
            last_seen["value"] = header

    coll._conn.session.hooks["response"].append(remember)
    if out_dir:
        Path(out_dir).mkdir(parents=True, exist_ok=True)
    count = pages = 0
    filters = {"added_after": added_after} if added_after else {}
    for envelope in as_pages(coll.get_objects, per_request=page_size, **filters):
        objects = envelope.get("objects", [])
        if not objects:
            continue
        pages += 1
        count += len(objects)
        if out_dir:
            name = f"bundle-{datetime.now(timezone.utc).strftime('%Y%m%dT%H%M%S%f')}-{pages:05d}.json"
            bundle = {"type": "bundle", "id": f"bundle--{_uuid()}", "objects": objects}
            (Path(out_dir) / name).write_text(json.dumps(bundle), encoding="utf-8")
        else:
            for o in objects:
                sys.stdout.write(json.dumps(o, ensure_ascii=False) + "\n")
        # Remember progress after every page: an interrupted poll resumes, it does not restart.
        if last_seen["value"]:
            state[key] = last_seen["value"]
            state_path.parent.mkdir(parents=True, exist_ok=True)
            state_path.write_text(json.dumps(state, indent=2))
    return {"objects": count, "pages": pages, "added_after": added_after, "next_added_after": last_seen["value"],
            "state_file": str(state_path)}


def _uuid() -> str:
    return str(uuid.uuid4())

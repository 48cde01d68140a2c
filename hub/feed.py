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
from urllib.parse import urlsplit

from taxii2client.v21 import Collection, as_pages

from . import ratelimit, runner
from .app import create_app
from .context import HubContext
from .errors import Invalid
from .services import bulk_publish, sessions
from .services.permissions import cli_operator

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
    store = summary["store_seconds"]
    # objects_per_second: the signed store phase, as before the checks were added; the checks
    # (leak gate, strict STIX) have their own figure.
    return {**summary, "seconds": round(seconds, 3),
            "objects_per_second": round(summary["objects"] / store) if store else None,
            "checked_per_second": round(summary["objects"] / summary["check_seconds"])
            if summary["check_seconds"] else None}


def serve(data, host: str, port: int, workers: int, rate_limit: int | None = None, *,
          processes: int = 1, worker_processes: int = 1,
          public_url: str | None = None, secure_cookies: bool | None = None) -> int:
    """Serve the hub with waitress: `processes` web processes sharing one listening socket, each
    with `workers` request threads, and `worker_processes` sanitising worker processes beside them
    (0: web only, `hub serve --no-worker`; run `hub worker` elsewhere). `rate_limit`: requests per
    minute per API key (None: config.json's `rate_limit_per_minute`, else 600; 0: no limit)."""
    os.umask(0o077)  # every file the hub creates from here on (WAL, logs, exports) is private
    data.check_permissions()  # refuse to serve with a data directory (or secrets) others can read
    limits = ratelimit.settings(data.config(), rate_limit)
    if processes < 1 or worker_processes < 0:
        raise Invalid("--processes must be at least 1 and --worker-processes at least 0")
    ratelimit.check_processes(limits, processes)
    ratelimit.check_reachable(limits)
    runner.worker_options(data.config())  # a bad setting stops `hub serve`, not only its workers
    data.open_store().close()  # reachable and migrated once, before the processes start
    api_root = data.config().get("api_root", "hub")
    public = public_url_of(public_url or data.config().get("public_url") or f"http://{host}:{port}")
    secure = public.startswith("https://") if secure_cookies is None else secure_cookies
    policy = session_policy(data)

    def serve_one(sockets=None) -> int:
        store = data.open_store()
        ctx = HubContext.from_datadir(data, store)
        app = create_app(store, api_root=api_root, ctx=ctx,
                         test_config={"SECRET_KEY": session_key(ctx.id_secret), "PUBLIC_URL": public,
                                      "SESSION_COOKIE_SECURE": secure, "HUB_SESSION_POLICY": policy,
                                      **limits,
                                      # one hub's callers in a shared rate-limit storage
                                      "RATE_LIMIT_NAMESPACE": session_key(ctx.id_secret)[:6].hex()})
        print(f"hub: serving TAXII 2.1 at http://{host}:{port}/taxii2/ (API root /{api_root}/), "
              f"submissions at /api/v1/, review at /review/ (pid {os.getpid()})", file=sys.stderr, flush=True)
        runner.waitress_serve(app, threads=workers, sockets=sockets, host=host, port=port)
        return 0

    sanitisers = runner.WorkerProcesses(data, worker_processes)
    try:
        if processes == 1:
            runner.exit_on_sigterm()  # waitress closes, then the worker processes are stopped
            sanitisers.start()
            return serve_one()
        # started once the web processes are forked (their watchers are threads)
        return runner.serve_processes(host, port, processes, serve_one, then=sanitisers.start)
    finally:
        sanitisers.stop()


def public_url_of(value: str) -> str:
    """An http(s) URL with a host and no query or fragment (exit 2 otherwise)."""
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.query or parts.fragment \
            or not value.isprintable() or any(c.isspace() for c in value):
        raise Invalid("--public-url must be an http:// or https:// URL with a host, e.g. https://hub.example.jp")
    return value.rstrip("/")


def session_policy(data) -> sessions.Policy:
    """The review view's idle timeout from config.json (`session_idle_minutes`, default 30)."""
    minutes = data.config().get("session_idle_minutes", sessions.IDLE_TIMEOUT // 60)
    if not isinstance(minutes, int) or isinstance(minutes, bool) or not 1 <= minutes <= 24 * 60:
        raise Invalid("config.json: session_idle_minutes must be a whole number of minutes from 1 to 1440")
    return sessions.Policy(idle=minutes * 60)


def session_key(id_secret: bytes) -> bytes:
    """The web view's session-signing key, derived from the data directory's secret so that
    every worker process of one hub accepts the same sessions."""
    return hmac.new(id_secret, b"hub web session key", hashlib.sha256).digest()


def poll(url: str, collection_id: str, user: str, password: str, out_dir: str | None,
         state_file: str | None, page_size: int = 1000, merge: bool = False) -> dict:
    """Pull what is new since the last run (added_after = the last X-TAXII-Date-Added-Last seen).
    With `merge`, all pages go into one bundle (a MISP import keeps the relationships between
    objects of different pages), and the position is remembered once that bundle is written."""
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

    def save_position():
        if last_seen["value"]:
            state[key] = last_seen["value"]
            state_path.parent.mkdir(parents=True, exist_ok=True)
            state_path.write_text(json.dumps(state, indent=2))

    coll._conn.session.hooks["response"].append(remember)
    if out_dir:
        Path(out_dir).mkdir(parents=True, exist_ok=True)
    count = pages = 0
    merged: dict[str, dict] = {}
    filters = {"added_after": added_after} if added_after else {}
    for envelope in as_pages(coll.get_objects, per_request=page_size, **filters):
        objects = envelope.get("objects", [])
        if not objects:
            continue
        pages += 1
        count += len(objects)
        if merge:
            for o in objects:  # a later version of an object replaces the earlier one
                merged[f"{o.get('id')}|{o.get('modified', '')}"] = o
            continue
        if out_dir:
            _write_bundle(Path(out_dir), f"{pages:05d}", objects)
        else:
            for o in objects:
                sys.stdout.write(json.dumps(o, ensure_ascii=False) + "\n")
        # Remember progress after every page: an interrupted poll resumes, it does not restart.
        save_position()
    bundles = pages if not merge else int(bool(merged))
    if merge and merged:
        if out_dir:
            _write_bundle(Path(out_dir), "merged", list(merged.values()))
        else:
            sys.stdout.write(json.dumps({"type": "bundle", "id": f"bundle--{_uuid()}",
                                         "objects": list(merged.values())}, ensure_ascii=False) + "\n")
    if merge:
        save_position()
    return {"objects": count, "pages": pages, "bundles": bundles, "added_after": added_after,
            "next_added_after": last_seen["value"], "state_file": str(state_path)}


def _write_bundle(out_dir: Path, suffix: str, objects: list) -> None:
    name = f"bundle-{datetime.now(timezone.utc).strftime('%Y%m%dT%H%M%S%f')}-{suffix}.json"
    bundle = {"type": "bundle", "id": f"bundle--{_uuid()}", "objects": objects}
    tmp = out_dir / (name + ".tmp")
    tmp.write_text(json.dumps(bundle), encoding="utf-8")
    tmp.replace(out_dir / name)


def _uuid() -> str:
    return str(uuid.uuid4())

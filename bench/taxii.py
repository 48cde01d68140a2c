"""Benchmark of the TAXII 2.1 feed: the hub next to stock medallion and OpenTAXII, in one run.

Run from the repository root, in the project venv:

    python bench/taxii.py [--sizes 5000,100000,1000000] [--backends sqlite,postgresql]
                          [--no-medallion] [--no-opentaxii] [--quick] [--profile-top 25]

- The hub, on SQLite (a data directory in a temp dir) and on PostgreSQL (a fresh database,
  dropped afterwards), at each N of `--sizes`: `hub publish` of a generated bundle of N small
  STIX 2.1 indicators, timed as a user runs the command (objects/s); then `hub serve --workers 8`
  in a subprocess, measured over real HTTP with Basic auth (key id / key) on one keep-alive
  `requests.Session`: first page (limit=100) p50/p95, an `added_after` page (limit=100,
  added_after = X-TAXII-Date-Added-Last of the middle page of the full poll) p50/p95, and a full
  poll with taxii2-client `as_pages(get_objects, per_request=1000)` in objects/s; then the server
  process's peak RSS (VmHWM), which should stay flat in N.
- Stock medallion 3.0.0 (`medallion.load_app`, memory backend, waitress), N = 2,000 and 5,000:
  first page (limit=10), few repetitions; a size whose request exceeds `--medallion-timeout`
  (or is predicted to, from the previous size and medallion's quadratic paging) is skipped.
- OpenTAXII 0.10.0b1 in its own venv (it needs SQLAlchemy < 2), SQLite, gunicorn, N = 5,000 and
  50,000: ingest (TAXII POST of 1,000-object envelopes), first page and added_after with a bearer
  token and with Basic auth, full poll (bearer). If it cannot be set up, a note says why.

Prints one Markdown table, the ratios the product cares about and the targets (MET / NOT MET).
Product targets, at 1,000,000 objects: first page and added_after p50 <= 5 ms with Basic auth,
full poll >= 50,000 objects/s, `hub publish` >= 20,000 objects/s; first page >= 1000x faster than
medallion at 5,000 objects. Everything runs on 127.0.0.1; servers run in their own process
groups and are always killed, temp dirs removed and PostgreSQL databases dropped.
"""
from __future__ import annotations

import argparse
import base64
import cProfile
import io
import json
import os
import platform
import pstats
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

import requests

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(BENCH))  # bench/ is not a package

import taxii_medallion  # noqa: E402
import taxii_opentaxii  # noqa: E402
from taxii_common import (ACCEPT_TAXII, Latency, ServerProcess, free_port, full_poll, indicator,  # noqa: E402
                          install_signal_handlers, run_command, timed_pages, vm_hwm_mib, write_bundle)

DEFAULT_SIZES = (5_000, 100_000, 1_000_000)
MEDALLION_SIZES = (2_000, 5_000)
OPENTAXII_SIZES = (5_000, 50_000)
PAGE_LIMIT = 100            # first page and added_after page of the hub and OpenTAXII
MEDALLION_LIMIT = 10        # as measured by the product team
POLL_PAGE = 1000            # taxii2-client as_pages(per_request=...)
TARGET_PAGE_MS = 5.0
TARGET_POLL = 50_000
TARGET_PUBLISH = 20_000
TARGET_VS_MEDALLION = 1000
TARGET_N = 1_000_000
PG_ADMIN_DEFAULT = os.environ.get("HUB_BENCH_PG") or os.environ.get("HUB_TEST_PG") \
    or "postgresql://postgres@127.0.0.1:5432/test"
REQUEST_TIMEOUT = 120.0


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


@dataclass
class Row:
    server: str
    backend: str
    n: int
    auth: str
    ingest: float | None = None          # objects/s as the user sees it
    ingest_inner: float | None = None    # hub publish: objects/s the command reports (store phase)
    first: Latency | None = None
    after: Latency | None = None
    poll: float | None = None
    rss_mib: float | None = None
    note: str | None = None
    extra: dict = field(default_factory=dict)


# ---------------------------------------------------------------------------- PostgreSQL
class PgDatabases:
    """Fresh databases on the local PostgreSQL server, each dropped after use."""

    def __init__(self, admin_url: str):
        self.admin_url = admin_url

    def check(self) -> str:
        import psycopg

        with psycopg.connect(self.admin_url, autocommit=True, connect_timeout=5) as conn:
            return "PostgreSQL " + conn.execute("SHOW server_version").fetchone()[0].split()[0]

    def create(self) -> tuple[str, str]:
        import psycopg

        name = "hub_bench_" + uuid.uuid4().hex[:12]
        with psycopg.connect(self.admin_url, autocommit=True, connect_timeout=5) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        base = self.admin_url.replace("postgresql://", "postgresql+psycopg://", 1).rsplit("/", 1)[0]
        return name, f"{base}/{name}"

    def drop(self, name: str) -> None:
        import psycopg

        with psycopg.connect(self.admin_url, autocommit=True, connect_timeout=5) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# ---------------------------------------------------------------------------- the hub
def hub_argv() -> list[str]:
    """The `hub` console script of this venv (what a user runs), else `python -m hub`."""
    script = Path(sys.executable).with_name("hub")
    return [str(script)] if script.exists() else [sys.executable, "-m", "hub"]


def hub_cli(data_dir: Path, *args: str, timeout: float = 300) -> tuple[dict, float]:
    done, seconds = run_command([*hub_argv(), *args, "--data-dir", str(data_dir), "--json"], timeout=timeout,
                                cwd=ROOT, what=f"hub {args[0]}")
    if done.returncode != 0:
        raise RuntimeError(f"hub {' '.join(args[:2])} exited {done.returncode}: {done.stderr.strip()[-500:]}")
    return json.loads(done.stdout), seconds


def measure_feed(row: Row, objects_url: str, collection_url: str, auth, n: int, limit: int, args,
                 server_pid, *, poll: bool = True) -> None:
    """First page, full poll (gives the middle page's date_added), added_after page, peak RSS."""
    with requests.Session() as session:
        session.auth = auth
        row.first, _ = timed_pages(session, objects_url, {"limit": limit}, repeat=args.requests, warmup=10,
                                   expect=min(limit, n), timeout=REQUEST_TIMEOUT)
        if poll:
            count, seconds, last_added = full_poll(collection_url, auth, per_request=POLL_PAGE,
                                                   timeout=REQUEST_TIMEOUT,
                                                   deadline=time.monotonic() + args.poll_timeout)
            # `hub init` publishes the operator's identity into every TLP collection: N + 1.
            if count not in (n, n + 1):
                raise RuntimeError(f"full poll returned {count:,} objects, expected {n:,}")
            row.poll = count / seconds
            row.extra["poll_pages"] = len(last_added)
            row.extra["mid"] = last_added[len(last_added) // 2 - 1] if len(last_added) > 1 else None
        mid = row.extra.get("mid")
        if mid:
            row.after, resp = timed_pages(session, objects_url, {"limit": limit, "added_after": mid},
                                          repeat=args.requests, warmup=10, expect=None, timeout=REQUEST_TIMEOUT)
    pid = server_pid()
    row.rss_mib = vm_hwm_mib(pid) if pid else None


def run_hub(backend: str, backend_label: str, n: int, bundle: Path, workdir: Path, args,
            pg: PgDatabases | None) -> Row:
    row = Row("hub", backend_label, n, "Basic")
    data_dir = workdir / f"hub-{backend}-{n}"
    db_name = None
    server = None
    try:
        init = ["init"]
        if backend == "postgresql":
            db_name, url = pg.create()
            init += ["--database-url", url]
        hub_cli(data_dir, *init)
        hub_cli(data_dir, "org", "add", "bench-peer", "--type", "peer")
        key, _ = hub_cli(data_dir, "key", "create", "--org", "bench-peer", "--role", "consumer")
        log(f"… hub/{backend} {n:,}: hub publish")
        published, seconds = hub_cli(data_dir, "publish", str(bundle), "--collection", "TLP:CLEAR",
                                     timeout=args.publish_timeout)
        if published.get("added") != n:
            raise RuntimeError(f"hub publish added {published.get('added')} of {n:,} objects "
                               f"({published.get('failure_count')} failures)")
        row.ingest = n / seconds
        row.ingest_inner = published.get("objects_per_second")
        row.extra["publish_s"] = seconds
        coll_id = published["collection"]

        port = free_port()
        # --rate-limit 0: a full poll of 1M objects is 1,000 requests from one key in seconds.
        server = ServerProcess([*hub_argv(), "serve", "--data-dir", str(data_dir), "--port", str(port),
                                "--workers", str(args.workers), "--rate-limit", "0"],
                               workdir / f"serve-{backend}-{n}.log", cwd=ROOT)
        server.start()
        base = f"http://127.0.0.1:{port}"
        server.wait_ready(base + "/healthz", timeout=60)
        log(f"… hub/{backend} {n:,}: first page, full poll, added_after")
        coll_url = f"{base}/hub/collections/{coll_id}/"
        measure_feed(row, coll_url + "objects/", coll_url, (key["key_id"], key["key"]), n, PAGE_LIMIT, args,
                     lambda: server.pid if server.alive() else None)
        server.stop()
        server = None
        if args.breakdown and n == max(args.sizes):
            log(f"… hub/{backend} {n:,}: in-process breakdown of a first page")
            row.extra["breakdown"] = breakdown(data_dir, coll_id, key, args, row.extra.get("mid"))
    except Exception as exc:  # noqa: BLE001 - one failed cell must not lose the others
        row.note = f"failed: {exc}"
        if server is not None:
            row.note += f" | server log: {server.log_tail(400)}"
    finally:
        if server is not None:
            server.stop()
        shutil.rmtree(data_dir, ignore_errors=True)
        if db_name:
            try:
                pg.drop(db_name)
            except Exception as exc:  # noqa: BLE001
                log(f"warning: could not drop database {db_name}: {exc}")
    return row


def breakdown(data_dir: Path, coll_id: str, key: dict, args, mid: str | None) -> dict:
    """Where a first page's time goes, measured in this process (no HTTP): the store calls one
    request makes, the JSON assembly, the whole Flask app through its test client, and
    optionally a cProfile of the latter. Medians over `args.requests` calls, in ms."""
    from hub.datadir import DataDir
    from hub.app import create_app
    from hub.store.base import ObjectFilter
    from taxii_server.rawjson import RawEnvelope

    data = DataDir(data_dir)
    store = data.open_store()
    try:
        app = create_app(store, api_root=data.config().get("api_root", "hub"))
        client = app.test_client()
        secret = key["key"][len(key["key_id"]) + 1:]
        token = base64.b64encode(f"{key['key_id']}:{key['key']}".encode()).decode()
        headers = {"Accept": ACCEPT_TAXII, "Authorization": f"Basic {token}"}
        url = f"/hub/collections/{coll_id}/objects/?limit={PAGE_LIMIT}"
        principal = store.authenticate(key["key_id"], secret)
        coll = store.find_collection(coll_id)
        page = store.get_objects(coll_id, ObjectFilter(), PAGE_LIMIT)

        def envelope():
            env = RawEnvelope(more=page.more)
            if page.next:
                env["next"] = page.next
            env["objects"] = page.items
            return app.json.dumps(env)

        def wsgi():
            resp = client.get(url, headers=headers)
            assert resp.status_code == 200, resp.status_code
            return resp.data

        steps = {
            "authenticate (SHA-256 + key lookup)": lambda: store.authenticate(key["key_id"], secret),
            "find_collection": lambda: store.find_collection(coll_id),
            "access (org + grant lookup)": lambda: store.access(principal, coll),
            f"get_objects (limit={PAGE_LIMIT}, SQL page)": lambda: store.get_objects(coll_id, ObjectFilter(), PAGE_LIMIT),
            "envelope JSON (RawJSONProvider)": envelope,
            "whole Flask app, in-process (test client)": wsgi,
        }
        if mid:
            after = ObjectFilter(added_after=datetime.strptime(mid, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=timezone.utc))
            steps[f"get_objects (limit={PAGE_LIMIT}, added_after, SQL page)"] = \
                lambda: store.get_objects(coll_id, after, PAGE_LIMIT)
            steps["whole Flask app, in-process, added_after page"] = \
                lambda: client.get(url + "&added_after=" + mid, headers=headers).data
        out = {}
        for label, fn in steps.items():
            for _ in range(20):
                fn()
            samples = []
            for _ in range(args.requests):
                start = time.perf_counter()
                fn()
                samples.append(time.perf_counter() - start)
            out[label] = Latency(samples)
        if args.profile_top:
            prof = cProfile.Profile()
            prof.enable()
            for _ in range(args.requests):
                wsgi()
            prof.disable()
            buf = io.StringIO()
            stats = pstats.Stats(prof, stream=buf)
            for sort in ("cumulative", "tottime"):
                buf.write(f"\n#### cProfile of {args.requests} in-process first-page requests, by {sort}\n\n```\n")
                stats.sort_stats(sort).print_stats(args.profile_top)
                buf.write("```\n")
            out["_profile"] = buf.getvalue()
        return out
    finally:
        store.close()


# ---------------------------------------------------------------------------- medallion
def run_medallion(sizes: list[int], workdir: Path, args) -> list[Row]:
    rows: list[Row] = []
    previous: tuple[int, float] | None = None
    for n in sizes:
        row = Row("medallion 3.0.0", "memory", n, "Basic (plaintext)")
        rows.append(row)
        if previous and args.medallion_repeat:
            predicted = previous[1] * (n / previous[0]) ** 2  # its paging is O(N^2)
            if predicted > args.medallion_timeout:
                row.note = (f"skipped: first page predicted at ~{predicted:,.0f} s from {previous[0]:,} objects, "
                            f"over --medallion-timeout {args.medallion_timeout:,.0f} s")
                continue
        d = workdir / f"medallion-{n}"
        d.mkdir()
        server = None
        try:
            port = free_port()
            dates = ((datetime(2025, 6, 1, tzinfo=timezone.utc) + timedelta(milliseconds=i))
                     .strftime("%Y-%m-%dT%H:%M:%S.%fZ") for i in range(n))
            taxii_medallion.write_data_file(d / "data.json", (indicator(i) for i in range(n)), dates, port)
            taxii_medallion.write_config(d / "config.json", d / "data.json")
            server = ServerProcess([sys.executable, str(BENCH / "taxii_medallion.py"), str(d / "config.json"),
                                    str(port), str(args.workers)], d / "medallion.log", cwd=d).start()
            base = f"http://127.0.0.1:{port}"
            auth = (taxii_medallion.USER, taxii_medallion.PASSWORD)
            server.wait_ready(base + "/taxii2/", timeout=120, auth=auth, headers={"Accept": ACCEPT_TAXII})
            url = f"{base}/{taxii_medallion.API_ROOT}/collections/{taxii_medallion.COLLECTION_ID}/objects/"
            log(f"… medallion {n:,}: {args.medallion_repeat} first-page request(s), limit={MEDALLION_LIMIT}")
            with requests.Session() as session:
                session.auth = auth
                try:
                    row.first, _ = timed_pages(session, url, {"limit": MEDALLION_LIMIT},
                                               repeat=args.medallion_repeat, warmup=0,
                                               expect=min(MEDALLION_LIMIT, n), timeout=args.medallion_timeout)
                except requests.Timeout:
                    row.note = (f"skipped: a first-page request took over --medallion-timeout "
                                f"{args.medallion_timeout:,.0f} s")
            if row.first:
                previous = (n, statistics.median(row.first.samples))
            row.rss_mib = vm_hwm_mib(server.pid)
        except Exception as exc:  # noqa: BLE001
            row.note = f"failed: {exc}"
        finally:
            if server is not None:
                server.stop()
            shutil.rmtree(d, ignore_errors=True)
    return rows


# ---------------------------------------------------------------------------- OpenTAXII
def run_opentaxii(sizes: list[int], workdir: Path, args) -> tuple[list[Row], list[str]]:
    try:
        bin_dir = taxii_opentaxii.ensure_venv(Path(args.opentaxii_venv), log=log)
    except Exception as exc:  # noqa: BLE001
        return [], [f"OpenTAXII {taxii_opentaxii.VERSION} not measured: {exc}"]
    rows: list[Row] = []
    notes: list[str] = []
    for n in sizes:
        bearer_row = Row(f"OpenTAXII {taxii_opentaxii.VERSION}", "SQLite", n, "Bearer (JWT)")
        basic_row = Row(f"OpenTAXII {taxii_opentaxii.VERSION}", "SQLite", n, "Basic")
        inst = taxii_opentaxii.OpenTaxii(bin_dir, workdir / f"opentaxii-{n}", threads=args.workers)
        try:
            inst.setup()
            inst.start()
            log(f"… OpenTAXII {n:,}: ingest (POST {taxii_opentaxii.POST_BATCH:,}-object envelopes)")
            seconds, stored = inst.ingest(n, timeout=args.publish_timeout)
            if stored != n:
                raise RuntimeError(f"OpenTAXII stored {stored:,} of {n:,} objects")
            bearer_row.ingest = n / seconds
            inst.stop()  # a fresh server process, so its peak RSS is that of serving only
            inst.start()
            coll_url = inst.collection_url
            log(f"… OpenTAXII {n:,}: bearer first page, full poll, added_after")
            measure_feed(bearer_row, coll_url + "objects/", coll_url, inst.bearer(), n, PAGE_LIMIT, args,
                         inst.worker_pid)
            log(f"… OpenTAXII {n:,}: Basic first page, added_after")
            basic_row.extra["mid"] = bearer_row.extra.get("mid")
            measure_feed(basic_row, coll_url + "objects/", coll_url, inst.basic(), n, PAGE_LIMIT, args,
                         inst.worker_pid, poll=False)
        except Exception as exc:  # noqa: BLE001
            msg = f"failed: {exc}"
            if inst.server is not None:
                msg += f" | gunicorn log: {inst.server.log_tail(400)}"
            (basic_row if bearer_row.first else bearer_row).note = msg
        finally:
            inst.stop()
            shutil.rmtree(inst.workdir, ignore_errors=True)
        rows += [bearer_row, basic_row]
    return rows, notes


# ---------------------------------------------------------------------------- reporting
def _num(value: float | None, spec: str = ",.0f") -> str:
    return "—" if value is None else format(value, spec)


def table(rows: list[Row]) -> str:
    lines = ["| server | backend | objects | auth | ingest obj/s | first page p50 ms (p95) "
             "| added_after p50 ms (p95) | full poll obj/s | server max RSS MiB |",
             "|---|---|---:|---|---:|---:|---:|---:|---:|"]
    for r in rows:
        first = r.first.cell() if r.first else ("skipped" if r.note and r.note.startswith("skipped") else "—")
        if r.note and r.note.startswith("failed"):
            first = "failed"
        lines.append(f"| {r.server} | {r.backend} | {r.n:,} | {r.auth} | {_num(r.ingest)} | {first} "
                     f"| {r.after.cell() if r.after else '—'} | {_num(r.poll)} | {_num(r.rss_mib, ',.1f')} |")
    return "\n".join(lines)


def _verdict(ok: bool) -> str:
    return "MET" if ok else "NOT MET"


def _find(rows: list[Row], server: str, backend: str | None, n: int, auth: str | None = None) -> Row | None:
    for r in rows:
        if r.server.startswith(server) and (backend is None or r.backend == backend) and r.n == n \
                and (auth is None or r.auth.startswith(auth)):
            return r
    return None


def _hub_near(rows: list[Row], backend: str, n: int) -> Row | None:
    """The hub row at n, else at the smallest measured size above n (more data: conservative)."""
    hub = sorted((r for r in rows if r.server == "hub" and r.backend == backend and r.first), key=lambda r: r.n)
    exact = [r for r in hub if r.n == n]
    above = [r for r in hub if r.n > n]
    return (exact or above or [None])[0]


def ratios(rows: list[Row], backends: list[str]) -> list[str]:
    out = []
    med = {r.n: r for r in rows if r.server.startswith("medallion")}
    med_row = med.get(5_000) if med.get(5_000) and med[5_000].first else None
    if med_row is None:  # fall back to the largest measured size, said so
        measured = [r for r in med.values() if r.first]
        med_row = max(measured, key=lambda r: r.n) if measured else None
    for backend in backends:
        if med_row is None:
            out.append(f"- Hub ({backend}) vs medallion: not measured.")
            continue
        hub = _find(rows, "hub", backend, med_row.n) or _hub_near(rows, backend, med_row.n)
        if hub is None or hub.first is None:
            out.append(f"- Hub ({backend}) vs medallion: no hub measurement.")
            continue
        ratio = med_row.first.p50_ms / hub.first.p50_ms
        caveat = "" if med_row.n == 5_000 else f" (medallion at {med_row.n:,} only: 5,000 not measured)"
        out.append(f"- First page, hub ({backend}, {hub.n:,} objects, limit={PAGE_LIMIT}) vs medallion "
                   f"({med_row.n:,} objects, limit={MEDALLION_LIMIT}): {hub.first.p50_ms:.2f} ms vs "
                   f"{med_row.first.p50_ms:,.0f} ms p50 = {ratio:,.0f}× faster{caveat} — target ≥ "
                   f"{TARGET_VS_MEDALLION:,}×: {_verdict(ratio >= TARGET_VS_MEDALLION)}.")
    for n in sorted({r.n for r in rows if r.server.startswith("OpenTAXII")}):
        ot_b = _find(rows, "OpenTAXII", None, n, "Bearer")
        ot_basic = _find(rows, "OpenTAXII", None, n, "Basic")
        if ot_b is None or ot_b.first is None:
            out.append(f"- Hub vs OpenTAXII at {n:,}: OpenTAXII not measured ({(ot_b.note if ot_b else '') or 'n/a'}).")
            continue
        for backend in backends:
            hub = _hub_near(rows, backend, n)
            if hub is None:
                continue
            at = f"{hub.n:,}" + ("" if hub.n == n else f" (nearest size ≥ {n:,} measured)")
            parts = [f"first page {ot_b.first.p50_ms / hub.first.p50_ms:,.1f}× vs bearer"]
            if ot_basic and ot_basic.first:
                parts.append(f"{ot_basic.first.p50_ms / hub.first.p50_ms:,.0f}× vs Basic")
            if hub.after and ot_b.after:
                parts.append(f"added_after {ot_b.after.p50_ms / hub.after.p50_ms:,.1f}× vs bearer")
            if hub.poll and ot_b.poll:
                parts.append(f"full poll {hub.poll / ot_b.poll:,.1f}×")
            if hub.ingest and ot_b.ingest:
                parts.append(f"ingest {hub.ingest / ot_b.ingest:,.1f}× (hub publish vs TAXII POST)")
            out.append(f"- Hub ({backend}, {at} objects) vs OpenTAXII ({n:,} objects), hub faster by: "
                       + "; ".join(parts) + ".")
    return out


def targets(rows: list[Row], backends: list[str]) -> list[str]:
    out = []
    for backend in backends:
        r = _find(rows, "hub", backend, TARGET_N)
        if r is None:
            out.append(f"- {backend}: {TARGET_N:,} objects not measured (not in --sizes); targets not assessed.")
            continue
        if r.first is None:
            out.append(f"- {backend}, {TARGET_N:,} objects: measurement failed ({r.note}); targets NOT MET.")
            continue
        checks = [
            (f"first page p50 ≤ {TARGET_PAGE_MS:g} ms (Basic)", r.first.p50_ms <= TARGET_PAGE_MS,
             f"{r.first.p50_ms:.2f} ms"),
            (f"added_after p50 ≤ {TARGET_PAGE_MS:g} ms (Basic)", r.after is not None and r.after.p50_ms <= TARGET_PAGE_MS,
             f"{r.after.p50_ms:.2f} ms" if r.after else "not measured"),
            (f"full poll ≥ {TARGET_POLL:,} objects/s", (r.poll or 0) >= TARGET_POLL, f"{_num(r.poll)} objects/s"),
            (f"hub publish ≥ {TARGET_PUBLISH:,} objects/s", (r.ingest or 0) >= TARGET_PUBLISH,
             f"{_num(r.ingest)} objects/s wall-clock; the command itself reports {_num(r.ingest_inner)}/s "
             f"for its store phase"),
        ]
        for label, ok, value in checks:
            out.append(f"- {backend}, {TARGET_N:,} objects, {label}: {_verdict(ok)} ({value}).")
    return out


def code_version() -> str:
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                              check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "hub"], cwd=ROOT,
                               capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return head + (" + uncommitted changes in hub/" if dirty else "")


# ---------------------------------------------------------------------------- main
def _int_list(value: str, parser: argparse.ArgumentParser, what: str) -> list[int]:
    try:
        out = [int(s.replace("_", "")) for s in value.split(",") if s.strip()]
    except ValueError:
        parser.error(f"{what} must be a comma-separated list of integers")
    if not out or any(n < 1 for n in out):
        parser.error(f"{what} must list positive integers")
    return out


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default=",".join(map(str, DEFAULT_SIZES)),
                        help="hub collection sizes (default: 5000,100000,1000000)")
    parser.add_argument("--backends", default="sqlite,postgresql", help="hub stores: sqlite,postgresql")
    parser.add_argument("--no-medallion", action="store_true", help="skip stock medallion")
    parser.add_argument("--no-opentaxii", action="store_true", help="skip OpenTAXII")
    parser.add_argument("--quick", action="store_true",
                        help="smoke run: 5,000 objects only (medallion 2,000, one request), 50 requests per latency")
    parser.add_argument("--requests", type=int, default=200, help="timed requests per latency figure (default 200)")
    parser.add_argument("--workers", type=int, default=8, help="server threads (hub serve --workers; default 8)")
    parser.add_argument("--medallion-sizes", default=",".join(map(str, MEDALLION_SIZES)))
    parser.add_argument("--medallion-repeat", type=int, default=3, help="medallion first-page requests (default 3)")
    parser.add_argument("--medallion-timeout", type=float, default=300.0,
                        help="seconds one medallion request may take before that size is skipped (default 300)")
    parser.add_argument("--opentaxii-sizes", default=",".join(map(str, OPENTAXII_SIZES)))
    parser.add_argument("--opentaxii-venv", default=str(taxii_opentaxii.DEFAULT_VENV),
                        help="OpenTAXII's own venv, created if missing (default /tmp/hub-bench-opentaxii-venv)")
    parser.add_argument("--pg-admin-url", default=PG_ADMIN_DEFAULT,
                        help="PostgreSQL URL with CREATE DATABASE rights (default $HUB_BENCH_PG, $HUB_TEST_PG, "
                             "postgresql://postgres@127.0.0.1:5432/test)")
    parser.add_argument("--publish-timeout", type=float, default=3600.0, help="seconds per ingest (default 3600)")
    parser.add_argument("--poll-timeout", type=float, default=1800.0, help="seconds per full poll (default 1800)")
    parser.add_argument("--no-breakdown", dest="breakdown", action="store_false",
                        help="skip the in-process breakdown of a hub first page at the largest size")
    parser.add_argument("--profile-top", type=int, default=0, metavar="N",
                        help="also cProfile in-process hub first pages (largest size) and print the top N functions")
    args = parser.parse_args(argv)
    args.sizes = _int_list(args.sizes, parser, "--sizes")
    args.medallion_sizes = _int_list(args.medallion_sizes, parser, "--medallion-sizes")
    args.opentaxii_sizes = _int_list(args.opentaxii_sizes, parser, "--opentaxii-sizes")
    args.backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    if not args.backends or any(b not in ("sqlite", "postgresql") for b in args.backends):
        parser.error("--backends must list sqlite and/or postgresql")
    if args.quick:
        args.sizes, args.opentaxii_sizes, args.medallion_sizes = [5_000], [5_000], [2_000]
        args.medallion_repeat = 1
        args.requests = min(args.requests, 50)
    if args.requests < 2 or args.medallion_repeat < 1 or args.workers < 1:
        parser.error("--requests must be >= 2, --medallion-repeat and --workers >= 1")
    if min(args.sizes) < 2 * POLL_PAGE:
        parser.error(f"--sizes must be >= {2 * POLL_PAGE} (the added_after page comes from the middle page)")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    install_signal_handlers()
    started = time.monotonic()
    workdir = Path(tempfile.mkdtemp(prefix="hub-bench-taxii-"))
    rows: list[Row] = []
    notes: list[str] = []
    labels: dict[str, str] = {"sqlite": "SQLite"}
    try:
        pg = None
        backends = list(args.backends)
        if "postgresql" in backends:
            pg = PgDatabases(args.pg_admin_url)
            try:
                labels["postgresql"] = pg.check()
            except Exception as exc:  # noqa: BLE001
                notes.append(f"PostgreSQL not measured: cannot connect with --pg-admin-url ({type(exc).__name__}: "
                             f"{str(exc).splitlines()[0] if str(exc) else ''})")
                backends.remove("postgresql")
        bundles: dict[int, Path] = {}
        for n in sorted(args.sizes):
            path = workdir / f"bundle-{n}.json"
            log(f"… writing a bundle of {n:,} indicators")
            size = write_bundle(path, n)
            bundles[n] = path
            notes.append(f"bundle of {n:,} indicators: {size / 2**20:,.1f} MiB")
        for backend in backends:
            for n in sorted(args.sizes):
                rows.append(run_hub(backend, labels[backend], n, bundles[n], workdir, args, pg))
        for path in bundles.values():
            path.unlink(missing_ok=True)
        if not args.no_medallion:
            rows += run_medallion(sorted(args.medallion_sizes), workdir, args)
        if not args.no_opentaxii:
            ot_rows, ot_notes = run_opentaxii(sorted(args.opentaxii_sizes), workdir, args)
            rows += ot_rows
            notes += ot_notes
    finally:
        shutil.rmtree(workdir, ignore_errors=True)

    backend_labels = [labels[b] for b in args.backends if b in labels]
    cpus = os.cpu_count() or 0
    print(f"## TAXII 2.1 feed benchmark — hub vs stock medallion 3.0.0 vs OpenTAXII {taxii_opentaxii.VERSION} "
          f"(CPython {platform.python_version()}, {platform.machine()}, {cpus} cores)\n")
    print(f"Code: {code_version()}\n")
    print(table(rows))
    print()
    print("Ratios:\n")
    print("\n".join(ratios(rows, backend_labels)))
    print()
    print(f"Targets at {TARGET_N:,} objects (hub, Basic auth):\n")
    print("\n".join(targets(rows, backend_labels)))
    print()
    for r in rows:
        if r.note:
            notes.append(f"{r.server} {r.backend} {r.n:,} {r.auth}: {r.note}")
    inner = [f"{r.backend} {r.n:,}: {_num(r.ingest_inner)}/s" for r in rows if r.server == "hub" and r.ingest_inner]
    if inner:
        notes.append("`hub publish` store phase as the command reports it (parse, leak gate and start-up excluded): "
                     + "; ".join(inner))
    for note in notes:
        print(f"Note: {note}.")
    print(f"Measured over HTTP on 127.0.0.1: client (requests / taxii2-client) and server share this machine's "
          f"{cpus} cores, so every figure includes client-side work. Latencies: {args.requests} sequential requests "
          f"on one keep-alive session after 10 warm-ups (medallion: {args.medallion_repeat}, no warm-up), body read "
          f"included. Ingest: hub = wall time of `hub publish` (process start to exit); OpenTAXII = TAXII POST of "
          f"{taxii_opentaxii.POST_BATCH:,}-object envelopes. Full poll: taxii2-client as_pages, {POLL_PAGE:,} per "
          f"request (OpenTAXII with its bearer token). Server max RSS: VmHWM of the serving process after the poll "
          f"(OpenTAXII: the gunicorn worker, restarted after ingest; medallion: after its first pages).")
    for r in rows:
        bd = r.extra.get("breakdown")
        if not bd:
            continue
        print(f"\n### Hub first page ({r.backend}, {r.n:,} objects), in-process breakdown — median of "
              f"{args.requests} calls\n")
        print("| step | p50 ms (p95) |\n|---|---:|")
        for label, lat in bd.items():
            if not label.startswith("_"):
                print(f"| {label} | {lat.cell()} |")
        if r.first:
            print(f"| over HTTP (waitress, requests client), from the table | {r.first.cell()} |")
        if "_profile" in bd:
            print(bd["_profile"])
    print(f"\nTotal run time: {(time.monotonic() - started) / 60:,.1f} min")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Mixed load on the hub (issue 14): peers polling the TAXII feed while a CSIRT pushes heavy
submissions, on SQLite (`hub serve`: one web process and the worker process it starts) and on PostgreSQL (two web
processes, `hub serve --processes 2 --no-worker`, and two `hub worker` processes).

Per backend: peers' first page (p50/p95) idle and under load, a full poll idle and under load,
heavy submissions per second, submit-to-review of the heavy ones, and submit-to-review of a
200-object STIX submission while the queue is otherwise empty. Targets: first-page p95 under load
<= 3x idle; the 200-object submission in review <= 1 s p95.

    .venv/bin/python bench/load.py            # 8 concurrent 200 KB text submissions, 3,000-keyword profile
    .venv/bin/python bench/load.py --quick    # a smoke run (smaller, fewer)
"""
from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))
from taxii_common import (ACCEPT_TAXII, Latency, ServerProcess, free_port, install_signal_handlers,  # noqa: E402
                          write_bundle)
from taxii import PgDatabases, hub_argv, hub_cli  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/test"
PEERS, PEER_PACE = 2, 0.02  # peers polling the first page, and the pause between one's requests


def heavy_text(kb: int, seed: int) -> str:
    """About `kb` KB of a text IOC list (documentation addresses, example domains, hashes)."""
    rng = random.Random(seed)
    lines, size = [], 0
    while size < kb * 1024:
        kind = rng.randrange(4)
        if kind == 0:
            line = f"203.0.113.{rng.randrange(1, 255)} C2 サーバ (確認済み) seen {rng.randrange(1, 28)} May"
        elif kind == 1:
            line = f"update-{rng.randrange(10**6)}.cdn-sync.example 配布元ドメイン"
        elif kind == 2:
            line = f"{rng.getrandbits(256):064x} 検体のハッシュ (SHA-256)"
        else:
            line = f"hxxps://dl-{rng.randrange(999)}[.]example[.]com/p/{rng.randrange(10**5)}.bin ダウンローダ"
        lines.append(line)
        size += len(line.encode()) + 1
    return "\n".join(lines)


def big_profile(keywords: int) -> dict:
    return {"organization_names": ["株式会社サンプル精機", "Sample Seiki Co., Ltd."],
            "domains": ["sample-seiki.example"], "keywords": [f"社内案件{n:05d}" for n in range(keywords)]}


def stix_submission(objects: int, seed: int) -> dict:
    rng = random.Random(seed)
    bundle = {"type": "bundle", "id": f"bundle--{_uuid(rng)}", "objects": [
        {"type": "indicator", "spec_version": "2.1", "id": f"indicator--{_uuid(rng)}",
         "created": "2025-05-29T01:00:00.000Z", "modified": "2025-05-29T01:00:00.000Z",
         "pattern_type": "stix", "valid_from": "2025-05-29T00:00:00Z", "name": f"C2 {i}",
         "pattern": f"[ipv4-addr:value = '198.51.100.{i % 250 + 1}']"} for i in range(objects)]}
    return {"bundle": bundle, "victim_profile": big_profile(10), "tlp": "green"}


def _uuid(rng: random.Random) -> str:
    import uuid

    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


class Hub:
    """A data directory, its keys and its processes."""

    def __init__(self, workdir: Path, backend: str, objects: int, pg: PgDatabases | None, nice: int | None = None):
        self.dir = workdir / f"hub-{backend}"
        self.backend, self.procs, self.db = backend, [], None
        args = []
        if backend.startswith("postgresql"):
            self.db, url = pg.create()
            args = ["--database-url", url]
        init, _ = hub_cli(self.dir, "init", *args)
        config = json.loads((self.dir / "config.json").read_text())
        config.update(rate_limit_per_minute=0)  # the benchmark measures load, not the limiter
        if nice is not None:
            config.update(worker_nice=nice)
        (self.dir / "config.json").write_text(json.dumps(config))
        hub_cli(self.dir, "org", "add", "csirt-a", "--type", "csirt")
        hub_cli(self.dir, "org", "add", "csirt-b", "--type", "csirt")
        hub_cli(self.dir, "org", "add", "peer-b", "--type", "peer")
        self.heavy = hub_cli(self.dir, "key", "create", "--org", "csirt-a", "--role", "submitter")[0]
        self.light = hub_cli(self.dir, "key", "create", "--org", "csirt-b", "--role", "submitter")[0]
        self.peer = hub_cli(self.dir, "key", "create", "--org", "peer-b", "--role", "consumer")[0]
        bundle = workdir / f"feed-{backend}.json"
        write_bundle(bundle, objects)
        hub_cli(self.dir, "publish", str(bundle), "--collection", "TLP:GREEN", timeout=900)
        self.green = next(c["id"] for c in init["collections"] if c["title"] == "TLP:GREEN")
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"

    def start(self, processes: int, workers: int) -> None:
        serve = [*hub_argv(), "serve", "--data-dir", str(self.dir), "--port", str(self.port), "--workers", "8",
                 "--processes", str(processes)]
        if workers:
            serve.append("--no-worker")
        self.procs.append(ServerProcess(serve, self.dir / "serve.log", cwd=ROOT).start())
        for n in range(workers):
            self.procs.append(ServerProcess([*hub_argv(), "worker", "--data-dir", str(self.dir)],
                                            self.dir / f"worker{n}.log", cwd=ROOT).start())
        self.procs[0].wait_ready(self.base + "/healthz")
        # Measure once every worker runs (one starts in seconds, importing the sanitiser, and that
        # start would otherwise fall into the idle figures).
        expected, deadline = max(workers, 1), time.monotonic() + 120
        while sum(p.log_path.read_text(errors="replace").count("worker running") for p in self.procs) < expected:
            if time.monotonic() > deadline:
                raise RuntimeError("the workers did not start")
            time.sleep(0.2)

    def stop(self, pg: PgDatabases | None) -> None:
        for p in self.procs:
            p.stop()
        if self.db and pg:
            pg.drop(self.db)

    def auth(self, key: dict) -> tuple[str, str]:
        return key["key_id"], key["key"]


def first_pages(h: Hub, stop: threading.Event | None, count: int, pace: float = PEER_PACE) -> Latency:
    """First pages (limit 100) one after another, `pace` seconds apart: `count` of them, or until
    `stop` is set."""
    lat, session = Latency(), requests.Session()
    url = f"{h.base}/hub/collections/{h.green}/objects/"
    while (stop is None and len(lat.samples) < count) or (stop is not None and not stop.is_set()):
        start = time.perf_counter()
        r = session.get(url, params={"limit": 100}, auth=h.auth(h.peer), headers={"Accept": ACCEPT_TAXII},
                        timeout=120)
        r.content
        lat.samples.append(time.perf_counter() - start)
        if r.status_code != 200:
            raise RuntimeError(f"first page answered {r.status_code}")
        time.sleep(pace)  # a peer polls, it does not hammer
    return lat


def peers(h: Hub, stop: threading.Event | None, count: int = 0) -> Latency:
    """PEERS peers polling first pages side by side (the same pattern idle and under load, so the
    two figures compare like with like): `count` requests each, or until `stop` is set."""
    with ThreadPoolExecutor(PEERS) as pool:
        runs = [pool.submit(first_pages, h, stop, count) for _ in range(PEERS)]
        return Latency(samples=[x for f in runs for x in f.result().samples])


def full_poll(h: Hub) -> float:
    session, url, nxt, start = requests.Session(), f"{h.base}/hub/collections/{h.green}/objects/", None, time.perf_counter()
    while True:
        r = session.get(url, params={"limit": 1000, **({"next": nxt} if nxt else {})}, auth=h.auth(h.peer),
                        headers={"Accept": ACCEPT_TAXII}, timeout=300)
        body = r.json()
        if not body.get("more"):
            return time.perf_counter() - start
        nxt = body["next"]


def submit_and_wait(h: Hub, key: dict, body: dict, timeout: float = 600, poll: float = 0.02) -> tuple[float, str]:
    """Seconds from POST to a final status (polled every `poll` s), and that status."""
    session = requests.Session()
    start = time.perf_counter()
    r = session.post(f"{h.base}/api/v1/submissions", json=body, auth=h.auth(key), timeout=120)
    if r.status_code != 202:
        raise RuntimeError(f"submission answered {r.status_code}: {r.text[:200]}")
    url = h.base + r.headers["Location"]
    while time.perf_counter() - start < timeout:
        status = session.get(url, auth=h.auth(key), timeout=60).json()["status"]
        if status not in ("queued", "processing"):
            return time.perf_counter() - start, status
        time.sleep(poll)
    raise RuntimeError("a submission did not finish in time")


def p95(samples: list[float]) -> float:
    s = sorted(samples)
    return s[0] if len(s) == 1 else statistics.quantiles(s, n=100, method="inclusive")[94]


# backend: (description, web processes, `hub worker` processes; 0 = `hub serve`'s own worker process)
SETUPS = {"sqlite": ("`hub serve` (1 web process + the worker process it starts)", 1, 0),
          "sqlite-split": ("`hub serve --no-worker` + 1 `hub worker`", 1, 1),
          "postgresql": ("`hub serve --processes 2 --no-worker` + 2 `hub worker`", 2, 2)}


def run(backend: str, workdir: Path, args, pg: PgDatabases | None) -> dict:
    h = Hub(workdir, backend, args.objects, pg, args.worker_nice)
    try:
        h.start(*SETUPS[backend][1:])
        first_pages(h, None, 20, pace=0)  # warm-up
        idle = peers(h, None, args.requests // PEERS)
        poll_idle = full_poll(h)
        probe = [submit_and_wait(h, h.light, stix_submission(200, i))[0] for i in range(args.probes)]
        heavy_body = [{"text": heavy_text(args.kb, i), "victim_profile": big_profile(args.keywords), "tlp": "green"}
                      for i in range(args.heavy)]
        stop = threading.Event()
        with ThreadPoolExecutor(1 + args.heavy) as pool:
            polling = pool.submit(peers, h, stop)
            time.sleep(0.5)
            start = time.perf_counter()
            heavy = list(pool.map(lambda b: submit_and_wait(h, h.heavy, b, poll=args.status_poll), heavy_body))
            elapsed = time.perf_counter() - start
            stop.set()
            load = polling.result()
        with ThreadPoolExecutor(1 + args.heavy) as pool:  # a full poll under a second wave
            wave = [pool.submit(submit_and_wait, h, h.heavy, b, poll=args.status_poll) for b in heavy_body]
            time.sleep(1.0)
            poll_load = full_poll(h)
            for w in wave:
                w.result()
        return {"backend": backend, "setup": SETUPS[backend][0], "idle": idle, "load": load, "poll_idle": poll_idle,
                "poll_load": poll_load, "rate": len(heavy) / elapsed,
                "heavy": [t for t, _ in heavy], "states": sorted({s for _, s in heavy}), "probe": probe}
    finally:
        h.stop(pg)


def table(rows: list[dict], args) -> str:
    out = [f"Feed: {args.objects:,} objects; heavy: {args.heavy} concurrent {args.kb} KB text submissions "
           f"with a {args.keywords:,}-keyword profile (status polled every {args.status_poll:g} s); "
           f"first page = limit 100, {PEERS} peers polling {PEER_PACE * 1000:g} ms apart (idle and under load).", "",
           "| backend | setup | first page p50 / p95 idle (ms) | under load (ms) | p95 ratio | full poll idle / load (s) "
           "| heavy subs/s | heavy submit→review p50 / max (s) | 200-object submit→review p50 / p95 (s) |",
           "|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        ratio = r["load"].p95_ms / r["idle"].p95_ms
        out.append(f"| {r['backend']} | {r['setup']} | {r['idle'].p50_ms:.1f} / {r['idle'].p95_ms:.1f} | "
                   f"{r['load'].p50_ms:.1f} / {r['load'].p95_ms:.1f} | {ratio:.2f} "
                   f"({'ok' if ratio <= 3 else 'MISSED'}, target ≤ 3) | {r['poll_idle']:.2f} / {r['poll_load']:.2f} | "
                   f"{r['rate']:.2f} | {statistics.median(r['heavy']):.1f} / {max(r['heavy']):.1f} | "
                   f"{statistics.median(r['probe']):.2f} / {p95(r['probe']):.2f} "
                   f"({'ok' if p95(r['probe']) <= 1 else 'MISSED'}, target ≤ 1) |")
    out.append("")
    out.append("Heavy submissions ended as: " + "; ".join(f"{r['backend']}: {', '.join(r['states'])}" for r in rows))
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backends", default="sqlite,sqlite-split,postgresql", help=", ".join(SETUPS))
    parser.add_argument("--quick", action="store_true", help="smoke run: 2,000 objects, 4 x 50 KB, 500 keywords")
    parser.add_argument("--objects", type=int, default=20_000, help="objects in the polled collection")
    parser.add_argument("--heavy", type=int, default=8, help="concurrent heavy submissions")
    parser.add_argument("--kb", type=int, default=200, help="size of each heavy text submission")
    parser.add_argument("--keywords", type=int, default=3000, help="keywords in the heavy submissions' profile")
    parser.add_argument("--requests", type=int, default=200, help="idle first-page requests (all peers together)")
    parser.add_argument("--status-poll", type=float, default=0.5,
                        help="seconds between the heavy submitters' status polls (default 0.5, as `hub submit "
                             "--wait`; the 200-object probes always poll every 20 ms)")
    parser.add_argument("--worker-nice", type=int, help="config.json worker_nice of the hubs (default: the hub's)")
    parser.add_argument("--probes", type=int, default=10, help="200-object submissions timed on an empty queue")
    args = parser.parse_args(argv)
    if args.quick:
        args.objects, args.heavy, args.kb, args.keywords, args.requests, args.probes = 2000, 4, 50, 500, 200, 4
    install_signal_handlers()
    pg = PgDatabases(PG_ADMIN) if "postgresql" in args.backends else None
    rows = []
    with tempfile.TemporaryDirectory(prefix="hub-load-") as tmp:
        for backend in args.backends.split(","):
            print(f"load: {backend} ...", file=sys.stderr, flush=True)
            rows.append(run(backend, Path(tmp), args, pg))
    print(table(rows, args))
    return 0


if __name__ == "__main__":
    sys.exit(main())

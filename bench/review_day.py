"""A simulated review day (issue 15): 10 CSIRTs send 60 submissions through the API of a real
`hub serve` — C2 domains reported by 1, 2, 3 or 4 members, and clean submissions (a malware
family and a file hash, nothing held) — once with corroboration and auto-publish OFF and once
ON. An analyst works the queue once at the end of the day (17:00): releases each open hold and
approves. Printed: analyst actions and time from submission to publication, per submission and
in total, and for every value that reached k reporters the time from its k-th report until it
was published (wall clock; target < 60 s).

Simulated clock: submission i arrives at 09:00 + 8 min × i; a submission the hub publishes by
itself is published when the API answers (its wall-clock latency is reported); the rest at 17:00.

    .venv/bin/python bench/review_day.py [--db sqlite|postgresql] [--seed 15] [--quiet]
"""
from __future__ import annotations

import argparse
import contextlib
import io
import json
import random
import sys
import tempfile
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from hub.cli import main as hub_main  # noqa: E402
from hub.datadir import DataDir  # noqa: E402
from taxii_fixtures import Server, pg_database  # noqa: E402

CSIRTS = [f"csirt-{n:02d}" for n in range(10)]
K = 3
DAY_START, STEP_MIN, END_OF_DAY = 9 * 60, 8, 17 * 60


def hub(*args: str, data_dir: Path) -> dict:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = hub_main([*args, "--data-dir", str(data_dir), "--json"])
    if code != 0:
        raise SystemExit(f"hub {args[0]} exited {code}")
    return json.loads(out.getvalue())


def plan(seed: int) -> list[dict]:
    """60 submissions: (org, C2 domain or None for a clean one), in arrival order."""
    rng = random.Random(seed)
    reports = []
    for j, reporters in enumerate([4, 4, 3, 4, 3, 3, 4, 3, 3, 4, 2, 2, 2, 1, 1, 1]):
        for org in rng.sample(CSIRTS, reporters):
            reports.append({"org": org, "c2": f"c2-{j:02d}.relay-{seed}.example.net", "reporters": reporters})
    while len(reports) < 60:
        reports.append({"org": rng.choice(CSIRTS), "c2": None, "reporters": 0})
    rng.shuffle(reports)
    return reports


def bundle(n: int, c2: str | None, rng: random.Random) -> dict:
    stamp = "2025-03-01T10:00:00.000Z"
    digest = "".join(rng.choice("0123456789abcdef") for _ in range(64))
    def obj(kind: str, i: int, **props) -> dict:
        return {"type": kind, "spec_version": "2.1", "id": f"{kind}--{n:08d}-0000-4000-8000-{i:012d}",
                "created": stamp, "modified": stamp, **props}
    objects = [obj("malware", 1, name=f"Loader{n % 7}", is_family=True),
               obj("indicator", 2, pattern=f"[file:hashes.'SHA-256' = '{digest}']", pattern_type="stix",
                   valid_from="2025-03-01T10:00:00Z", indicator_types=["malicious-activity"])]
    if c2:
        objects.append(obj("indicator", 3, pattern=f"[domain-name:value = '{c2}']", pattern_type="stix",
                           valid_from="2025-03-01T10:00:00Z", indicator_types=["malicious-activity"]))
    return {"type": "bundle", "id": f"bundle--{n:08d}-0000-4000-8000-000000000000", "objects": objects}


def setup(data_dir: Path, url: str | None, on: bool) -> tuple[dict, dict]:
    init = hub("init", *(["--database-url", url] if url else []), data_dir=data_dir)
    data = DataDir(data_dir)
    config = data.config()
    config.update(corroboration=on, corroboration_k=K)
    data.write_config(config)
    keys = {"analyst": hub("key", "create", "--org", init["operator_org"], "--role", "analyst", data_dir=data_dir),
            "admin": init["admin_key"]}
    for n, org in enumerate(CSIRTS):
        hub("org", "add", org, "--type", "csirt", "--sector", f"sector-{n}", "--region", "JP", data_dir=data_dir)
        keys[org] = hub("key", "create", "--org", org, "--role", "submitter", data_dir=data_dir)
        hub("agreement", "add", "--org", org, "--victim-ref", f"CASE-{n}", "--signed-on", "2025-01-01",
            data_dir=data_dir)
    return keys, init


def auth(key: dict) -> tuple[str, str]:
    return key["key_id"], key["key"]


def run(mode_on: bool, db: str, seed: int) -> dict:
    rng = random.Random(seed + 1)
    with tempfile.TemporaryDirectory(prefix="review-day-") as tmp, \
            (pg_database() if db == "postgresql" else contextlib.nullcontext(None)) as url:
        data_dir = Path(tmp) / "hub"
        keys, _init = setup(data_dir, url, mode_on)
        server = Server(data_dir, "--rate-limit", "0").start()
        try:
            return _day(server, keys, plan(seed), rng, mode_on)
        finally:
            server.stop()


def _day(server, keys: dict, reports: list[dict], rng: random.Random, mode_on: bool) -> dict:
    api = f"{server.base}/api/v1"
    if mode_on:
        for org in CSIRTS:
            r = requests.put(f"{api}/orgs/{org}/auto-publish", auth=auth(keys["admin"]), json={"enabled": True},
                             timeout=30)
            r.raise_for_status()
    rows, seen = [], {}
    kth_latency = []
    for i, rep in enumerate(reports):
        n = CSIRTS.index(rep["org"])
        body = {"bundle": bundle(i, rep["c2"], rng), "tlp": "green", "victim_ref": f"CASE-{n}",
                "victim_profile": {"organization_names": [f"Victim Corp {n}"], "domains": [f"victim{n}.example"]}}
        start = time.monotonic()
        r = requests.post(f"{api}/submissions", auth=auth(keys[rep["org"]]), json=body, timeout=120)
        if r.status_code >= 300:
            raise SystemExit(f"submission {i}: {r.status_code} {r.text}")
        answered = time.monotonic()
        row = {"n": i, "org": rep["org"], "c2": rep["c2"], "reporters": rep["reporters"], "id": r.json()["id"],
               "arrival": DAY_START + STEP_MIN * i, "actions": 0, "published_min": None, "latency_s": None}
        if r.json()["status"] == "published":
            row["published_min"], row["latency_s"] = row["arrival"], answered - start
        rows.append(row)
        if rep["c2"]:
            orgs = seen.setdefault(rep["c2"], set())
            orgs.add(rep["org"])
            if len(orgs) == K and mode_on:  # the k-th report: all its submissions must now be out
                sharing = [x for x in rows if x["c2"] == rep["c2"]]
                states = [requests.get(f"{api}/submissions/{x['id']}", auth=auth(keys["analyst"]),
                                       timeout=30).json()["status"] for x in sharing]
                done = time.monotonic()
                kth_latency.append((rep["c2"], all(s == "published" for s in states), done - start))
                for x, s in zip(sharing, states):
                    if s == "published" and x["published_min"] is None:
                        x["published_min"], x["latency_s"] = row["arrival"], done - start
    # 17:00: the analyst works the queue.
    for row in rows:
        view = requests.get(f"{api}/submissions/{row['id']}", auth=auth(keys["analyst"]), timeout=30).json()
        if view["status"] != "review":
            continue
        for hold in view["report"]["holds"]:
            if hold.get("released"):
                continue
            r = requests.post(f"{api}/submissions/{row['id']}/holds/release", auth=auth(keys["analyst"]),
                              timeout=120, json={"object": hold["object"], "justification": "checked by the analyst"})
            r.raise_for_status()
            row["actions"] += 1
        r = requests.post(f"{api}/submissions/{row['id']}/approve", auth=auth(keys["analyst"]), timeout=120)
        r.raise_for_status()
        row["actions"] += 1
        row["published_min"] = END_OF_DAY
    return {"rows": rows, "kth": kth_latency}


def _hhmm(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def report(off: dict, on: dict, quiet: bool) -> None:
    if not quiet:
        print("| # | CSIRT | C2 reported by | actions OFF | published OFF | actions ON | published ON |")
        print("|---|---|---|---|---|---|---|")
        for a, b in zip(off["rows"], on["rows"]):
            auto = f" (auto, {b['latency_s']:.2f} s)" if b["latency_s"] is not None else ""
            print(f"| {a['n']} | {a['org']} | {a['reporters'] or 'clean'} | {a['actions']} | "
                  f"{_hhmm(a['published_min'])} | {b['actions']} | {_hhmm(b['published_min'])}{auto} |")
    print()
    print("| mode | analyst actions | per submission | mean submit→publication (simulated) | published by the hub |")
    print("|---|---|---|---|---|")
    for name, res in (("OFF", off), ("ON", on)):
        rows = res["rows"]
        actions = sum(r["actions"] for r in rows)
        wait = sum(r["published_min"] - r["arrival"] for r in rows) / len(rows)
        auto = sum(1 for r in rows if r["latency_s"] is not None)
        print(f"| {name} | {actions} | {actions / len(rows):.2f} | {wait:.0f} min | {auto} / {len(rows)} |")
    a_off = sum(r["actions"] for r in off["rows"])
    a_on = sum(r["actions"] for r in on["rows"]) or 1
    print(f"\nanalyst actions: {a_off / a_on:.1f}x fewer with corroboration + auto-publish (target >= 3x)")
    late = [c for c, ok, s in on["kth"] if not ok or s > 60]
    worst = max((s for _c, _ok, s in on["kth"]), default=0.0)
    print(f"values reaching k={K}: {len(on['kth'])}; all their submissions published after the k-th report: "
          f"{'yes' if not late else 'NO: ' + ', '.join(late)}; slowest {worst:.2f} s (target < 60 s)")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--db", choices=("sqlite", "postgresql"), default="sqlite")
    p.add_argument("--seed", type=int, default=15)
    p.add_argument("--quiet", action="store_true", help="totals only, no per-submission table")
    args = p.parse_args(argv)
    off = run(False, args.db, args.seed)
    on = run(True, args.db, args.seed)
    report(off, on, args.quiet)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

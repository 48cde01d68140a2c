"""Benchmark of the rule-based sanitiser path: `sanitize()` throughput and memory.

Run from the repository root:

    python bench/sanitize.py [--sizes 10000,50000] [--repeat 3] [--no-real] [--profile-top 25]
    python bench/sanitize.py --against ../other-checkout [--rounds 5] [--sizes 10000]

Product target: at least 5,000 STIX objects/s on one core for the rule-based path. The script
is single-threaded Python, so every figure is a one-core figure.

For each input it prints objects in/out, the best-of-N wall time of `sanitize()` alone (JSON
parsing excluded: each run gets a freshly parsed bundle), the first of those runs (caches of the
sanitiser not yet warm for that input), the best-of-N time of
`Result.to_json()`, objects/s and the tracemalloc peak of one separate, untimed run
(`sanitize()` + `to_json()`; tracemalloc slows Python down, so it never overlaps the timing).
Inputs are the generated bundles of `bench/generate.py` and the largest real public bundles
under `tests/data/real-stix/` (skipped with a note when absent).

`--against DIR` compares this checkout's `sanitizer/` with the one in another checkout DIR (e.g. a
`git worktree` of main) side by side in one run, for a shared, loaded machine: each round runs
one fresh subprocess per checkout (PYTHONPATH pointing at it, the order alternating between
rounds) that times `sanitize()` on the same generated bundle; the best time of each side over
all rounds is compared, with the load average before and after.
"""
from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import platform
import pstats
import resource
import subprocess
import sys
import time
import tracemalloc
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench/ is not a package

from generate import DEMO_PROFILE, generate_bundle  # noqa: E402

from sanitizer import BadInput, LeakRefused, Policy, VictimProfile, sanitize  # noqa: E402

TARGET_OBJECTS_PER_S = 5_000
SECRET = b"bench-secret-not-for-production!"  # 32 bytes; the value does not matter here
REAL_STIX_DIR = Path(__file__).resolve().parents[1] / "tests" / "data" / "real-stix"
REAL_INPUTS = (
    "mitre-attack-stix-data/mobile-attack-17.1.json",
    "mitre-attack-stix-data/ics-attack-18.1.json",
    "amnesty-investigations/pegasus.stix2",
    "oasis-cti-stix-elevator/fireeye-pivy-report-with-indicators.json",
)
# A fictional victim that none of the public bundles mention. Its domain label must not be a
# common word: with "victim.example" the label "victim" is redacted all over ATT&CK prose and
# then found again by the leak gate inside the "[VICTIM-ORG]" placeholder (the bundle is refused).
REAL_PROFILE = {"organization_names": ["Example Victim KK"], "domains": ["victim-kk.example"]}


@dataclass
class Case:
    """One benchmark input: its raw JSON bytes (parsed afresh for every run) and a profile."""

    label: str
    raw: bytes
    profile: VictimProfile
    generated: bool = False

    def fresh_bundle(self) -> dict:
        return orjson.loads(self.raw)


@dataclass
class Measurement:
    """What one input produced. `outcome` is "ok", "refused" (exit 3) or "bad input" (exit 2)."""

    label: str
    objects_in: int
    outcome: str
    objects_out: int | None
    sanitize_s: float
    first_s: float
    serialise_s: float | None
    peak_mib: float | None
    generated: bool

    @property
    def objects_per_s(self) -> float:
        return self.objects_in / self.sanitize_s if self.sanitize_s else float("inf")


# ---------------------------------------------------------------------------- inputs
def generated_cases(sizes: list[int]) -> list[Case]:
    """Generated bundles with the demo victim profile (Sample Seiki)."""
    profile = VictimProfile.from_dict(DEMO_PROFILE)
    return [Case(f"generated ({n:,})", orjson.dumps(generate_bundle(n)), profile, generated=True)
            for n in sizes]


def real_cases() -> tuple[list[Case], list[str]]:
    """The largest public bundles, with a fictional profile; notes for the missing ones."""
    if not REAL_STIX_DIR.is_dir():
        return [], [f"real bundles skipped: {REAL_STIX_DIR} not found"]
    profile = VictimProfile.from_dict(REAL_PROFILE)
    cases, notes = [], []
    for rel in REAL_INPUTS:
        path = REAL_STIX_DIR / rel
        if path.is_file():
            cases.append(Case(rel.split("/", 1)[1], path.read_bytes(), profile))
        else:
            notes.append(f"real bundle skipped: {rel} not found")
    return cases, notes


# ---------------------------------------------------------------------------- measuring
def _timed(fn: Callable[[], object]) -> tuple[float, object]:
    start = time.perf_counter()
    value = fn()
    return time.perf_counter() - start, value


def _run_once(case: Case):
    """One timed sanitize() on a freshly parsed bundle: (seconds, result or None, outcome)."""
    bundle = case.fresh_bundle()
    start = time.perf_counter()
    try:
        result = sanitize(bundle, case.profile, Policy(), secret=SECRET)
    except LeakRefused:
        return time.perf_counter() - start, None, "refused"
    except BadInput:
        return time.perf_counter() - start, None, "bad input"
    return time.perf_counter() - start, result, "ok"


def _peak_mib(case: Case) -> float:
    """tracemalloc peak of one sanitize() + to_json(), the input parsed before tracing starts."""
    bundle = case.fresh_bundle()
    tracemalloc.start()
    try:
        try:
            sanitize(bundle, case.profile, Policy(), secret=SECRET).to_json()
        except (LeakRefused, BadInput):
            pass
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return peak / 2**20


def measure(case: Case, repeat: int) -> Measurement:
    """Best-of-`repeat` timings, then a separate tracemalloc pass."""
    objects_in = len(case.fresh_bundle().get("objects", []))
    best_s, best_ser, out_count, outcome = float("inf"), None, None, "ok"
    first_s = None
    for _ in range(repeat):
        seconds, result, outcome = _run_once(case)
        first_s = seconds if first_s is None else first_s
        best_s = min(best_s, seconds)
        if result is not None:
            out_count = len(result.bundle["objects"])
            ser_s, _ = _timed(result.to_json)
            best_ser = ser_s if best_ser is None else min(best_ser, ser_s)
        del result
    peak = _peak_mib(case)
    return Measurement(case.label, objects_in, outcome, out_count, best_s, first_s, best_ser, peak, case.generated)


def profile_top(case: Case, top: int) -> str:
    """cProfile one sanitize() run; the top functions by cumulative and by own time."""
    bundle = case.fresh_bundle()
    profiler = cProfile.Profile()
    profiler.enable()
    try:
        sanitize(bundle, case.profile, Policy(), secret=SECRET)
    except (LeakRefused, BadInput) as exc:
        print(f"(profiled run ended with {type(exc).__name__})")
    finally:
        profiler.disable()
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    for key in ("cumulative", "tottime"):
        out.write(f"\n### cProfile: {case.label} (caches warm), top {top} by {key}\n\n```\n")
        stats.sort_stats(key).print_stats(top)
        out.write("```\n")
    return out.getvalue()


# ---------------------------------------------------------------------------- side by side
def _worker(size: int, repeat: int) -> int:
    """Subprocess of `--against`: the best of `repeat` sanitize() runs as one JSON line."""
    import sanitizer

    case = generated_cases([size])[0]
    runs, cpu = [], []
    for _ in range(repeat):
        start = time.process_time()
        runs.append(_run_once(case))
        cpu.append(time.process_time() - start)
    print(json.dumps({"sanitizer": str(Path(sanitizer.__file__).resolve().parent),
                      "best_s": min(r[0] for r in runs), "best_cpu_s": min(cpu), "outcome": runs[-1][2]}))
    return 0


def _load() -> str:
    return " / ".join(f"{x:.2f}" for x in os.getloadavg())


def side_by_side(other: Path, size: int, rounds: int, repeat: int) -> str:
    """This checkout's sanitizer/ against `other`'s, alternating fresh subprocesses."""
    roots = {"this checkout": Path(__file__).resolve().parents[1], "other": other.resolve()}
    if not (roots["other"] / "sanitizer" / "__init__.py").is_file():
        raise SystemExit(f"--against: no sanitizer/ package under {other}")
    labels = {"this checkout": f"this checkout ({code_version()})",
              "other": f"{other} ({_git_head(roots['other'])})"}
    best: dict[str, float] = {}
    best_cpu: dict[str, float] = {}
    outcome: dict[str, str] = {}
    load_before = _load()
    for i in range(rounds):
        order = list(roots) if i % 2 == 0 else list(reversed(roots))
        for name in order:
            env = dict(os.environ, PYTHONPATH=str(roots[name]))
            proc = subprocess.run([sys.executable, __file__, "--worker", "--sizes", str(size), "--repeat", str(repeat)],
                                  env=env, capture_output=True, text=True, check=True)
            got = json.loads(proc.stdout.strip().splitlines()[-1])
            if Path(got["sanitizer"]) != roots[name] / "sanitizer":
                raise SystemExit(f"--against: imported {got['sanitizer']}, not {roots[name]}/sanitizer")
            best[name] = min(best.get(name, float("inf")), got["best_s"])
            best_cpu[name] = min(best_cpu.get(name, float("inf")), got["best_cpu_s"])
            outcome[name] = got["outcome"]
            print(f"… round {i + 1}/{rounds}: {name}: {got['best_s']:.3f} s ({got['best_cpu_s']:.3f} s CPU)",
                  file=sys.stderr, flush=True)
    lines = [f"## sanitize() side by side — generated ({size:,}), best of {rounds} rounds x {repeat} runs, "
             f"alternating subprocesses, one core\n",
             f"Load average (1/5/15 min) before: {load_before}; after: {_load()}\n",
             "| sanitizer | outcome | best sanitize s (wall) | objects/s (wall) | best CPU s | objects/CPU-s |",
             "|---|---|---:|---:|---:|---:|"]
    for name in roots:
        lines.append(f"| {labels[name]} | {outcome[name]} | {best[name]:.3f} | {size / best[name]:,.0f} | "
                     f"{best_cpu[name]:.3f} | {size / best_cpu[name]:,.0f} |")
    lines.append(f"\nRatio (this / other): {best['other'] / best['this checkout']:.2f}x wall, "
                 f"{best_cpu['other'] / best_cpu['this checkout']:.2f}x CPU. CPU s is the process time of the "
                 "same runs: on a loaded machine it is less disturbed by waiting for a core than wall time.")
    return "\n".join(lines)


def _git_head(root: Path) -> str:
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=root, capture_output=True, text=True,
                              check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


# ---------------------------------------------------------------------------- NER (DI-10b)
_SURNAMES = ("大和田", "北条", "真鍋", "久我", "門脇", "鷲尾", "小此木", "乙部")
_GIVEN = ("健一郎", "美咲", "遼", "千尋", "大輔", "綾乃")
_ORGS = ("北斗物流株式会社", "東雲商事", "瑞穂フーズ株式会社", "青葉電設", "株式会社光陽精機")


def ner_prose_bundle(n: int) -> list[dict]:
    """n malware objects whose descriptions are Japanese incident prose with names in them."""
    objects = []
    for i in range(n):
        person = _SURNAMES[i % len(_SURNAMES)] + _GIVEN[i % len(_GIVEN)]
        org = _ORGS[i % len(_ORGS)]
        objects.append({"type": "malware", "id": f"malware--{i:08d}-0000-4000-8000-000000000000", "name": f"FAM{i}",
                        "description": f"第{i}報: {org}の取引先を装うメールが{person}氏から届き、添付の文書を開くと"
                                       f"FAM{i}が起動して外部の指令サーバへ通信した。経理部門の端末で検知された。"})
    return objects


def ner_row(n: int) -> str:
    """Fields/s of the NER pass alone (GiNZA model load excluded), or why it did not run."""
    from sanitizer import ner

    if not ner.available():
        return "NER (DI-10b): not run - GiNZA not installed (pip install -e '.[ner]')"
    objects = ner_prose_bundle(n)
    ner.find(objects[:2])  # warm-up
    seconds, hits = _timed(lambda: ner.find(objects))
    return (f"| NER pass (DI-10b), Japanese prose | {n:,} fields | {len(hits):,} holds | {seconds:.2f} s | "
            f"{n / seconds:,.0f} fields/s |")


# ---------------------------------------------------------------------------- reporting
def _fmt(value: float | int | None, spec: str) -> str:
    return "—" if value is None else format(value, spec)


def table(rows: list[Measurement]) -> str:
    """The Markdown results table."""
    lines = ["| input | objects in | objects out | sanitize s | objects/s | first run s | serialise s "
             "| peak MiB (tracemalloc) |",
             "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for m in rows:
        out = _fmt(m.objects_out, ",") if m.outcome == "ok" else m.outcome
        lines.append(f"| {m.label} | {m.objects_in:,} | {out} | {m.sanitize_s:.3f} | {m.objects_per_s:,.0f} | {m.first_s:.3f} | "
                     f"{_fmt(m.serialise_s, '.4f')} | {_fmt(m.peak_mib, '.1f')} |")
    return "\n".join(lines)


def verdict(rows: list[Measurement]) -> str:
    """One line per generated bundle: is the ≥ 5,000 objects/s target met?"""
    lines = []
    for m in (r for r in rows if r.generated):
        met = m.outcome == "ok" and m.objects_per_s >= TARGET_OBJECTS_PER_S
        lines.append(f"Target ≥ {TARGET_OBJECTS_PER_S:,} objects/s on {m.label}: "
                     f"{'MET' if met else 'NOT MET'} ({m.objects_per_s:,.0f} objects/s"
                     f"{'' if m.outcome == 'ok' else ', ' + m.outcome}).")
    return "\n".join(lines)


def code_version() -> str:
    """The repository's commit (and whether the work tree is dirty), or "unknown"."""
    root = Path(__file__).resolve().parents[1]
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=root, capture_output=True,
                              text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "sanitizer"], cwd=root,
                               capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return head + (" + uncommitted changes in sanitizer/" if dirty else "")


def max_rss_mib() -> float:
    """Peak resident set size of this process (ru_maxrss is KiB on Linux, bytes on macOS)."""
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss / 2**20 if sys.platform == "darwin" else rss / 2**10


# ---------------------------------------------------------------------------- main
def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="10000",
                        help="comma-separated sizes of the generated bundles (default: 10000)")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs per input; the best is kept (default: 3)")
    parser.add_argument("--no-real", action="store_true", help="skip the real public bundles")
    parser.add_argument("--ner", type=int, default=0, metavar="N",
                        help="also time the optional NER pass (DI-10b) on N Japanese prose fields")
    parser.add_argument("--profile-top", type=int, default=0, metavar="N",
                        help="cProfile the first generated bundle and print the top N functions")
    parser.add_argument("--against", type=Path, metavar="DIR",
                        help="compare with the sanitizer/ of another checkout, side by side (first size only)")
    parser.add_argument("--rounds", type=int, default=5, help="rounds of --against (default: 5)")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    try:
        args.sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    except ValueError:
        parser.error("--sizes must be a comma-separated list of integers")
    if not args.sizes or any(n < 3 for n in args.sizes) or args.repeat < 1:
        parser.error("--sizes must list integers >= 3 and --repeat must be >= 1")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.worker:
        return _worker(args.sizes[0], args.repeat)
    if args.against:
        print(side_by_side(args.against, args.sizes[0], args.rounds, args.repeat))
        return 0
    cases = generated_cases(args.sizes)
    notes: list[str] = []
    if not args.no_real:
        real, notes = real_cases()
        cases += real
    rows = []
    for case in cases:
        print(f"… {case.label}", file=sys.stderr, flush=True)
        rows.append(measure(case, args.repeat))

    print(f"## sanitize() benchmark — best of {args.repeat}, one core (single-threaded CPython "
          f"{platform.python_version()}, {platform.machine()})\n")
    print(f"Code: {code_version()}\n")
    print(table(rows))
    print()
    print(verdict(rows))
    for note in notes:
        print(f"Note: {note}.")
    print("sanitize s and objects/s: best run, JSON parsing excluded. first run s: the first timed run, with the\n"
          "sanitiser's process-wide caches (e.g. parsed pattern shapes) as earlier inputs left them; a large gap\n"
          "to the best run means cache warm-up. peak MiB: one separate traced run of sanitize() + to_json().")
    if args.ner:
        print("\n" + ner_row(args.ner))
    if args.profile_top:
        print(profile_top(cases[0], args.profile_top))
    print(f"Process max RSS: {max_rss_mib():,.1f} MiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Strict STIX 2.1 validation speed (issue 12), side by side in one run.

Run from the repository root, in the project venv:

    python bench/strict.py [--n 100000] [--sample 300]

For two inputs — N generated indicators (bench/taxii_common.py `indicator`, the bundle
`bench/taxii.py` publishes) and every object of the real bundles under tests/data/real-stix/ —
prints objects/s of:
- plain: `stix2validator.validate_instance` per object (a fresh schema registry per call), on a
  sample (`--sample`, it is slow);
- cached registry: `stix_fast.validator_errors` (the validator's schema and MUST checks, one
  pre-crawled registry, one validator per schema), same sample;
- hub check: `stix_strict.check` over all the objects as `hub publish` calls it (fast path for
  the common valid shapes, cached-registry validator for the rest, plus the reference check),
  with the share of objects the fast path decided. Caches start cold for each input.
Everything runs single-threaded, in this process.
"""
from __future__ import annotations

import argparse
import json
import platform
import random
import sys
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(BENCH))  # bench/ is not a package
sys.path.insert(0, str(ROOT))

from stix2validator import validate_instance  # noqa: E402

from hub.services import stix_fast, stix_shapes, stix_strict  # noqa: E402
from taxii_common import indicator  # noqa: E402

REAL = ROOT / "tests" / "data" / "real-stix"


def real_objects() -> list[dict]:
    out = []
    for path in sorted(list(REAL.rglob("*.json")) + list(REAL.rglob("*.stix2"))):
        bundle = json.loads(path.read_text(encoding="utf-8"))
        out += [o for o in bundle.get("objects", []) if isinstance(o, dict)]
    return out


def rate(fn, objs: list) -> float:
    started = time.perf_counter()
    fn(objs)
    return len(objs) / (time.perf_counter() - started)


def _plain(objs):
    for o in objs:
        try:
            validate_instance(o, stix_fast.OPTIONS)
        except Exception:  # noqa: BLE001
            pass


def _cached(objs):
    for o in objs:
        try:
            stix_fast.validator_errors(o)
        except Exception:  # noqa: BLE001
            pass


def _cold() -> None:
    for cache in (stix_shapes._PATTERN_VERDICTS, stix_shapes._SIMPLE_VERDICTS, stix_shapes._LAYOUTS):
        cache.clear()


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=100_000, help="generated indicators (default 100,000)")
    ap.add_argument("--sample", type=int, default=300, help="objects for the slow validators (default 300)")
    args = ap.parse_args(argv)
    stix_fast.validator_errors(indicator(0))  # build the registry outside the timings
    inputs = [(f"{args.n:,} generated indicators", [indicator(i) for i in range(args.n)]),
              ("real-stix (all objects, mixed types)", real_objects())]
    print(f"Python {platform.python_version()}, {platform.machine()}; objects/s, single-threaded\n")
    print("| input | objects | plain validator | cached registry | hub check (fast path) | decided by fast path |")
    print("|---|---|---|---|---|---|")
    for label, objs in inputs:
        sample = random.Random(12).sample(objs, min(args.sample, len(objs)))
        plain, cached = rate(_plain, sample), rate(_cached, sample)
        _cold()
        failures: list[str] = []
        check = rate(lambda o: failures.extend(stix_strict.check(o, lambda ids: set(ids))), objs)
        fast = sum(map(stix_fast.certainly_valid, objs))
        print(f"| {label} | {len(objs):,} | {plain:,.0f} | {cached:,.0f} | {check:,.0f} | "
              f"{100 * fast / len(objs):.1f} % |")
    print("\nplain and cached registry: a seeded sample of "
          f"{args.sample} objects per input; hub check: all objects, caches cold at the start.")


if __name__ == "__main__":
    main()

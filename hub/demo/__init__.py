"""`hub demo`: sanitise the demo submission shipped with the hub and show what changed.

It stands in for the quickstart until the review server exists: one command on a fresh
machine shows the sanitiser end to end on made-up data.
"""
from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

from sanitizer import LeakRefused, Policy, VictimProfile, sanitize
from sanitizer.classify import CLASS_LABELS

from ..cli_io import dump, write_atomic

DEMO_SECRET = b"hub-demo-secret-not-for-production"


def _load(name: str):
    return json.loads(resources.files("hub").joinpath("demo", name).read_text(encoding="utf-8"))


def run_demo(out_dir: Path) -> int:
    """Sanitise the demo submission into out_dir and print a summary; return the exit code."""
    bundle, profile, policy = _load("submission.json"), _load("profile.json"), _load("policy.json")
    try:
        result = sanitize(bundle, VictimProfile.from_dict(profile), Policy.from_dict(policy), secret=DEMO_SECRET)
    except LeakRefused as exc:
        print(f"demo refused by the leak gate: {exc}")
        return 3
    out_dir.mkdir(parents=True, exist_ok=True)
    files = {
        "submission.json": dump(bundle), "profile.json": dump(profile),
        "sanitised.json": result.to_json(),
        "report-public.json": dump(result.report.public()),
        "report-private.json": dump(result.report.private()),
    }
    for name, data in files.items():
        write_atomic(str(out_dir / name), data)
    summary = result.report.summary()
    print("非特定化デモ / de-identification demo")
    print(f"  objects in: {len(bundle['objects'])}  objects out: {len(result.bundle['objects'])}  "
          f"TLP: {result.report.tlp}")
    print("  changes by rule:")
    for rule, count in summary["changes_by_rule"].items():
        print(f"    {rule}: {count}")
    print("  kept objects by class:")
    for cls, count in summary["objects_by_class"].items():
        print(f"    {CLASS_LABELS.get(cls, cls)}: {count}")
    print(f"  held for analyst review (DI-04/DI-17): {summary['needs_review']}")
    print("open these files:")
    for name in files:
        print(f"  {out_dir / name}")
    return 0

"""Issue 12 item 7: the data the hub ships as its demo is valid STIX 2.1 (stix2-validator: no
errors), so `hub quickstart` and the tests never publish something peers' parsers reject."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from stix2validator import ValidationOptions, validate_instance

DEMO = Path(__file__).resolve().parent.parent / "hub" / "demo"
STIX_FILES = sorted(p for p in DEMO.rglob("*.json") if json.loads(p.read_text(encoding="utf-8")).get("type") == "bundle")


def test_the_demo_ships_stix_bundles():
    assert [p.name for p in STIX_FILES] == ["submission.json"]


@pytest.mark.parametrize("path", STIX_FILES, ids=lambda p: p.name)
def test_demo_bundle_passes_stix2_validator(path):
    result = validate_instance(json.loads(path.read_text(encoding="utf-8")), ValidationOptions(version="2.1"))
    assert result.is_valid, [str(e) for e in result.errors]


def test_the_validator_catches_the_hash_the_demo_used_to_ship():
    """The check can fail: a 65-character SHA-256 (what the demo had) is an error."""
    bundle = json.loads((DEMO / "submission.json").read_text(encoding="utf-8"))
    for obj in bundle["objects"]:
        if "SHA-256" in obj.get("hashes", {}):
            obj["hashes"]["SHA-256"] += "1"
            break
    else:
        pytest.fail("the demo has no SHA-256 to break")
    assert not validate_instance(bundle, ValidationOptions(version="2.1")).is_valid

"""Golden files: the sanitiser's whole output (bundle and public report) for three small cases,
compared with fixed expected JSON in tests/golden/ (as cti-python-stix2 compares with
EXPECTED_INDICATOR). The sanitiser is deterministic for a fixed secret, profile, policy and
conversion time, so any change of output shows up here as a diff to review.

When the output changes on purpose (a rule changed), regenerate and review the diff:

    HUB_UPDATE_GOLDEN=1 .venv/bin/python -m pytest tests/test_golden.py
"""
from __future__ import annotations

import json
import os
from datetime import datetime, timezone

import pytest

from sanitizer.formats import csv_to_bundle, text_to_bundle

from conftest import bundle, indicator, run, sco, sdo

GOLDEN = os.path.join(os.path.dirname(__file__), "golden")
NOW = datetime(2025, 3, 18, 9, 0, tzinfo=timezone.utc)
UPDATE = os.environ.get("HUB_UPDATE_GOLDEN") == "1"


def _stix_case() -> dict:
    victim = sdo("identity", 1, name="株式会社アクメ精工", identity_class="organization")
    malware = sdo("malware", 2, name="PlugX", is_family=True,
                  description="Seen on ACM-FS01 of Acme Seiko, beaconing to c2.attacker.example")
    ind = indicator(3, "[domain-name:value = 'c2.attacker.example'] OR [ipv4-addr:value = '198.51.100.97']",
                    valid_until="2025-06-30T13:14:15Z")
    rel = sdo("relationship", 4, relationship_type="indicates", source_ref=ind["id"], target_ref=malware["id"])
    account = sco("user-account", 5, user_id="t.yamada")
    return bundle(victim, malware, ind, rel, account)


CASES = {
    "stix_victim_and_c2": _stix_case,
    "csv_iocs": lambda: csv_to_bundle("type,value,description\n"
                                      "domain,c2.attacker.example,C2 of the campaign\n"
                                      "ipv4,198.51.100.98,victim file server\n"
                                      "sha256," + "ab" * 32 + ",dropper seen on ACM-FS01\n", now=NOW),
    "text_iocs_ja": lambda: text_to_bundle("アクメ精工の端末 ACM-FS01 から c2[.]attacker[.]example と "
                                           "203.0.113.7 への通信を確認。担当は山田 太郎。", now=NOW),
}


def _actual(name: str) -> dict:
    result = run(CASES[name]())
    return {"bundle": result.bundle, "report": result.report.public()}


@pytest.mark.parametrize("name", sorted(CASES))
def test_output_equals_the_golden_file(name):
    path = os.path.join(GOLDEN, f"{name}.json")
    actual = json.loads(json.dumps(_actual(name)))  # tuples and the like as JSON has them
    if UPDATE:
        with open(path, "w", encoding="utf-8") as fh:
            json.dump(actual, fh, ensure_ascii=False, indent=2, sort_keys=True)
            fh.write("\n")
    with open(path, encoding="utf-8") as fh:
        expected = json.load(fh)
    assert actual == expected, f"{name}: output differs from {path} (HUB_UPDATE_GOLDEN=1 regenerates it)"


def test_golden_files_hold_no_victim_value():
    """The expected outputs are themselves de-identified (a wrong golden file would enshrine a leak)."""
    for name in CASES:
        with open(os.path.join(GOLDEN, f"{name}.json"), encoding="utf-8") as fh:
            text = fh.read()
        for value in ("アクメ精工", "Acme Seiko", "ACM-FS01", "t.yamada", "山田", "198.51.100.97", "198.51.100.98"):
            assert value not in text, (name, value)

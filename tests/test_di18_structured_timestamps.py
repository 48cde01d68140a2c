"""DI-18: a structured STIX timestamp is judged by its time of day. The hub's own day-granular
re-versioning (midnight plus a millisecond per version) is not a victim time; any time of day is."""
from __future__ import annotations

import pytest

from sanitizer import VictimProfile
from sanitizer.matching import ProfileIndex
from sanitizer.rules import di18_leak_gate

from conftest import PROFILE, bundle, sdo


@pytest.mark.parametrize("modified, refused", [
    ("2026-12-01T00:00:00.000Z", False),
    ("2026-12-01T00:00:00.001Z", False),
    ("2026-12-01T00:00:00.999Z", False),
    ("2026-12-01T00:00:01.000Z", True),
    ("2026-12-01T09:13:00.001Z", True),
    ("2026-12-01T23:59:59Z", True),
])
def test_di18_version_bump_milliseconds_pass_a_time_of_day_does_not(modified, refused):
    obj = sdo("sighting", 1, sighting_of_ref="indicator--" + "0" * 8 + "-0000-4000-8000-" + "0" * 12, count=3)
    obj["created"], obj["modified"] = "2026-12-01T00:00:00.000Z", modified
    hits = di18_leak_gate.scan(bundle(obj), ProfileIndex(VictimProfile.from_dict(PROFILE)))
    assert any(h.rule == "DI-09" and h.where.endswith(".modified") for h in hits) == refused


def test_di18_the_same_time_written_in_free_text_is_still_refused():
    obj = sdo("malware", 2, name="X", is_family=True, description="seen at 2026-12-01T09:13:00.001Z on the host")
    hits = di18_leak_gate.scan(bundle(obj), ProfileIndex(VictimProfile.from_dict(PROFILE)))
    assert any(h.rule == "DI-09" and h.where.endswith(".description") for h in hits)

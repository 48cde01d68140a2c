"""Hostile and malformed input: the sanitiser answers with output, BadInput or LeakRefused — never
another exception (which the CLI would have to report as an internal error). Clean input is never
refused: a sanitiser that refused everything would fail here."""
from __future__ import annotations

import copy
import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sanitizer import BadInput, LeakRefused
from sanitizer.rules.di12_patterns import is_valid

from conftest import SHARED, bundle, indicator, run, sco, sdo

BASE = bundle(
    sdo("identity", 1, name="株式会社アクメ精工", identity_class="organization"),
    sdo("malware", 2, name="PlugX", is_family=True, description="C2 192.0.2.5",
        external_references=[{"source_name": "mitre-attack", "external_id": "T1566"}],
        kill_chain_phases=[{"kill_chain_name": "mitre-attack", "phase_name": "execution"}]),
    indicator(3, "[ipv4-addr:value = '192.0.2.5'] OR [file:hashes.MD5 = '" + "a" * 32 + "']"),
    sco("ipv4-addr", 4, value="192.0.2.5"),
    sco("file", 5, name="x.dll", hashes={"SHA-256": "b" * 64}, extensions={"ntfs-ext": {"sid": "S-1-5-18"}}),
    sco("email-message", 6, is_multipart=True, subject="hello", from_ref=sco("email-addr", 7)["id"],
        body_multipart=[{"body": "x", "content_type": "text/plain"}]),
    sco("email-addr", 7, value="a@attacker.example"),
    sdo("relationship", 8, relationship_type="indicates", source_ref=indicator(3, "")["id"],
        target_ref=sdo("malware", 2)["id"]),
    sdo("sighting", 9, sighting_of_ref=indicator(3, "")["id"], where_sighted_refs=[sdo("identity", 1)["id"]],
        first_seen="2025-03-14T02:13:45Z"),
    sdo("location", 10, country="JP", city="Hamamatsu", latitude=34.7, longitude=137.7),
)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=10), inner, max_size=3),
    max_leaves=8)


def test_the_base_bundle_is_published_not_refused():
    """The bundle the properties below start from passes: refusals there come from the change."""
    result = run(copy.deepcopy(BASE))
    malware = [o for o in result.bundle["objects"] if o["type"] == "malware"]
    assert malware and "192.0.2.5" in malware[0]["description"]
    assert "アクメ精工" not in result.to_json().decode("utf-8")


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(min_value=0, max_value=len(BASE["objects"]) - 1), st.data())
def test_any_property_of_any_type_never_crashes(index, data):
    b = copy.deepcopy(BASE)
    obj = b["objects"][index]
    key = data.draw(st.sampled_from(sorted(obj) + ["x_custom", "extensions", "granular_markings"]))
    obj[key] = data.draw(json_values)
    try:
        result = run(b)
    except (BadInput, LeakRefused):
        return
    json.loads(result.to_json())


@settings(max_examples=150, deadline=None)
@given(st.text(max_size=200))
def test_any_text_in_a_description_never_crashes_or_leaks_a_listed_name(text):
    b = copy.deepcopy(BASE)
    b["objects"][1]["description"] = text + " 株式会社アクメ精工 " + text
    try:
        result = run(b)
    except LeakRefused:
        return
    assert "アクメ精工" not in result.to_json().decode("utf-8")


@settings(max_examples=150, deadline=None)
@given(st.text(max_size=200))
def test_any_clean_text_in_a_description_is_published_not_refused(text):
    b = copy.deepcopy(BASE)
    b["objects"][1]["description"] = text
    result = run(b)  # a refusal (or any exception) fails the test
    assert any(o["type"] == "malware" for o in result.bundle["objects"])


@settings(max_examples=150, deadline=None)
@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=60))
def test_any_pattern_value_gives_a_parsable_pattern_or_none(value):
    escaped = value.replace("\\", "\\\\").replace("'", "\\'")
    b = bundle(indicator(20, f"[url:value = '{escaped}'] OR [ipv4-addr:value = '192.0.2.1']"))
    result = run(b)  # no victim value in it: a refusal fails the test
    for o in result.bundle["objects"]:
        if o["type"] == "indicator":
            assert is_valid(o["pattern"])

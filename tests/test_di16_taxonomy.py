"""DI-16 v2: one fixed sector taxonomy (top level of industry-sector-ov); region is the country, or
the prefecture group when k members are there; nothing finer."""
from __future__ import annotations

import pytest

from sanitizer import BadInput, Policy
from sanitizer.rules import di16_sector_region as di16

from conftest import PROFILE, bundle, objects_of, run, sdo, text_of

MAL = sdo("malware", 3, name="PlugX", is_family=True)


@pytest.mark.parametrize("given, top", [
    ("government-regional", "government"), ("government-local", "government"), ("infrastructure-water", "infrastructure"),
    ("banking", "financial-services"), ("shinkin", "financial-services"), ("automotive-parts", "automotive"),
    ("water-supply", "utilities"), ("Financial Services", "financial-services"), ("university", "education"),
    ("manufacturing", "manufacturing"), ("semiconductor", "technology"),
])
def test_di16_sub_sectors_and_product_lines_map_to_the_top_level(given, top):
    assert di16.top_sector(given) == top


@pytest.mark.parametrize("given", ["kiriga-sg-agent", "xyz", "", "precision-bearings-for-rail"])
def test_di16_unknown_sector_is_omitted(given):
    assert di16.top_sector(given) is None


def _victim_identity(profile, policy):
    victim = sdo("identity", 1, name="株式会社アクメ精工", identity_class="organization")
    rel = sdo("relationship", 2, relationship_type="targets", source_ref=MAL["id"], target_ref=victim["id"])
    res = run(bundle(victim, MAL, rel), profile, policy)
    return [i for i in objects_of(res, "identity") if i["name"].startswith("Organisation")][0], res


def test_di16_sub_sector_counts_add_up_to_the_top_level_and_only_it_is_named():
    profile = {**PROFILE, "sector": "government-regional"}
    policy = Policy(sector_member_counts={"government-regional": 1, "government-national": 1, "government": 1})
    ident, res = _victim_identity(profile, policy)
    assert ident["sectors"] == ["government"] and "regional" not in text_of(res)
    ident, _ = _victim_identity(profile, Policy(sector_member_counts={"government-regional": 2}))
    assert "sectors" not in ident  # fewer than k: omitted


def test_di16_prefecture_group_only_when_k_members_are_there():
    profile = {**PROFILE, "prefecture": "長野県"}
    ident, res = _victim_identity(profile, Policy(region_member_counts={"chubu": 3}))
    assert ident["name"].endswith("(JP, Chubu)") and "中部地方" in ident["description"]
    assert "長野" not in text_of(res)
    ident, _ = _victim_identity(profile, Policy(region_member_counts={"chubu": 2}))
    assert ident["name"].endswith("(JP)")
    ident, _ = _victim_identity(profile, Policy())
    assert ident["name"].endswith("(JP)")


@pytest.mark.parametrize("pref, group", [("東京都", "kanto"), ("北海道", "hokkaido"), ("大阪府", "kinki"),
                                         ("沖縄県", "kyushu-okinawa"), ("長野", "chubu"), ("どこか県", None)])
def test_di16_prefecture_groups(pref, group):
    assert di16.prefecture_group(pref) == group


def test_di16_identity_sectors_in_the_bundle_are_generalised():
    cls = sdo("identity", 4, name="Japanese regional governments", identity_class="class",
              sectors=["government-regional", "government-local", "unknown-thing"])
    res = run(bundle(cls, MAL))
    (out,) = [i for i in objects_of(res, "identity") if i["name"].startswith("Japanese")]
    assert out["sectors"] == ["government"]


def test_di16_location_loses_everything_below_the_country():
    loc = sdo("location", 5, country="JP", region="eastern-asia", administrative_area="JP-20", city="Matsumoto",
              latitude=36.2, longitude=137.9, street_address="1-2-3")
    res = run(bundle(loc))
    (out,) = objects_of(res, "location")
    assert {k for k in out if k in ("city", "administrative_area", "latitude", "longitude", "street_address")} == set()


def test_di16_region_counts_validated():
    with pytest.raises(BadInput, match="region_member_counts"):
        Policy.from_dict({"region_member_counts": {"chubu": "three"}})

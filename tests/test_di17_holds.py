"""DI-17 v2: every infrastructure value that will be published is held until k distinct reporting
CSIRTs have it: indicator values, infrastructure SCOs and infrastructure objects."""
from __future__ import annotations

from sanitizer import Policy

from conftest import bundle, indicator, run, sco, sdo


def _held(res) -> set[str]:
    return {h["original"] for h in res.report.holds if "DI-17" in h["rules"]}


def test_di17_scos_and_infrastructure_objects_are_held_like_indicators():
    ip = sco("ipv4-addr", 1, value="203.0.113.77")
    dom = sco("domain-name", 2, value="cdn-sync.example")
    infra = sdo("infrastructure", 3, name="cdn-sync relay", infrastructure_types=["command-and-control"])
    ind = indicator(4, "[ipv4-addr:value = '203.0.113.77']")
    res = run(bundle(ip, dom, infra, ind))
    assert _held(res) == {ip["id"], dom["id"], infra["id"], ind["id"]}


def test_di17_values_known_from_k_csirts_are_not_held():
    ip = sco("ipv4-addr", 1, value="203.0.113.77")
    dom = sco("domain-name", 2, value="cdn-sync.example")
    ind = indicator(4, "[ipv4-addr:value = '203.0.113.77'] OR [domain-name:value = 'CDN-SYNC.example']")
    policy = Policy(known_reporter_counts={"203.0.113.77": 3, "cdn-sync.example": 3})
    assert not _held(run(bundle(ip, dom, ind), policy=policy))
    policy = Policy(known_reporter_counts={"203.0.113.77": 3, "cdn-sync.example": 2})
    assert _held(run(bundle(ip, dom, ind), policy=policy)) == {dom["id"], ind["id"]}


def test_di17_hashes_and_ttps_are_not_infrastructure():
    f = sco("file", 1, hashes={"SHA-256": "a" * 64})
    ap = sdo("attack-pattern", 2, name="Phishing")
    res = run(bundle(f, ap, indicator(3, "[file:hashes.'SHA-256' = '" + "b" * 64 + "']")))
    assert not _held(res)

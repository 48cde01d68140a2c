"""DI-04 v2 object level: the victim's own certificates and autonomous systems are dropped whole
(fingerprints, serial and AS number/name with them, wherever else they are written); the
attacker's certificates and AS stay."""
from __future__ import annotations

import pytest

from conftest import bundle, indicator, objects_of, run, sco, sdo, text_of

MAL = sdo("malware", 3, name="X", is_family=True)
VICTIM_SHA = "ab" * 32
ATTACKER_SHA = "cd" * 32


def _cert(n, subject, sha, serial, san=None):
    c = sco("x509-certificate", n, subject=subject, issuer="C=US, O=Let's Encrypt, CN=R11", serial_number=serial,
            hashes={"SHA-256": sha})
    if san:
        c["x509_v3_extensions"] = {"subject_alternative_name": san}
    return c


@pytest.mark.parametrize("subject,san", [
    ("CN=vpn.acme-seiko.example", None),
    ("C=JP, ST=Shizuoka, L=Hamamatsu, O=Acme Seiko Co., Ltd., CN=portal", None),
    ("CN=portal", "DNS:portal.acme-seiko.example, DNS:www.acme-seiko.example"),
    ("CN=ＡＣＭＥ　ＳＥＩＫＯ", None),
])
def test_di_04_victim_certificate_dropped_with_fingerprint_and_serial(subject, san):
    victim = _cert(10, subject, VICTIM_SHA, "0a:1b:2c:3d:4e:5f:60:71", san)
    attacker = _cert(11, "CN=update-check.test", ATTACKER_SHA, "7f:00:11:22:33:44:55:66")
    obs = sdo("observed-data", 12, first_observed="2025-03-01T00:00:00Z", last_observed="2025-03-01T00:00:00Z",
              number_observed=1, object_refs=[victim["id"], attacker["id"]])
    rep = sdo("report", 13, name="r", report_types=["threat-report"], published="2025-03-18T00:00:00Z",
              object_refs=[MAL["id"]], description=f"The portal cert {VICTIM_SHA} (serial 0a:1b:2c:3d:4e:5f:60:71) "
                                                   f"was replaced; the C2 used {ATTACKER_SHA}.")
    ind = indicator(41, f"[x509-certificate:hashes.'SHA-256' = '{VICTIM_SHA}'] OR "
                        f"[x509-certificate:hashes.'SHA-256' = '{ATTACKER_SHA}']")
    res = run(bundle(MAL, victim, attacker, obs, rep, ind))
    out = text_of(res)
    assert VICTIM_SHA not in out and "0a:1b:2c:3d:4e:5f:60:71" not in out
    assert [c["subject"] for c in objects_of(res, "x509-certificate")] == ["CN=update-check.test"]
    assert ATTACKER_SHA in objects_of(res, "indicator")[0]["pattern"]
    assert ATTACKER_SHA in objects_of(res, "report")[0]["description"]


def test_di_04_victim_as_by_address_dropped_and_removed_from_text():
    vas = sco("autonomous-system", 20, number=64503, name="ACMESK-NET", rir="APNIC")
    aas = sco("autonomous-system", 21, number=64510, name="VPSWAVE-AS")
    vip = sco("ipv4-addr", 22, value="198.51.100.98", belongs_to_refs=[vas["id"]])
    aip = sco("ipv4-addr", 23, value="192.0.2.233", belongs_to_refs=[aas["id"]])
    rep = sdo("report", 24, name="r", report_types=["threat-report"], published="2025-03-18T00:00:00Z",
              object_refs=[MAL["id"]], description="Victim network AS64503 (ACMESK-NET, AS 64503); actor nodes "
                                                   "in AS64510 (VPSWAVE-AS).")
    res = run(bundle(MAL, vas, aas, vip, aip, rep))
    out = text_of(res)
    assert "64503" not in out and "acmesk-net" not in out.lower()
    assert [a["number"] for a in objects_of(res, "autonomous-system")] == [64510]
    assert "AS64510 (VPSWAVE-AS)" in objects_of(res, "report")[0]["description"]
    assert objects_of(res, "ipv4-addr")[0]["belongs_to_refs"] == [objects_of(res, "autonomous-system")[0]["id"]]


def test_di_04_victim_as_named_in_text_or_by_name():
    by_name = sco("autonomous-system", 20, number=65001, name="Acme Seiko Backbone")
    by_text = sco("autonomous-system", 21, number=65002, name="HAMANET")
    other = sco("autonomous-system", 22, number=65003, name="BULLETPROOF-1")
    obs = sdo("observed-data", 12, first_observed="2025-03-01T00:00:00Z", last_observed="2025-03-01T00:00:00Z",
              number_observed=1, object_refs=[by_name["id"], by_text["id"], other["id"]])
    rep = sdo("report", 24, name="r", report_types=["threat-report"], published="2025-03-18T00:00:00Z",
              object_refs=[MAL["id"]], description="The victim AS65002 announced the VPN range; C2 on AS65003.")
    res = run(bundle(MAL, by_name, by_text, other, obs, rep))
    assert [a["number"] for a in objects_of(res, "autonomous-system")] == [65003]
    out = text_of(res)
    assert "65001" not in out and "65002" not in out and "hamanet" not in out.lower()
    assert "AS65003" in out

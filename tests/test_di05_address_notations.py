"""DI-05 v2 / DI-00 view 4: a victim or internal address is removed in every notation a person
or tool writes it, attacker addresses in the same notations stay, versions and CPEs are no
addresses (P2), and precise coordinates go.

The output is checked with a decoder written here (not the sanitiser's): it cuts the text into
address-like tokens and reads every one in every notation back to an integer.
"""
from __future__ import annotations

import ipaddress
import random
import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import bundle, indicator, objects_of, run, sco, sdo, text_of

VICTIM_NET = ipaddress.ip_network("198.51.100.96/29")  # conftest PROFILE's range
VICTIM_V6 = ipaddress.ip_network("2001:db8:a:1::/64")


# ------------------------------------------------------------------ independent decoder
def _v4_part(p: str):
    p = p.strip()
    if re.fullmatch(r"0x[0-9a-f]+", p):
        return [int(p, 16)]
    if not p.isdigit():
        return []
    vals = [int(p)]
    if len(p) > 1 and p[0] == "0" and set(p) <= set("01234567"):
        vals.append(int(p, 8))
    return vals


def decode_ipv4s(text: str) -> set[ipaddress.IPv4Address]:
    """Every IPv4 address any token of `text` may spell (dotted in any base, 32-bit int, hex,
    in-addr.arpa, embedded in IPv6), after undoing defanging and full-width forms."""
    import unicodedata
    t = unicodedata.normalize("NFKC", text).lower()
    for a, b in (("[.]", "."), ("(.)", "."), ("{.}", "."), ("[dot]", ".")):
        t = t.replace(a, b)
    found: set[ipaddress.IPv4Address] = set()
    for dotted in re.findall(r"(?:0x[0-9a-f]+|[0-9]+)(?:\.(?:0x[0-9a-f]+|[0-9]+)){3}", t):
        parts = dotted.split(".")
        if len(parts) == 4:
            for a in _v4_part(parts[0]):
                for b in _v4_part(parts[1]):
                    for c in _v4_part(parts[2]):
                        for d in _v4_part(parts[3]):
                            if max(a, b, c, d) <= 255:
                                found.add(ipaddress.IPv4Address(f"{a}.{b}.{c}.{d}"))
    for raw in re.findall(r"[0-9a-f.:]+", t):
        for tok in {raw, raw.strip("."), raw.rstrip(".:")}:
            if tok.count(":") >= 2:
                try:
                    ip6 = ipaddress.IPv6Address(tok)
                except ValueError:
                    continue
                found.add(ipaddress.IPv4Address(int(ip6) & 0xFFFFFFFF))
    for m in re.finditer(r"(?<![0-9a-z])(0x[0-9a-f]{1,8}|[0-9]{8,10})(?![0-9a-z])", t):  # one 32-bit number
        v = int(m.group(1), 16) if m.group(1).startswith("0x") else int(m.group(1))
        if v < 2 ** 32:
            found.add(ipaddress.IPv4Address(v))
    for m in re.finditer(r"((?:[0-9]{1,3}\.){3}[0-9]{1,3})\.in-addr\.arpa", t):
        found.add(ipaddress.IPv4Address(".".join(reversed(m.group(1).split(".")))))
    return found


def decode_ipv6s(text: str) -> set[ipaddress.IPv6Address]:
    import unicodedata
    t = unicodedata.normalize("NFKC", text).lower()
    found = set()
    for tok in re.findall(r"[0-9a-f:]{3,}", t):
        try:
            found.add(ipaddress.IPv6Address(tok.strip(":") if tok.count(":") < 2 else tok))
        except ValueError:
            pass
    for m in re.finditer(r"((?:[0-9a-f]\.){32})ip6\.arpa", t):
        found.add(ipaddress.IPv6Address(int(m.group(1).replace(".", "")[::-1], 16)))
    return found


# ------------------------------------------------------------------ notations
def notations(ip: ipaddress.IPv4Address, rnd: random.Random) -> list[str]:
    o = list(ip.packed)
    n = int(ip)
    fw = str.maketrans("0123456789.", "０１２３４５６７８９．")
    return [
        ".".join(f"{x:03d}" for x in o),                       # zero-padded
        f"https://{n}:8443/x",                                 # integer as URL host
        f"target {n}:443",                                     # integer before a port
        f"ip 0x{n:08X}",                                       # hex word after an address word
        ".".join(f"0{x:o}" for x in o) + ":10443",             # dotted octal
        ".".join(f"0x{x:02x}" for x in o),                     # dotted hex
        f"0x{o[0]:02x}.{o[1]}.0{o[2]:o}.{o[3]}",               # mixed bases
        "[.]".join(map(str, o)),                               # defanged
        "(.)".join(map(str, o)),
        "［．］".join(map(str, o)),                             # full-width brackets and dot
        str(ip).translate(fw),                                 # full-width digits and dot
        f"::ffff:{ip}",                                        # IPv4-mapped, dotted tail
        str(ipaddress.IPv6Address((0xFFFF << 32) | n)).upper(),  # IPv4-mapped, hex tail
        f"64:ff9b::{n >> 16:x}:{n & 0xFFFF:x}",                # NAT64
        f"[::ffff:{ip}]:443",
        ".".join(reversed([str(x) for x in o])) + ".in-addr.arpa",
        rnd.choice(["peer=", "dst ", "bind="]) + f"0x{n:08x}",
    ]


def _desc(text: str) -> dict:
    return sdo("malware", 3, name="X", is_family=True, description=text)


@pytest.mark.parametrize("form", range(17))
def test_di_05_victim_address_removed_in_every_notation(form):
    rnd = random.Random(form)
    victim = ipaddress.IPv4Address("198.51.100.98")
    text = notations(victim, rnd)[form]
    res = run(bundle(_desc(f"seen {text} in the log")))
    out = objects_of(res, "malware")[0]["description"]
    assert victim not in decode_ipv4s(out), (text, out)
    assert "[VICTIM-IP]" in out


@pytest.mark.parametrize("form", range(17))
def test_di_05_attacker_address_kept_in_every_notation(form):
    rnd = random.Random(form)
    attacker = ipaddress.IPv4Address("203.0.113.77")
    text = notations(attacker, rnd)[form]
    out = objects_of(run(bundle(_desc(f"seen {text} in the log"))), "malware")[0]["description"]
    assert out == f"seen {text} in the log"


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(host=st.integers(min_value=0, max_value=7), internal=st.sampled_from(
    ["10.{}.{}.{}", "192.168.{}.{}", "172.{}.{}.{}", "127.0.{}.{}", "169.254.{}.{}", "100.{}.{}.{}"]),
    a=st.integers(0, 255), b=st.integers(0, 255), c=st.integers(0, 255), seed=st.integers(0, 10 ** 6))
def test_di_05_generated_victim_and_internal_addresses_never_survive(host, internal, a, b, c, seed):
    rnd = random.Random(seed)
    victim = VICTIM_NET[host]
    parts = [a, b, c]
    if internal.startswith("172."):
        parts[0] = 16 + a % 16
    if internal.startswith("100."):
        parts[0] = 64 + a % 64
    inner = ipaddress.IPv4Address(internal.format(*parts[:internal.count("{}")]))
    # Internal addresses count in every notation where an address is written; bare numbers are
    # left to the victim-range check (a bare 32-bit number is often just a number).
    vforms, iforms = notations(victim, rnd), [f for f in notations(inner, rnd) if not f.startswith("seen")]
    text = "; ".join([rnd.choice(vforms), rnd.choice(iforms)])
    res = run(bundle(_desc(f"log: {text}"), indicator(41, "[ipv4-addr:value = '192.0.2.1']")))
    out = text_of(res)
    assert victim not in decode_ipv4s(out), text
    assert inner not in decode_ipv4s(out), text


@pytest.mark.parametrize("spelling", [
    "2001:db8:a:1::15", "2001:0DB8:000A:0001:0000:0000:0000:0015", "[2001:db8:a:1::15]:443",
    "2001:db8:a:1:0:0:0:15%eth0", "5.1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.1.0.0.0.a.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa",
])
def test_di_05_victim_ipv6_spellings_removed(spelling):
    out = objects_of(run(bundle(_desc(f"mgmt {spelling} seen"))), "malware")[0]["description"]
    assert not any(ip in VICTIM_V6 for ip in decode_ipv6s(out)), out


def test_di_05_versions_and_cpes_are_not_addresses():
    soft = sco("software", 10, name="SG Agent", vendor="Kiriga", version="10.4.0.18",
               cpe="cpe:2.3:a:kiriga:sg_agent:10.4.0.18:*:*:*:*:*:*:*")
    fw = sco("software", 11, name="EdgeVPN", version="8.1.0.3-11fw", cpe="cpe:2.3:o:n:edgevpn:8.1.0.3:11fw:*:*:*:*:*:*")
    desc = ("Affects firmware up to 8.1.0.3-11fw and SG Agent 10.4.0.18, build 10.4.0.18, v10.2.0.1 "
            "(cpe:2.3:a:kiriga:sg_agent:10.4.0.18); the implant beacons to 10.4.0.18.")
    ind = indicator(41, "[software:cpe = 'cpe:2.3:a:kiriga:sg_agent:10.4.0.18:*:*:*:*:*:*:*'] OR "
                        "[software:version = '10.4.0.18']")
    res = run(bundle(soft, fw, _desc(desc), ind))
    versions = sorted(o["version"] for o in objects_of(res, "software"))
    assert versions == ["10.4.0.18", "8.1.0.3-11fw"]
    assert {o["cpe"] for o in objects_of(res, "software")} == {soft["cpe"], fw["cpe"]}
    out = objects_of(res, "malware")[0]["description"]
    # Only the address written after a network word goes.
    assert out == desc.replace("beacons to 10.4.0.18", "beacons to [INTERNAL-IP]")
    assert objects_of(res, "indicator")[0]["pattern"] == ind["pattern"]


@pytest.mark.parametrize("text", [
    "GPS 36 deg 24' 45.72\" N, 140 deg 35' 35.16\" E",
    "位置 36°24'45.7\"N 140°35'35.2\"E",
    "https://maps.example/?q=36.4127,140.5931&z=18",
    "lat=35.68123&lon=139.76712",
])
def test_di_05_precise_coordinates_removed(text):
    out = objects_of(run(bundle(_desc(f"photo taken at {text} (victim site)"))), "malware")[0]["description"]
    assert "[LOCATION]" in out
    assert not re.search(r"\d{2,3}\s*(?:deg|°)\s*\d", out) and not re.search(r"\d+\.\d{3,}", out), out


def test_di_05_exif_gps_in_raster_extension_removed():
    f = sco("file", 12, name="IMG_1.JPG", hashes={"SHA-256": "a" * 64}, extensions={"raster-image-ext": {
        "exif_tags": {"Make": "Google", "GPSLatitude": "35 deg 40' 52.32\" N", "GPSLongitude": "139 deg 45' 59.10\" E"}}})
    out = objects_of(run(bundle(f)), "file")[0]
    tags = out["extensions"]["raster-image-ext"]["exif_tags"]
    assert tags["Make"] == "Google"
    assert "52.32" not in text_of(run(bundle(f))) and "59.10" not in str(tags)


def _carriers(form: str) -> list[dict]:
    """The same address written in the places submissions carry it."""
    return [
        sdo("malware", 3, name="X", is_family=True, description=f"beacon to {form} every hour",
            external_references=[{"source_name": "ticket", "url": f"http://{form}/case/1"}]),
        sco("windows-registry-key", 4, key="HKEY_CURRENT_USER\\Software\\X",
            values=[{"name": "srv", "data": f"connect={form}", "data_type": "REG_SZ"}]),
        sco("file", 5, name=f"dump_{form}.bin", hashes={"SHA-256": "c" * 64}),
        sco("network-traffic", 6, protocols=["tcp", "http"], dst_port=80, extensions={"http-request-ext": {
            "request_method": "get", "request_value": "/", "request_header": {"Host": form}}}),
        sco("url", 7, value=f"http://{form}/gate.php"),
        indicator(41, f"[url:value = 'http://{form}/gate.php'] OR [domain-name:value = 'c2.attacker.test']"),
    ]


@settings(max_examples=40, deadline=None)
@given(host=st.integers(min_value=0, max_value=7), form=st.integers(0, 16), seed=st.integers(0, 10 ** 6))
def test_di_05_generated_victim_address_in_every_carrier(host, form, seed):
    victim = VICTIM_NET[host]
    text = notations(victim, random.Random(seed))[form]
    res = run(bundle(*_carriers(text)))
    assert victim not in decode_ipv4s(text_of(res)), text
    assert "c2.attacker.test" in objects_of(res, "indicator")[0]["pattern"]


@settings(max_examples=25, deadline=None)
@given(form=st.integers(0, 16), seed=st.integers(0, 10 ** 6))
def test_di_05_generated_attacker_address_kept_in_every_carrier(form, seed):
    attacker = ipaddress.IPv4Address(random.Random(seed).choice(["203.0.113.77", "192.0.2.200", "45.77.1.9"]))
    text = notations(attacker, random.Random(seed))[form]
    res = run(bundle(*_carriers(text)))
    assert objects_of(res, "url") and "gate.php" in objects_of(res, "indicator")[0]["pattern"]
    assert attacker in decode_ipv4s(objects_of(res, "malware")[0]["description"])


@pytest.mark.parametrize("text,gone", [
    ("Victim VPN 198.51.100.98 GeoIP: Hamamatsu, Shizuoka, JP; ASN 64500", "hamamatsu"),
    ("Acme Seiko gateway, city=Naka-ku Hamamatsu", "naka-ku"),
    ("被害組織の拠点 所在地：浜松市中区", "浜松市"),
])
def test_di_05_city_level_geolocation_next_to_victim_goes(text, gone):
    out = objects_of(run(bundle(_desc(text))), "malware")[0]["description"]
    assert gone not in out.lower() and "[LOCATION]" in out, out


def test_di_05_attacker_geolocation_and_country_stay():
    text = "C2 203.0.113.77 GeoIP: Amsterdam, NL"
    assert objects_of(run(bundle(_desc(text))), "malware")[0]["description"] == text
    text = "The victim's country geo: JP; C2 in geo: NL"
    assert objects_of(run(bundle(_desc(text))), "malware")[0]["description"] == text


@pytest.mark.parametrize("text", ["before 10.0.0.5 was compromised", "tunneled through 10.0.0.1 to the DC",
                                  "version 2 of the implant beacons to 10.1.2.3", "firmware 3.1 on host 10.9.8.7"])
def test_di_05_version_words_do_not_hide_internal_addresses(text):
    out = objects_of(run(bundle(_desc(text))), "malware")[0]["description"]
    assert "[INTERNAL-IP]" in out and not decode_ipv4s(out) & {
        ipaddress.IPv4Address(a) for a in ("10.0.0.5", "10.0.0.1", "10.1.2.3", "10.9.8.7")}, out


def test_di_05_generic_scan_sees_other_notations_and_spares_versions():
    from sanitizer.rules.di18_leak_gate import scan_generic

    leaky = [{"type": "note", "content": f"pivot {form}"} for form in
             ("10[.]0[.]0[.]1", "010.000.000.001", "0x0a.0.0.1", "ip 0x0a000001", "http://167772161/x")]
    assert len(scan_generic(leaky)) == len(leaky)
    clean = [sco("software", 10, name="SG Agent", version="10.4.0.18", cpe="cpe:2.3:a:k:s:10.4.0.18:*:*:*:*:*:*:*"),
             {"type": "note", "content": "SG Agent build 10.4.0.18, firmware 10.2.0.1-b4, hash 0x0a0d0a0d"}]
    assert scan_generic(clean) == []

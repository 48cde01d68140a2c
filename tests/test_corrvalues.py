"""Issue 15: the corroboration index's value normalisation (DI-17 counts). The forms people and
tools write for one value must give one key, checked against independent decoders (the `idna`
package, `ipaddress` parsing of expanded forms); different values must not."""
from __future__ import annotations

import ipaddress

import idna
import pytest

from hub.services.corrvalues import bundle_values, normalise, pattern_values, value_key

SECRET = b"s" * 32


def _key(kind: str, value: str) -> str:
    return value_key(SECRET, kind, normalise(kind, value))


@pytest.mark.parametrize("label", ["c2-relay", "例え", "bücher", "ТЕСТ"])
def test_di17_domain_forms_give_one_key(label):
    base = f"{label}.example.net"
    ace = idna.encode(base.lower(), uts46=True).decode("ascii")  # independent IDNA encoder
    forms = [base, base.upper(), base + ".", f"  {base}  ", ace, ace.upper() + "."]
    assert len({_key("domain", f) for f in forms}) == 1
    assert normalise("domain", base) == ace


def test_di17_ip_forms_give_one_key():
    addr = ipaddress.IPv6Address("2001:db8::7")
    forms = [addr.exploded, addr.compressed, addr.exploded.upper(), f"{addr.compressed}/128"]
    assert len({_key("ip", f) for f in forms}) == 1
    assert _key("ip", "203.0.113.7") == _key("ip", "203.0.113.7/32") != _key("ip", "203.0.113.8")
    assert _key("ip", "203.0.113.0/24") == _key("ip", "203.0.113.9/24")  # the network, not the host


def test_di17_url_email_hash_forms():
    assert _key("url", "HTTP://C2.Example:80/a?x=1") == _key("url", "http://c2.example/a?x=1#frag")
    assert _key("url", "https://c2.example:8443/") != _key("url", "https://c2.example/")
    assert _key("url", "http://c2.example/A") != _key("url", "http://c2.example/a")  # paths are case-sensitive
    assert _key("email", "Ops@C2.Example") == _key("email", "ops@c2.example")
    digest = "ab" * 32
    assert _key("file-hash", f"SHA-256:{digest.upper()}") == _key("file-hash", f"sha256:{digest}")
    assert normalise("file-hash", "sha256:not-hex") is None and normalise("ip", "300.1.1.1") is None


def test_di17_keys_depend_on_kind_and_secret_and_hide_the_value():
    k = _key("domain", "c2.example")
    assert k != value_key(SECRET, "url", "c2.example") != value_key(b"t" * 32, "domain", "c2.example")
    assert "c2" not in k and len(k) == 64


def test_di17_values_of_patterns_and_scos():
    found = pattern_values("[domain-name:value = 'A.example'] OR ([ipv4-addr:value = '198.51.100.1'] AND "
                           "[file:hashes.'SHA-256' = '" + "CD" * 32 + "']) OR [file:name = 'x.dll']")
    assert found == [("domain", "a.example"), ("ip", "198.51.100.1"), ("file-hash", "sha256:" + "cd" * 32)]
    assert pattern_values("[not a pattern") == []
    bundle = {"objects": [{"type": "url", "id": "url--1", "value": "http://X.example"},
                          {"type": "file", "id": "file--1", "hashes": {"MD5": "AA" * 16}},
                          {"type": "malware", "id": "malware--1", "name": "x"}]}
    assert bundle_values(bundle) == {"url--1": [("url", "http://x.example/")],
                                     "file--1": [("file-hash", "md5:" + "aa" * 16)]}

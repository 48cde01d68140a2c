"""DI-14 v2: credentials and session material dropped from headers, patterns and text; artifact
hashes kept (as a valid object); a C2 URL keeps its host when only its query names the victim."""
from __future__ import annotations

import base64
import json
import random
import string

import pytest

from conftest import bundle, indicator, objects_of, run, sco, sdo, text_of


def _traffic(headers: dict) -> tuple[dict, dict]:
    dst = sco("ipv4-addr", 10, value="203.0.113.109")
    nt = sco("network-traffic", 11, dst_ref=dst["id"], protocols=["tcp", "http"],
             extensions={"http-request-ext": {"request_method": "POST", "request_value": "/v1/x",
                                              "request_header": headers}})
    return dst, nt


def _jwt(payload: dict) -> str:
    enc = lambda d: base64.urlsafe_b64encode(json.dumps(d).encode()).decode().rstrip("=")  # noqa: E731
    return f"{enc({'alg': 'RS256', 'typ': 'JWT'})}.{enc(payload)}.c2lnbmF0dXJlLWJ5dGVz"


def _ntlm_type3() -> str:
    return base64.b64encode(b"NTLMSSP\x00\x03\x00\x00\x00" + "ACMEDOMAIN".encode("utf-16-le") + bytes(24)).decode()


SECRETS = {
    "Authorization": lambda: "Bearer " + _jwt({"iss": "https://auth.victim.example", "sub": "merchant:M-1"}),
    "Proxy-Authorization": lambda: "NTLM " + _ntlm_type3(),
    "Cookie": lambda: "SESSION=" + "".join(random.Random(1).choices("0123456789abcdef", k=32)),
    "Set-Cookie": lambda: "sid=deadbeefcafebabe; Path=/; HttpOnly",
    "X-Api-Key": lambda: "live_4f9c2e7a81b3d605e9f2c1",
    "X-Auth-Token": lambda: "tok-8b0e1f33aa",
    "x-session-token": lambda: "abcdef0123456789",
}


@pytest.mark.parametrize("name", sorted(SECRETS))
def test_di14_credential_header_dropped_user_agent_kept(name):
    value = SECRETS[name]()
    dst, nt = _traffic({name: [value], "User-Agent": ["okhttp/4.9.2-mod"]})
    res = run(bundle(dst, nt))
    (out,) = objects_of(res, "network-traffic")
    headers = out["extensions"]["http-request-ext"]["request_header"]
    assert headers == {"User-Agent": ["okhttp/4.9.2-mod"]}
    assert value not in text_of(res) and value.split(" ")[-1][:20] not in text_of(res)
    assert any(e["rule"] == "DI-14" and e["original"] == name for e in res.report.private()["entries"])
    assert name not in json.dumps(res.report.public())  # a header name can be victim-specific


@pytest.mark.parametrize("text", [
    "The API answered with 'Set-Cookie: HP_SESSION=7c1f9a2e5b3d48e6a0c4f8b2d6e1a937; Path=/'.",
    "replayed Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJtZXJjaGFudCJ9.sig0123456789",
    "proxy auth was NTLM TlRMTVNTUAADAAAAGAAYAEgAAAA2ADYAYAAAABAAEACWAAAA (type 3)",
    "then Basic c3ZjLXByb3h5MDE6SHJuIVByb3h5MjAyNA== against the proxy",
    "token eyJpc3MiOiJodHRwczovL2F1dGguZXhhbXBsZSJ9.eyJzY29wZSI6InBheW91dHMifQ.AbCdEf in logs",
])
def test_di14_credentials_in_prose_replaced(text):
    res = run(bundle(sdo("malware", 1, name="SABLEKEY", is_family=True, description=text)))
    out = objects_of(res, "malware")[0]["description"]
    assert "[CREDENTIAL]" in out
    for blob in ("7c1f9a2e5b3d48e6", "eyJ", "TlRMTVNTUA", "c3ZjLXByb3h5"):
        assert blob not in out


def test_di14_prose_about_auth_schemes_is_not_a_credential():
    text = "Basic authentication and NTLM authentication were disabled; the cookie banner was spoofed."
    res = run(bundle(sdo("malware", 1, name="SABLEKEY", is_family=True, description=text)))
    assert objects_of(res, "malware")[0]["description"] == text


def test_di14_pattern_on_credential_header_dropped_other_headers_kept():
    pattern = ("[network-traffic:extensions.'http-request-ext'.request_header.'Cookie'[*] = 'SESSION=abc'"
               " OR network-traffic:extensions.'http-request-ext'.request_header.'User-Agent'[*] = 'SBLK/1.3']")
    res = run(bundle(indicator(1, pattern)))
    (ind,) = objects_of(res, "indicator")
    assert ind["pattern"] == "[network-traffic:extensions.'http-request-ext'.request_header.'User-Agent'[*] = 'SBLK/1.3']"


@pytest.mark.parametrize("artifact", [
    {"payload_bin": base64.b64encode(b"<?php $db='10.71.3.14'; ?>").decode(), "mime_type": "text/plain"},
    {"url": "https://files.acme-seiko.example/quarantine/9f2c41.bin"},
    {"url": "http://192.0.2.226:8080/tools/pp.py"},
])
def test_di14_artifact_payload_dropped_hashes_kept_and_valid(artifact):
    digest = "".join(random.Random(str(artifact)).choices("0123456789abcdef", k=64))
    art = sco("artifact", 1, hashes={"SHA-256": digest}, **artifact)
    mal = sdo("malware", 2, name="SABLEKEY", is_family=True, sample_refs=[art["id"]])
    res = run(bundle(art, mal, indicator(3, f"[artifact:hashes.'SHA-256' = '{digest}']")))
    files = objects_of(res, "file")
    assert [f["hashes"] for f in files] == [{"SHA-256": digest}]
    assert objects_of(res, "malware")[0]["sample_refs"] == [files[0]["id"]]
    assert not objects_of(res, "artifact")
    assert art["id"].split("--")[1] not in text_of(res)  # the artifact's own id (a hash of its payload)
    for v in artifact.values():
        if v != "text/plain":
            assert v not in text_of(res)
    assert digest in objects_of(res, "indicator")[0]["pattern"]


def test_di14_artifact_without_hashes_is_dropped():
    res = run(bundle(sco("artifact", 1, payload_bin="aGVsbG8=")))
    assert not objects_of(res, "artifact") and not objects_of(res, "file")


@pytest.mark.parametrize("query", ["?e=t.yamada%40acme-seiko.example", "?host=ACM-FS01&x=1",
                                   "?ip=198.51.100.97", "#user=t.yamada"])
def test_di14_c2_url_keeps_host_without_victim_parameter(query):
    res = run(bundle(sco("url", 1, value="https://kit-" + "".join(random.Random(query).choices(
        string.ascii_lowercase, k=6)) + ".example/gate.php" + query)))
    (u,) = objects_of(res, "url")
    assert u["value"].split("?")[0].split("#")[0].endswith(".example/gate.php")
    assert "acme" not in u["value"] and "ACM-FS01" not in u["value"] and "198.51.100" not in u["value"]
    assert "x=1" in u["value"] or "x=1" not in query


def test_di14_url_under_victim_domain_still_dropped():
    res = run(bundle(sco("url", 1, value="https://vpn.acme-seiko.example/login?x=1")))
    assert not objects_of(res, "url")


@pytest.mark.parametrize("seed", range(5))
def test_di14_header_names_in_any_case_and_custom_token_headers(seed):
    rnd = random.Random(seed)
    base = rnd.choice(["authorization", "cookie", "x-api-key", "proxy-authorization", "x-auth-token",
                       "x-acme-session", "x-tenant-token", "x-client-secret"])
    name = "".join(c.upper() if rnd.random() < 0.5 else c for c in base)
    secret = "".join(rnd.choices(string.ascii_letters + string.digits, k=24))
    dst, nt = _traffic({name: [secret], "Accept": ["*/*"]})
    res = run(bundle(dst, nt))
    assert secret not in text_of(res)
    headers = objects_of(res, "network-traffic")[0]["extensions"]["http-request-ext"]["request_header"]
    assert headers == {"Accept": ["*/*"]}

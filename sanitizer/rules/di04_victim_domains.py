"""DI-04: victim domains and all their subdomains, also defanged and IDNA forms.

A hit is widened to the whole host name (a subdomain label can name a site or a person) and,
after an '@', to the whole e-mail address. A victim domain's distinctive label embedded in
another host (typosquat `acme-login.example.net`) is victim-identifying too: the engine drops
such SCOs and flags them for review.

Object level (v2): the victim's own certificates (an x509-certificate whose subject, issuer or
subject alternative names name the victim) and the victim's autonomous systems (the AS of a
victim-range address via `belongs_to_refs`, an AS whose name names the victim, or an AS number
DI-19 found next to victim context) are dropped whole; their identifying values (AS number and
name, certificate serial, fingerprints, subject) become DI-19 victim identifiers, so they go
from every text of the bundle too.
"""
from __future__ import annotations

import re

from .. import netviews
from ..matching import KINDS, ProfileIndex
from ..normalize import Folded
from .base import Finding

RULE_ID = "DI-04"
TITLE = "Victim domains and subdomains (defanged, IDNA); look-alike hosts embedding a victim token"
ACTION = "remove from SCOs and patterns; [VICTIM-DOMAIN] in text; flag look-alikes for review"
_ASN_ID = re.compile(r"[0-9]+")
_HOST_CHAR = re.compile(r"[a-z0-9._-]")
_LOCAL_CHAR = re.compile(r"[a-z0-9._%+'-]")


def widen_host(text: str, start: int, end: int) -> tuple[int, int, bool]:
    """Grow [start, end) to the whole host name in folded text; say whether an '@' precedes it."""
    while start > 0 and _HOST_CHAR.match(text[start - 1]):
        start -= 1
    while end < len(text) and _HOST_CHAR.match(text[end]):
        end += 1
    while end > start and text[end - 1] in ".-_":
        end -= 1
    is_email = start > 0 and text[start - 1] == "@"
    if is_email:
        start -= 1
        while start > 0 and _LOCAL_CHAR.match(text[start - 1]):
            start -= 1
    return start, end, is_email


def detect(folded: Folded, index: ProfileIndex) -> list[Finding]:
    """Victim domains (widened to host / e-mail) and embedded victim domain labels."""
    out = []
    text = folded.text
    for hit in index.find_tokens(text):
        if hit.kind == "domain":
            s, e, is_email = widen_host(text, hit.start, hit.end)
            kind = "email" if is_email else "domain"
            start, end = folded.orig_span(s, e)
            out.append(Finding(start, end, "DI-06" if is_email else RULE_ID, kind, KINDS[kind][1]))
        elif hit.kind == "domain-label":
            start, end = folded.orig_span(hit.start, hit.end)
            out.append(Finding(start, end, RULE_ID, "domain-label", KINDS["domain-label"][1]))
    return out


def _names_victim_ip(value: object, index: ProfileIndex) -> bool:
    if not isinstance(value, str):
        return False
    return any(index.ip_verdict(c.ip) == "victim" for c in netviews.candidates(Folded(value).text))


def _cert_texts(obj: dict):
    for key in ("subject", "issuer"):
        if isinstance(obj.get(key), str):
            yield obj[key]
    ext = obj.get("x509_v3_extensions")
    if isinstance(ext, dict):
        for key in ("subject_alternative_name", "issuer_alternative_name"):
            if isinstance(ext.get(key), str):
                yield ext[key]


def victim_objects(objects: list[dict], index: ProfileIndex, names_victim, victim_asns: set[str]) -> dict[str, str]:
    """Original ids of the victim's certificates and autonomous systems -> why."""
    victim_as_refs: set[str] = set()
    for o in objects:
        if o.get("type") in ("ipv4-addr", "ipv6-addr") and o.get("belongs_to_refs") \
                and _names_victim_ip(o.get("value"), index):
            victim_as_refs.update(r for r in o.get("belongs_to_refs") or [] if isinstance(r, str))
    out: dict[str, str] = {}
    for o in objects:
        t = o.get("type")
        if t == "autonomous-system":
            name = o.get("name")
            if o.get("id") in victim_as_refs or str(o.get("number")) in victim_asns or (
                    isinstance(name, str) and names_victim(name)):
                out[o["id"]] = "victim autonomous system"
        elif t == "x509-certificate" and any(names_victim(x) for x in _cert_texts(o)):
            out[o["id"]] = "victim certificate"
    return out


def victim_values(objects: list[dict], dropped: dict[str, str]) -> dict[str, str]:
    """The identifying values of the dropped victim certificates and AS (folded) -> kind."""
    out: dict[str, str] = {}
    for o in objects:
        if o.get("id") not in dropped:
            continue
        if o.get("type") == "autonomous-system":
            out.update(asn_values(o.get("number"), o.get("name")))
            continue
        for key in ("serial_number", "subject"):
            if isinstance(o.get(key), str) and len(o[key]) >= 6:
                out[Folded(o[key]).text] = "certificate"
        for h in (o.get("hashes") or {}).values():
            if isinstance(h, str) and len(h) >= 16:
                out[h.lower()] = "certificate"
    return out


def asn_values(number: int | str | None, name: str | None) -> dict[str, str]:
    """The text forms of a victim autonomous system: AS64503, AS 64503, the bare number, the name."""
    out: dict[str, str] = {}
    if number is not None and _ASN_ID.fullmatch(str(number)):
        for form in (f"as{number}", f"as {number}", f"asn{number}", f"asn {number}", str(number)):
            out[form] = "asn"
    if isinstance(name, str) and len(name.strip()) >= 3:
        out[Folded(name.strip()).text] = "as-name"
    return out

"""DI-04: victim domains and all their subdomains, also defanged and IDNA forms.

A hit is widened to the whole host name (a subdomain label can name a site or a person) and,
after an '@', to the whole e-mail address. A victim domain's distinctive label embedded in
another host (typosquat `acme-login.example.net`) is victim-identifying too: the engine drops
such SCOs and flags them for review.
"""
from __future__ import annotations

import re

from ..matching import KINDS, ProfileIndex
from ..normalize import Folded
from .base import Finding

RULE_ID = "DI-04"
TITLE = "Victim domains and subdomains (defanged, IDNA); look-alike hosts embedding a victim token"
ACTION = "remove from SCOs and patterns; [VICTIM-DOMAIN] in text; flag look-alikes for review"
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

"""DI-10: free text. Profile replacements (DI-03..07) run on every string; this rule adds
the generic detectors that need no profile entry: Japanese person names (common surname plus a
given name or an honorific; no NER model needed), phone numbers, Windows SIDs, MAC addresses and
Japanese postal addresses. Attacker IOCs written in text stay.

`note` and `opinion` objects are dropped by default (policy `drop_types`).
"""
from __future__ import annotations

import re

from ..matching import ProfileIndex
from ..normalize import Folded
from . import ja_names
from .base import Finding

RULE_ID = "DI-10"
TITLE = "Free text: generic detectors (JA person names, phone numbers, SIDs, MAC and postal addresses)"
ACTION = "replace with [PERSON] / [PHONE] / [SID] / [MAC] / [ADDRESS]; drop note and opinion objects"

# Properties that only ever name people.
DROPPED_PROPS = {"note": ("authors",), "opinion": ("authors",)}

_PATTERNS = (
    ("phone", "[PHONE]", re.compile(
        r"(?<![0-9a-z-])(?:\+81[\s-]?\(?0?\d{1,4}\)?[\s-]?\d{1,4}[\s-]\d{3,4}"
        r"|\(?0\d{1,4}\)?[\s-]\d{1,4}[\s-]\d{3,4}|\(0\d{1,4}\)\d{1,4}-\d{3,4})(?![0-9a-z-])")),
    # A name after a title, or before a Japanese honorific written in romaji (Tanaka-san).
    ("person-title", "[PERSON]", re.compile(
        r"(?<![a-z])(?:mr|mrs|ms|miss|dr|prof)\.?\s+[a-z][a-z'-]+(?:\s+[a-z][a-z'-]+)?(?![a-z])"
        r"|(?<![a-z0-9./@-])[a-z][a-z']+-(?:san|sama|shi|kun)(?![a-z0-9-]|\.[a-z0-9])")),  # not a host label (P2)
    ("sid", "[SID]", re.compile(r"(?<![0-9a-z-])s-1-5-21(?:-\d+){3,4}(?![0-9])")),
    ("mac", "[MAC]", re.compile(r"(?<![0-9a-f:-])[0-9a-f]{2}(?:([:-])[0-9a-f]{2})(?:\1[0-9a-f]{2}){4}(?![0-9a-f:-])")),
    ("postal-address", "[ADDRESS]", re.compile(
        r"(?:〒\s?\d{3}-\d{4}\s*)?(?:東京都|北海道|(?:京都|大阪)府|[一-龥]{2,3}県)"
        r"[一-龥ぁ-んァ-ヶー]{1,12}?[市区町村郡][^\s、。,;「」()（）]{0,30}")),
)


def detect(folded: Folded, index: ProfileIndex) -> list[Finding]:
    """Generic personal / site data that no profile lists."""
    out = []
    ascii_only = folded.text.isascii()  # Japanese names and addresses need Japanese script
    if not ascii_only:
        for s, e in ja_names.names(folded.text):
            start, end = folded.orig_span(s, e)
            out.append(Finding(start, end, RULE_ID, "person-name", "[PERSON]"))
    for kind, replacement, rx in _PATTERNS:
        if ascii_only and kind == "postal-address":
            continue
        for m in rx.finditer(folded.text):
            start, end = folded.orig_span(m.start(), m.end())
            out.append(Finding(start, end, RULE_ID, kind, replacement))
    return out

"""DI-03: profile names, people, keywords, hostnames and accounts anywhere in any string."""
from __future__ import annotations

from ..matching import KINDS, ProfileIndex
from ..normalize import Folded
from .base import Finding

RULE_ID = "DI-03"
TITLE = "Profile names, people, keywords, hostnames, accounts in any string"
ACTION = "replace with [VICTIM-ORG] / [PERSON] / [KEYWORD] / [HOST] / [ACCOUNT]"
_MINE = {"org", "person", "surname", "keyword", "host", "account"}


def detect(folded: Folded, index: ProfileIndex) -> list[Finding]:
    """Profile tokens after NFKC + case folding (full-width, half-width kana, defanged...)."""
    out = []
    for hit in index.find_tokens(folded.text):
        if hit.kind in _MINE:
            start, end = folded.orig_span(hit.start, hit.end)
            out.append(Finding(start, end, RULE_ID, hit.kind, KINDS[hit.kind][1]))
    return out

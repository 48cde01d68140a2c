"""DI-06: e-mail addresses at victim domains or listed in the profile; every recipient.

Addresses at victim domains are found by DI-04 (widened to the whole address); listed
addresses at other domains (a victim's private mailbox) are found here. The engine drops
`to_refs` / `cc_refs` / `bcc_refs` and keeps a sender only when it is not victim-side.
"""
from __future__ import annotations

from ..matching import KINDS, ProfileIndex
from ..normalize import Folded
from .base import Finding

RULE_ID = "DI-06"
TITLE = "Victim e-mail addresses and every recipient"
ACTION = "remove; a sender is kept only if it is not victim-side"
RECIPIENT_REFS = ("to_refs", "cc_refs", "bcc_refs")


def detect(folded: Folded, index: ProfileIndex) -> list[Finding]:
    """Listed victim addresses in any spelling."""
    out = []
    for hit in index.find_tokens(folded.text):
        if hit.kind == "email":
            start, end = folded.orig_span(hit.start, hit.end)
            out.append(Finding(start, end, RULE_ID, "email", KINDS["email"][1]))
    return out

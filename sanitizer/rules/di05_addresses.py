"""DI-05: addresses in the profile's ip_ranges and all non-routable address space."""
from __future__ import annotations

import ipaddress
import re

from ..matching import ProfileIndex
from ..normalize import Folded
from .base import Finding

RULE_ID = "DI-05"
TITLE = "Victim ranges and non-routable addresses (RFC 1918, loopback, link-local, CGNAT, ULA)"
ACTION = "remove from SCOs and patterns; [VICTIM-IP] / [INTERNAL-IP] in text"
IPV4 = re.compile(r"(?<![0-9.])(?:[0-9]{1,3}\.){3}[0-9]{1,3}(?![0-9]|\.[0-9])")
IPV6 = re.compile(r"(?<![0-9a-z:.])(?:[0-9a-f]{0,4}:){2,7}(?:(?:[0-9]{1,3}\.){3}[0-9]{1,3}|[0-9a-f]{0,4})"
                  r"(?:%[0-9a-z]+)?(?![0-9a-z:])")
REPLACEMENT = {"victim": "[VICTIM-IP]", "internal": "[INTERNAL-IP]"}


def addresses(text: str):
    """Yield (start, end, ip) for every IPv4/IPv6 address written in folded text."""
    for rx in (IPV4, IPV6):
        for m in rx.finditer(text):
            raw = m.group(0).split("%")[0]
            if rx is IPV6 and raw.count(":") < 2:
                continue
            try:
                yield m.start(), m.end(), ipaddress.ip_address(raw)
            except ValueError:
                continue


def detect(folded: Folded, index: ProfileIndex) -> list[Finding]:
    """Addresses the profile or the non-routable list say belong to the victim side."""
    out = []
    for s, e, ip in addresses(folded.text):
        verdict = index.ip_verdict(ip)
        if verdict:
            start, end = folded.orig_span(s, e)
            out.append(Finding(start, end, RULE_ID, verdict + "-ip", REPLACEMENT[verdict]))
    return out

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


# Fast candidates for the profile-free checks over large documents: only the prefixes of the
# non-routable ranges (every IPv4 alternative starts with "1", every IPv6 one with "f" or ":",
# which the regex engine can scan for); each candidate is confirmed by the full parser.
_V4_NON_ROUTABLE = re.compile(
    r"1(?:0|27|92\.168|69\.254|72\.(?:1[6-9]|2[0-9]|3[01])|00\.(?:6[4-9]|[7-9][0-9]|1[01][0-9]|12[0-7]))"
    r"(?:\.[0-9]{1,3}){1,3}(?![0-9])")
_V6_NON_ROUTABLE = re.compile(r"(?:f[c-e][0-9a-f]{0,2}:|::)[0-9a-f:.]*")


def non_routable(text: str):
    """Yield non-routable addresses written in lower-case text (no profile needed)."""
    from ..matching import NON_ROUTABLE

    # The patterns start with a literal so the engine can skip ahead; the left boundary
    # (no digit, dot or colon before the address) is checked here instead of by a lookbehind.
    for rx, before in ((_V4_NON_ROUTABLE, "0123456789."), (_V6_NON_ROUTABLE, "0123456789abcdefghijklmnopqrstuvwxyz:.")):
        for m in rx.finditer(text):
            if m.start() and text[m.start() - 1] in before:
                continue
            for _s, _e, ip in addresses(m.group(0)):
                ip4 = ip.ipv4_mapped if ip.version == 6 and ip.ipv4_mapped else ip
                if any(ip4 in n for n in NON_ROUTABLE if n.version == ip4.version):
                    yield ip


def detect(folded: Folded, index: ProfileIndex) -> list[Finding]:
    """Addresses the profile or the non-routable list say belong to the victim side."""
    out = []
    for s, e, ip in addresses(folded.text):
        verdict = index.ip_verdict(ip)
        if verdict:
            start, end = folded.orig_span(s, e)
            out.append(Finding(start, end, RULE_ID, verdict + "-ip", REPLACEMENT[verdict]))
    return out

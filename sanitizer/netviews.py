"""DI-00 view 4 for addresses: every notation of an IP address, read back to one canonical object.

Input is *folded* text (`normalize.Folded.text`): NFKC has already turned full-width digits, dots
and brackets into ASCII, and the defanged spellings `[.]`, `(.)`, `{.}` into plain dots, so this
module only has to read the number notations:

- IPv4 dotted with any part in decimal, zero-padded decimal, octal (`0313`) or hex (`0xcb`);
  a part with a leading zero is read both as decimal and as octal (inet_aton reads octal, people
  mean decimal); every reading that is a valid address is returned;
- IPv4 as one 32-bit number: hex `0xcb0071c5`, or decimal `3405803973` — these are ordinary
  numbers too, so they count as *weak* unless written where an address goes (URL host, before
  `:port`, after `ip`/`host`/`addr`/`target`/`peer`/`bind`…). A weak address is a finding only
  when it falls in the victim's own ranges (that coincidence is specific); a weak non-routable
  reading (0x0a0d0a0d is also "\\n\\r\\n\\r") is not;
- IPv6 in any case, compressed or expanded, zero-padded groups, with brackets or a zone id; the
  IPv4 embedded in IPv4-mapped (`::ffff:…`), IPv4-compatible, NAT64 (`64:ff9b::/96`), 6to4 and
  Teredo addresses is returned as well;
- reverse-DNS names: `d.c.b.a.in-addr.arpa` and 32-nibble `….ip6.arpa` (the whole name is the span).

P2: version strings and CPEs are not addresses. A dotted quad inside a CPE, followed by a
version suffix with a letter (`8.1.0.3-11fw`, `6.10.2.1-b4`), directly after `v`, or after a
version word (`version`, `build`, `firmware`, `up to`, …) with no network word in between, is
skipped.
"""
from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass

_PART = r"(?:0x[0-9a-f]{1,4}|[0-9]{1,4})"
# Defanged dots that folding leaves in place (full-width brackets fold to `[.]` after NFKC).
_DOT = r"(?:\.|\[\s?\.\s?\]|\(\s?\.\s?\)|\{\s?\.\s?\}|\[dot\]|\(dot\))"
_DEFANGED_DOT = re.compile(_DOT)
_DOTTED = re.compile(r"(?<![0-9.])" + _PART + r"(?:" + _DOT + _PART + r"){3}(?![0-9]|\.[0-9])")
_IPV6 = re.compile(r"(?<![0-9a-z:.])(?:[0-9a-f]{0,4}:){2,7}(?:(?:[0-9]{1,3}\.){3}[0-9]{1,3}|[0-9a-f]{0,4})"
                   r"(?:%[0-9a-z]+)?(?![0-9a-z:])")
_IN_ADDR = re.compile(r"(?<![0-9a-z.])((?:[0-9]{1,3}\.){3}[0-9]{1,3})\.in-addr\.arpa(?![0-9a-z-])")
_IP6_ARPA = re.compile(r"(?<![0-9a-z.])((?:[0-9a-f]\.){32})ip6\.arpa(?![0-9a-z-])")
_HEX32 = re.compile(r"(?<![0-9a-z.])0x[0-9a-f]{7,8}(?![0-9a-z]|\.[0-9])")
_INT32 = re.compile(r"(?<![0-9a-z.,:-])[1-9][0-9]{7,9}(?![0-9a-z]|\.[0-9]|,[0-9])")
# Where a bare number is written as an address.
_ADDR_BEFORE = re.compile(r"(?:://|@|\b(?:ip|ipv4|addr|address|host|target|peer|dst|src|server|bind|listen|"
                          r"connect(?:s|ed)? to|c2|gateway|mgmt|proxy|remote)\b\s*[=:]?\s*\[?)$")
_CPE = re.compile(r"cpe:(?:2\.3:|/)[^\s'\"<>,;]*")
_VERSION_SUFFIX = re.compile(r"[-_+~][0-9]*[a-z]")
# Words after which a dotted number is a version. Words that also precede addresses in prose
# ("before", "through", "update") are left out: a missed version costs a redaction, a missed
# address a leak.
_VERSION_WORD = re.compile(
    r"\b(?:version|versions|ver|build|builds|firmware|fw|rev|revision|up to|prior to|fixed in|upgrade to|"
    r"バージョン|ビルド)\b|(?<![a-z])v$")
_NET_WORD = re.compile(r"\b(?:to|from|at|via|ip|ipv4|addr|address|host|hosts|server|c2|cnc|connect\w*|beacon\w*|"
                       r"src|dst|source|destination|gateway|proxy|dns|peer|bind|listen\w*|mgmt|port)\b|[@/]")
_SENTENCE_END = re.compile(r"[.!?。]\s|[;\n]")
_SIX_TO_FOUR = ipaddress.ip_network("2002::/16")
_NAT64 = (ipaddress.ip_network("64:ff9b::/96"), ipaddress.ip_network("64:ff9b:1::/48"))
_COMPAT = ipaddress.ip_network("::/96")

# STIX properties that hold a version, never an address (P2): DI-05 does not rewrite them.
VERSION_PROPS = {("software", "version"), ("software", "cpe")}

Address = ipaddress.IPv4Address | ipaddress.IPv6Address


@dataclass(frozen=True)
class Candidate:
    """An address written in folded text: [start, end), the address, and whether the notation
    is only a number that may be an address (weak)."""

    start: int
    end: int
    ip: Address
    weak: bool = False


def _part_readings(part: str) -> set[int]:
    if part.startswith("0x"):
        return {int(part, 16)}
    values = {int(part, 10)}
    if len(part) > 1 and part.startswith("0") and all(c in "01234567" for c in part):
        values.add(int(part, 8))
    return values


def _part_value(part: str, octal: bool) -> int:
    if part.startswith("0x"):
        return int(part, 16)
    if octal and len(part) > 1 and part[0] == "0" and all(c in "01234567" for c in part):
        return int(part, 8)
    return int(part, 10)


def dotted_readings(token: str) -> list[ipaddress.IPv4Address]:
    """Every IPv4 address a four-part dotted token can mean: each part as written (decimal,
    zero-padded decimal, hex) and inet_aton's reading (a leading zero means octal)."""
    parts = token.split(".")
    if len(parts) != 4:
        return []
    out: list[ipaddress.IPv4Address] = []
    for octal in (False, True):
        values = [_part_value(p, octal) for p in parts]
        if max(values) <= 255:
            ip = ipaddress.IPv4Address((values[0] << 24) | (values[1] << 16) | (values[2] << 8) | values[3])
            if ip not in out:
                out.append(ip)
        if not any(len(p) > 1 and p[0] == "0" for p in parts):
            break  # no leading zero: the octal reading is the same
    return out


def embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address carried inside an IPv6 one (mapped, compatible, NAT64, 6to4, Teredo)."""
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if any(ip in n for n in _NAT64) or (ip in _COMPAT and int(ip) > 0xFFFF):
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    if ip in _SIX_TO_FOUR:
        return ip.sixtofour
    if ip.teredo is not None:
        return ip.teredo[1]
    return None


# How far back a CPE that holds a dotted number may start. Searching the whole text before every
# number made the leak gate quadratic in the bundle's size; a longer CPE is not real, and missing
# one costs a redaction (the number is then read as an address), never a leak.
_CPE_REACH = 512


def _in_cpe(text: str, start: int) -> bool:
    i = text.rfind("cpe:", max(0, start - _CPE_REACH), start)
    if i < 0:
        return False
    m = _CPE.match(text, i)
    return bool(m) and m.end() >= start


def is_version(text: str, start: int, end: int) -> bool:
    """P2: a dotted number written as a software version, not an address."""
    if _VERSION_SUFFIX.match(text, end) or _in_cpe(text, start):
        return True
    # The clause before the number: the last version word, with no network word after it.
    lo = max(0, start - 80)
    window = text[lo:start]
    cut = None
    for cut in _SENTENCE_END.finditer(window):
        pass
    if cut is not None:
        window = window[cut.end():]
    last = None
    for last in _VERSION_WORD.finditer(window):
        pass
    return last is not None and not _NET_WORD.search(window, last.end())


_DIGIT = re.compile(r"[0-9]")
_LONG_NUMBER = re.compile(r"[0-9]{8}")


def candidates(text: str) -> list[Candidate]:
    """Every address in folded text, in every notation this module reads (weak ones included)."""
    if not _DIGIT.search(text):
        return []
    out: list[Candidate] = []
    taken: list[tuple[int, int]] = []
    if "arpa" in text:
        for m in _IN_ADDR.finditer(text):
            octets = m.group(1).split(".")
            try:
                ip = ipaddress.IPv4Address(".".join(reversed(octets)))
            except ValueError:
                continue
            out.append(Candidate(m.start(), m.end(), ip))
            taken.append(m.span())
        for m in _IP6_ARPA.finditer(text):
            nibbles = m.group(1).replace(".", "")[::-1]
            ip6 = ipaddress.IPv6Address(int(nibbles, 16))
            out.append(Candidate(m.start(), m.end(), ip6))
            v4 = embedded_ipv4(ip6)
            if v4 is not None:
                out.append(Candidate(m.start(), m.end(), v4))
            taken.append(m.span())

    def free(s: int, e: int) -> bool:
        return not any(a < e and s < b for a, b in taken)

    if "." in text or "dot" in text:
        for m in _DOTTED.finditer(text):
            if not free(*m.span()) or is_version(text, m.start(), m.end()):
                continue
            for ip in dotted_readings(_DEFANGED_DOT.sub(".", m.group(0))):
                out.append(Candidate(m.start(), m.end(), ip))
    if ":" in text:
        for m in _IPV6.finditer(text):
            raw = m.group(0).split("%")[0]
            if raw.count(":") < 2 or not free(*m.span()):
                continue
            try:
                ip6 = ipaddress.IPv6Address(raw)
            except ValueError:
                continue
            out.append(Candidate(m.start(), m.end(), ip6))
            v4 = embedded_ipv4(ip6)
            if v4 is not None:
                out.append(Candidate(m.start(), m.end(), v4))
    if "0x" in text:
        for m in _HEX32.finditer(text):
            out.append(Candidate(m.start(), m.end(), ipaddress.IPv4Address(int(m.group(0), 16)),
                                 weak=not _addressy(text, m.start(), m.end())))
    for m in (_INT32.finditer(text) if _LONG_NUMBER.search(text) else ()):
        value = int(m.group(0))
        if 1 << 24 <= value < 1 << 32:
            out.append(Candidate(m.start(), m.end(), ipaddress.IPv4Address(value),
                                 weak=not _addressy(text, m.start(), m.end())))
    return out


def _addressy(text: str, start: int, end: int) -> bool:
    """A number written where an address goes: URL host, before a port, after an address word."""
    if re.match(r":[0-9]{1,5}(?![0-9])", text[end:end + 6]):
        return True
    return bool(_ADDR_BEFORE.search(text[max(0, start - 24):start]))


def addresses(text: str):
    """Yield (start, end, ip) for every address written in folded text, weak numbers excluded."""
    for c in candidates(text):
        if not c.weak:
            yield c.start, c.end, c.ip

"""DI-05: addresses in the profile's ip_ranges and all non-routable address space, in every
notation (DI-00 view 4, `sanitizer.netviews`), and geolocation finer than a prefecture
(coordinates in EXIF/DMS and decimal form; location objects themselves are generalised by DI-16).
The whole notation is replaced (the integer, the hex word, the reverse-DNS name)."""
from __future__ import annotations

import re

from .. import netviews
from ..matching import ProfileIndex
from ..normalize import Folded
from .base import Finding

RULE_ID = "DI-05"
TITLE = ("Victim ranges and non-routable addresses (RFC 1918, loopback, link-local, CGNAT, ULA) in every "
         "notation; geolocation finer than a prefecture")
ACTION = "remove from SCOs and patterns; [VICTIM-IP] / [INTERNAL-IP] / [LOCATION] in text"
REPLACEMENT = {"victim": "[VICTIM-IP]", "internal": "[INTERNAL-IP]"}

# Geolocation finer than a prefecture: coordinates. EXIF / DMS (36 deg 24' 45.72" N, 36°24'45.72"N)
# and decimal pairs with at least three decimals (about 100 m), as written in text and map links.
_DMS = re.compile(r"(?<![0-9.])[0-9]{1,3}\s*(?:deg|°|度)\s*[0-9]{1,2}\s*(?:'|′|分)\s*"
                  r"(?:[0-9]{1,2}(?:\.[0-9]+)?\s*(?:\"|″|''|秒)?)?\s*[nsew]?(?![a-z])")
_DECIMAL_PAIR = re.compile(r"(?<![0-9.])(-?[0-9]{1,3}\.[0-9]{3,})\s*(?:,|%2c|\s)\s*(-?[0-9]{1,3}\.[0-9]{3,})(?![0-9.])")
_COORD_KEY = re.compile(r"(?<![a-z])(?:lat(?:itude)?|lon(?:g|gitude)?|lng|gps\w*|緯度|経度)\s*[=:：]\s*(-?[0-9]{1,3}\.[0-9]{3,})")


# City-level geolocation written as enrichment ("GeoIP: Hamamatsu, Shizuoka, JP", "所在地: 浜松市"):
# the value up to the end of the clause, kept only when it is a bare country code.
_GEO = re.compile(r"(?<![a-z])(?:geoip|geo-ip|geolocation|geo|city|ward|所在地|設置場所|位置)\s*[:=：]\s*"
                  r"(?P<v>[^;\n。()（）\[\]{}\"]{2,60}?)(?=\s*(?:[;\n。()（）\[\]{}\"]|$))")
_COUNTRY_ONLY = re.compile(r"^[a-z]{2}$|^japan$|^日本$")
_VICTIM_WORD = re.compile(r"victim|被害")


def geolocations(text: str, index: ProfileIndex):
    """Yield (start, end) of city-level geolocation values in text that also names the victim
    side (a profile token, a victim address or the word victim): an attacker server's city stays."""
    for m in _GEO.finditer(text):
        if _COUNTRY_ONLY.match(m.group("v").strip()):
            continue
        if index.find_tokens(text) or _VICTIM_WORD.search(text) or any(
                index.ip_verdict(c.ip) == "victim" for c in index.view(netviews.candidates, text)):
            yield m.start("v"), m.end("v")


def addresses(text: str):
    """Yield (start, end, ip) for every address written in folded text, in every notation of
    DI-00 view 4 (see `sanitizer.netviews`); the leak gate calls this too."""
    yield from netviews.addresses(text)


def coordinates(text: str):
    """Yield (start, end) of precise coordinates (DMS / EXIF, decimal pairs, lat=/lon= values)."""
    for m in _DMS.finditer(text):
        yield m.start(), m.end()
    for m in _DECIMAL_PAIR.finditer(text):
        if abs(float(m.group(1))) <= 90 and abs(float(m.group(2))) <= 180:
            yield m.start(), m.end()
    for m in _COORD_KEY.finditer(text):
        if abs(float(m.group(1))) <= 180:
            yield m.start(1), m.end(1)


# Fast candidates for the profile-free checks over large documents: only the prefixes of the
# non-routable ranges (every IPv4 alternative starts with "1", every IPv6 one with "f" or ":",
# which the regex engine can scan for); each candidate is confirmed by the full parser.
_V4_NON_ROUTABLE = re.compile(
    r"1(?:0|27|92\.168|69\.254|72\.(?:1[6-9]|2[0-9]|3[01])|00\.(?:6[4-9]|[7-9][0-9]|1[01][0-9]|12[0-7]))"
    r"(?:\.[0-9]{1,3}){1,3}(?![0-9])")
_V6_NON_ROUTABLE = re.compile(r"(?:f[c-e][0-9a-f]{0,2}:|::)[0-9a-f:.]*")
_OTHER_NOTATION = re.compile(r"[0-9]\s?(?:\[\s?\.\s?\]|\(\s?\.\s?\)|\{\s?\.\s?\}|\[dot\]|\(dot\))"
                             r"|(?<![0-9a-z.])0[0-9]{1,3}\.[0-9]|0x[0-9a-f]{2}(?:\.|[0-9a-f]{5,6}(?![0-9a-f]))|"
                             r"(?:ip|addr|host|target|peer|bind|://)[\s=:]*[0-9]{8,10}(?![0-9.])")


def non_routable(text: str):
    """Yield non-routable addresses written in lower-case text (no profile needed)."""
    from ..matching import NON_ROUTABLE

    # The patterns start with a literal so the engine can skip ahead; the left boundary
    # (no digit, dot or colon before the address) is checked here instead of by a lookbehind.
    for rx, before in ((_V4_NON_ROUTABLE, "0123456789."), (_V6_NON_ROUTABLE, "0123456789abcdefghijklmnopqrstuvwxyz:.")):
        for m in rx.finditer(text):
            if m.start() and text[m.start() - 1] in before:
                continue
            if rx is _V4_NON_ROUTABLE and netviews.is_version(text, m.start(), m.end()):
                continue  # P2: "build 10.4.0.18", "version": "10.4.0.18", a CPE
            for _s, _e, ip in addresses(m.group(0)):
                ip4 = ip.ipv4_mapped if ip.version == 6 and ip.ipv4_mapped else ip
                if any(ip4 in n for n in NON_ROUTABLE if n.version == ip4.version):
                    yield ip
    # The other notations (defanged, zero-padded, octal/hex parts, an address word before a
    # number): read the whole text through DI-00's address view, only when one may be there.
    if _OTHER_NOTATION.search(text):
        for _s, _e, ip in addresses(text):
            ip4 = netviews.embedded_ipv4(ip) if ip.version == 6 else ip
            ip4 = ip4 or ip
            if any(ip4 in n for n in NON_ROUTABLE if n.version == ip4.version):
                yield ip


def detect(folded: Folded, index: ProfileIndex) -> list[Finding]:
    """Addresses the profile or the non-routable list say belong to the victim side (every
    notation; a bare number counts only inside the victim's own ranges), and precise coordinates."""
    out = []
    text = folded.text
    for c in index.view(netviews.candidates, text):
        verdict = index.ip_verdict(c.ip)
        if verdict and (verdict == "victim" or not c.weak):
            start, end = folded.orig_span(c.start, c.end)
            out.append(Finding(start, end, RULE_ID, verdict + "-ip", REPLACEMENT[verdict]))
    if "geo" in text or "city" in text or "ward" in text or not text.isascii():
        for s, e in geolocations(text, index):
            start, end = folded.orig_span(s, e)
            out.append(Finding(start, end, RULE_ID, "geolocation", "[LOCATION]"))
    if not text.isascii() or "deg" in text or "." in text:
        for s, e in coordinates(text):
            start, end = folded.orig_span(s, e)
            out.append(Finding(start, end, RULE_ID, "coordinates", "[LOCATION]"))
    return out

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

_D = r"[0-9]"  # folded text: full-width digits are ASCII already
_PHONE = re.compile(
    r"(?<![0-9a-z+.-])(?:"
    # +81 with or without the trunk 0 in parentheses: +81 52 555 0134, +81-(0)52-555-0134, +81-295-24-8817
    r"\+81[\s.-]?(?:\(0\))?[\s.-]?\(?[0-9]{1,4}\)?[\s.-]?[0-9]{1,4}[\s.-][0-9]{3,4}"
    # domestic with separators: 052-555-0134, (052) 555-0134, 0566(21)4321, 043(296)3150, 03 5555 0134
    r"|\(0[0-9]{1,4}\)\s?[0-9]{1,4}[\s.-]?[0-9]{3,4}"
    r"|0[0-9]{1,4}[\s.-][0-9]{1,4}[\s.-][0-9]{3,4}"
    r"|0[0-9]{1,4}\([0-9]{1,4}\)[0-9]{3,4}"
    r")(?![0-9a-z-]|\.[0-9])")
# A phone number written as one run of digits counts next to a phone word.
_PHONE_BARE = re.compile(r"(?:tel|phone|fax|mobile|電話|携帯|☎|📞|内線|代表)[^0-9+\n]{0,6}"
                         r"(?P<v>\+?(?:81)?0?[0-9]{9,10})(?![0-9])")
_MAC = re.compile(
    r"(?<![0-9a-f:.-])(?:[0-9a-f]{2}([:-])[0-9a-f]{2}(?:\1[0-9a-f]{2}){4}"  # 00:50:56:ab:cd:ef, 00-50-56-…
    r"|[0-9a-f]{4}\.[0-9a-f]{4}\.[0-9a-f]{4})(?![0-9a-f:.-])")           # Cisco 0050.56ab.cdef
_MAC_BARE = re.compile(r"(?<![0-9a-z])[0-9a-f]{12}(?![0-9a-z])")
_MAC_CONTEXT = re.compile(r"\bmac\b|mac ?address|macアドレス|ether|hwaddr|hardware address|bssid|\bnic\b|\boui\b|"
                          r"物理アドレス")
_PREF = r"(?:東京都|北海道|(?:京都|大阪)府|[一-龥]{2,3}県)"
_MUNI = r"(?:[一-龥ァ-ヶー]{1,7}?[市区町村郡])"
_BLOCK = r"(?:[0-9]+|[一二三四五六七八九十]+)"
_POSTAL_ADDRESS = re.compile(
    r"(?:〒\s?[0-9]{3}-?[0-9]{4}\s*|(?<![0-9-])[0-9]{3}-[0-9]{4}\s+)?"
    r"(?:" + _PREF + r"[一-龥ぁ-んァ-ヶー]{1,12}?[市区町村郡][^\s、。,;「」()（）]{0,30}"
    # from the city (ward, town) on: 楓浦市汐見台3丁目14-7, 中央区本町2-5-11, 北区 1丁目2番3号
    r"|" + _MUNI + r"{1,3}[一-龥ぁ-んァ-ヶー]{0,10}?" + _BLOCK + r"(?:丁目|番地?|号|-[0-9]+)"
    r"(?:[-－]?[0-9一二三四五六七八九十]+(?:番地?|号)?)*)")
_POSTAL_CODE = re.compile(r"(?:〒|郵便番号|postal code|zip(?: code)?|post code)\s*[:：]?\s*[0-9]{3}-?[0-9]{4}(?![0-9])")
# Romanised: 1-2-3 Honcho, Chuo-ku, Tsuruhata-shi (then optionally the prefecture and postcode).
_ROMAJI_ADDRESS = re.compile(
    r"(?<![0-9a-z-])[0-9]{1,4}(?:-[0-9]{1,4}){1,3},?\s+(?:[a-z]+(?:-(?:cho|machi|chome|dori))?,?\s+){0,2}"
    r"[a-z]+-(?:ku|shi|gun|machi|cho|mura|son)\b(?:,?\s+[a-z]+-(?:shi|ku|gun|ken|fu|to))*"
    r"(?:,?\s+[0-9]{3}-[0-9]{4})?")

_PATTERNS = (
    ("phone", "[PHONE]", _PHONE),
    # A name after a title, or before a Japanese honorific written in romaji (Tanaka-san) — not a
    # label inside a host name (mochizuki-sama.test, sakuya-san-update.test stay: P2).
    ("person-title", "[PERSON]", re.compile(
        r"(?<![a-z])(?:mr|mrs|ms|miss|dr|prof)\.?\s+[a-z][a-z'-]+(?:\s+[a-z][a-z'-]+)?(?![a-z])"
        r"|(?<![a-z0-9./@-])[a-z][a-z']+-(?:san|sama|shi|kun)(?![a-z0-9-]|\.[a-z0-9])")),  # not a host label (P2)
    ("sid", "[SID]", re.compile(r"(?<![0-9a-z-])s-1-5-21(?:-\d+){3,4}(?![0-9])")),
    ("mac", "[MAC]", _MAC),
    ("postal-address", "[ADDRESS]", _POSTAL_ADDRESS),
)


def _context_findings(text: str, have_mac: bool):
    """Findings that need context: bare-hex MACs, digit-run phones, postal codes, romaji addresses."""
    if any(c.isdigit() for c in text):
        for m in _PHONE_BARE.finditer(text):
            yield m.start("v"), m.end("v"), "phone", "[PHONE]"
        for m in _POSTAL_CODE.finditer(text):
            yield m.start(), m.end(), "postal-code", "[ADDRESS]"
        for m in _ROMAJI_ADDRESS.finditer(text):
            yield m.start(), m.end(), "postal-address", "[ADDRESS]"
    for m in _MAC_BARE.finditer(text):
        if have_mac or _MAC_CONTEXT.search(text, max(0, m.start() - 20), m.start()):
            yield m.start(), m.end(), "mac", "[MAC]"


def detect(folded: Folded, index: ProfileIndex) -> list[Finding]:
    """Generic personal / site data that no profile lists."""
    out = []
    ascii_only = folded.text.isascii()  # Japanese names and addresses need Japanese script
    if not ascii_only:
        for s, e in ja_names.names(folded.text):
            start, end = folded.orig_span(s, e)
            out.append(Finding(start, end, RULE_ID, "person-name", "[PERSON]"))
    have_mac = False
    for kind, replacement, rx in _PATTERNS:
        if ascii_only and kind == "postal-address":
            continue
        for m in rx.finditer(folded.text):
            have_mac = have_mac or kind == "mac"
            start, end = folded.orig_span(m.start(), m.end())
            out.append(Finding(start, end, RULE_ID, kind, replacement))
    for s, e, kind, replacement in _context_findings(folded.text, have_mac):
        start, end = folded.orig_span(s, e)
        out.append(Finding(start, end, RULE_ID, kind, replacement))
    return out

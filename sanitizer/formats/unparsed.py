"""Text intake never drops an indicator silently.

`extra_candidates` finds what ioc_finder's TLD list misses: URLs with any scheme-led host, and
domains / e-mail addresses under reserved or new TLDs (`.example`, `.test`, `.invalid`,
`.localhost`, `.onion`, …) or written defanged. `audit` then reads every line for anything
IOC-like (a loose pass, on purpose wider than the extractor) and lists each line whose IOC-like
text produced no indicator: `{"line": n, "class": "url"}` — position and class only, never
the value (the report that holds it may be seen by peers).
"""
from __future__ import annotations

import re
import unicodedata

import ioc_fanger

# Names reserved by RFC 2606 / 6761 / 7686 / 8375 and commonly used internal suffixes: ioc_finder's
# public-suffix list does not know them, but attackers' hosts in reports and demos use them.
RESERVED_TLDS = ("example", "test", "invalid", "localhost", "onion", "local", "internal", "lan", "corp",
                 "home.arpa", "alt")
_LABEL = r"[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?"
_DOT = r"(?:\.|\[\.\]|\(\.\)|\{\.\}|\[dot\]|\(dot\))"
_URL = re.compile(r"(?:https?|ftps?|wss?|hxxps?|fxp)(?:\[:\]|:)//[!#-&(-;=?-_a-~]+", re.IGNORECASE)  # printable ASCII but quotes, <, >, `
_RESERVED_HOST = re.compile(
    r"(?<![\w.@\[\]-])((?:" + _LABEL + _DOT + r")+(?:" + "|".join(re.escape(t) for t in RESERVED_TLDS) + r"))"
    r"(?![\w-]|\.[a-z0-9])", re.IGNORECASE)
_DEFANGED_HOST = re.compile(
    r"(?<![\w.@\[\]-])((?:" + _LABEL + _DOT + r")*" + _LABEL + r"(?:\[\.\]|\(\.\)|\{\.\}|\[dot\]|\(dot\))"
    r"(?:" + _LABEL + _DOT + r")*[a-z]{2,24})(?![\w-])", re.IGNORECASE)
_EMAIL = re.compile(r"[\w.+-]{1,64}(?:@|\[@\]|\(@\)|\[at\]|\(at\))((?:" + _LABEL + _DOT + r")+[a-z]{2,24})",
                    re.IGNORECASE)
_TRAILING = ".,;:!?)]}>'\""

# Loose classes for the audit: anything here that ends in no indicator is reported.
_LOOSE = (
    ("url", _URL),
    ("email", _EMAIL),
    ("ipv4", re.compile(r"(?<![\d.])\d{1,3}(?:(?:\[\.\]|\(\.\)|\.)\d{1,3}){3}(?![\d]|\.\d)")),
    ("hash", re.compile(r"(?<![0-9a-f])(?:[0-9a-f]{128}|[0-9a-f]{64}|[0-9a-f]{40}|[0-9a-f]{32})(?![0-9a-f])",
                        re.IGNORECASE)),
    ("domain", _DEFANGED_HOST),
    ("domain", _RESERVED_HOST),
    ("cve", re.compile(r"cve-\d{4}-\d{4,}", re.IGNORECASE)),
)


def _fang(value: str) -> str:
    return ioc_fanger.fang(value.rstrip(_TRAILING)).strip()


def extra_candidates(text: str) -> dict[str, list[str]]:
    """kind -> candidate values ioc_finder may miss (validated later by make_ioc)."""
    urls = [_fang(m.group(0)) for m in _URL.finditer(text)]
    without_urls = _URL.sub(" ", text)
    emails = [_fang(m.group(0)) for m in _EMAIL.finditer(without_urls)]
    without = _EMAIL.sub(" ", without_urls)
    domains = [_fang(m.group(1)) for rx in (_RESERVED_HOST, _DEFANGED_HOST) for m in rx.finditer(without)]
    return {"url": urls, "email": emails, "domain": domains}


def _covered(cls: str, raw: str, values: list[str]) -> bool:
    probe = _fang(raw).lower()
    if cls == "ipv4":
        return any(re.search(r"(?<![\d.])" + re.escape(probe) + r"(?![\d]|\.\d)", v) for v in values)
    if cls == "email":
        probe = probe.split("@", 1)[-1]
    return any(probe in v or (cls == "url" and v in probe and len(v) > 8) for v in values)


def audit(text: str, values: list[str]) -> list[dict]:
    """Lines that held something IOC-like which no extracted indicator covers: [{line, class}]."""
    lowered = [v.lower() for v in values]
    out = []
    for n, line in enumerate(unicodedata.normalize("NFKC", text).splitlines(), start=1):
        missed = []
        for cls, rx in _LOOSE:
            for m in rx.finditer(line):
                raw = m.group(0)
                if not _covered(cls, raw, lowered) and cls not in missed:
                    missed.append(cls)
        out.extend({"line": n, "class": cls} for cls in missed)
    return out

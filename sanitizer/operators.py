"""Operators apply findings to text. They never detect anything themselves."""
from __future__ import annotations

from .rules.base import Finding


def merge(findings: list[Finding]) -> list[Finding]:
    """Resolve overlaps: the earliest, longest finding wins and absorbs what overlaps it."""
    merged: list[Finding] = []
    for f in sorted(findings, key=lambda f: (f.start, -(f.end - f.start))):
        if f.end <= f.start:
            continue
        if merged and f.start < merged[-1].end:
            last = merged[-1]
            if f.end > last.end:
                merged[-1] = Finding(last.start, f.end, last.rule, last.kind, last.replacement)
            continue
        merged.append(f)
    return merged


def replace(text: str, findings: list[Finding]) -> str:
    """Write each (merged) finding's replacement over its span."""
    if not findings:
        return text
    parts, pos = [], 0
    for f in findings:
        parts.append(text[pos:f.start])
        parts.append(f.replacement)
        pos = f.end
    parts.append(text[pos:])
    return "".join(parts)


def drop_url_parameters(url: str, findings: list[Finding]) -> str | None:
    """The URL without the query parameters (and fragment) that hold a finding, so an attacker's
    host and path survive a victim value in a parameter (P2). None if a finding lies in the
    scheme, host or path, or nothing would be left of the query."""
    q = url.find("?")
    h = url.find("#")
    cut = min(x for x in (q, h, len(url)) if x >= 0)
    if not findings or any(f.start < cut for f in findings):
        return None
    head = url[:cut]
    if q < 0 or (0 <= h < q):
        return head  # the findings are in the fragment: drop it
    end = h if h > q else len(url)
    kept, pos = [], q + 1
    for pair in url[q + 1:end].split("&"):
        a, b = pos, pos + len(pair)
        if not any(f.start < b and a < f.end for f in findings):
            kept.append(pair)
        pos = b + 1
    fragment = url[end:] if end < len(url) and not any(f.start >= end for f in findings) else ""
    return head + ("?" + "&".join(kept) if kept else "") + fragment

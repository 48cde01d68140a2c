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


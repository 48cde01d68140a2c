"""The redaction report (P5): one entry per change, in a public and a private form.

The public form (for peers) never holds an original value nor an original id; the private
form (submitter, analysts) adds them so a reviewer can see what was removed.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from . import public_paths
# Text intake: the bundle key listing lines whose IOC-like text produced no indicator.
UNPARSED_KEY = "x_hub_unparsed"
# The only classes it may name (a STIX submitter could put anything under that key).
UNPARSED_CLASSES = frozenset({"url", "email", "ipv4", "ipv6", "hash", "domain", "cve"})


def unparsed_lines(bundle: object) -> list[dict]:
    """The converter's `{line, class}` list from an input bundle (anything else ignored)."""
    raw = bundle.get(UNPARSED_KEY) if isinstance(bundle, dict) else None
    if not isinstance(raw, list):
        return []
    return [{"line": u["line"], "class": u["class"]} for u in raw
            if isinstance(u, dict) and isinstance(u.get("line"), int) and not isinstance(u.get("line"), bool)
            and u.get("class") in UNPARSED_CLASSES]


@dataclass(frozen=True)
class Entry:
    """One change: which rule, which output object (or dropped input object), where, what."""

    rule: str
    object: str  # output id, or "<type> (dropped)"
    path: str
    action: str
    cls: str | None = None
    original_id: str | None = None  # private
    original: str | None = None  # private: the value that was removed or replaced


@dataclass
class Report:
    """Everything the sanitiser changed, plus the holds an analyst must release (DI-17)."""

    entries: list[Entry] = field(default_factory=list)
    holds: list[dict] = field(default_factory=list)
    classes: dict[str, str] = field(default_factory=dict)
    tlp: str | None = None
    refused: list[dict] = field(default_factory=list)
    # Text intake: lines with IOC-like text that produced no indicator ({line, class}; no values).
    unparsed: list[dict] = field(default_factory=list)
    # DI-10b: "ran" or "not-run" (disabled by policy, or GiNZA not installed: see ner_note).
    ner: str = "not-run"
    ner_note: str = "disabled by policy"

    def add(self, rule: str, obj: str, path: str, action: str, *, cls: str | None = None,
            original_id: str | None = None, original: str | None = None) -> None:
        """Record one change."""
        self.entries.append(Entry(rule, obj, path, action, cls, original_id, original))

    def summary(self) -> dict:
        """Counts per rule and per class."""
        return {
            "changes_by_rule": dict(sorted(Counter(e.rule for e in self.entries).items())),
            "objects_by_class": dict(sorted(Counter(self.classes.values()).items())),
            "needs_review": len(self.holds),
        }

    def public(self) -> dict:
        """The form peers may see: no original values, no original ids, and no key or type name
        that the STIX specification does not define (a custom key can name the victim)."""
        return {
            "tlp": self.tlp,
            "summary": self.summary(),
            "holds": [{k: (public_paths.object_label(v) if k == "object" else v) for k, v in h.items()
                       if k != "original"} for h in self.holds],
            "classes": dict(sorted(self.classes.items())),
            "entries": [{"rule": e.rule, "object": public_paths.object_label(e.object),
                         "path": public_paths.path(e.path), "action": e.action, "class": e.cls}
                        for e in self.entries],
            "refused": [{**r, "where": public_paths.path(r["where"])} if "where" in r else r
                        for r in self.refused],
            "unparsed": list(self.unparsed),
            "ner": self.ner, "ner_note": self.ner_note,
        }

    def private(self) -> dict:
        """The form for the submitter and analysts: adds original ids and values."""
        out = self.public()
        out["holds"] = list(self.holds)
        out["refused"] = self.refused
        out["entries"] = [
            {"rule": e.rule, "object": e.object, "path": e.path, "action": e.action, "class": e.cls,
             "original_id": e.original_id, "original": e.original}
            for e in self.entries
        ]
        return out

"""The redaction report (P5): one entry per change, in a public and a private form.

The public form (for peers) never holds an original value nor an original id; the private
form (submitter, analysts) adds them so a reviewer can see what was removed.

Each entry is structured data, read by the hub's review and highlighting without parsing the
`action` prose: `state` says what became of the object holding the change, `replacement` is the
text written in place of the original (a placeholder, or a coarsened timestamp), else None.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

# What became of the object an entry is about. `pending` only while sanitising: the engine
# resolves it to `kept` (the object is in the output, at `object`) or `dropped`.
KEPT, REPLACED, DROPPED, PENDING = "kept", "replaced", "dropped", "pending"
STATES = (KEPT, REPLACED, DROPPED, PENDING)


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
    replacement: str | None = None  # what was written at `path` in place of `original` (public)
    state: str = PENDING  # kept | replaced (by another object) | dropped | pending

    def public(self) -> dict:
        """The entry without original values or ids."""
        return {"rule": self.rule, "object": self.object, "path": self.path, "action": self.action,
                "class": self.cls, "replacement": self.replacement, "state": self.state}


@dataclass
class Report:
    """Everything the sanitiser changed, plus the holds an analyst must release (DI-17)."""

    entries: list[Entry] = field(default_factory=list)
    holds: list[dict] = field(default_factory=list)
    classes: dict[str, str] = field(default_factory=dict)
    tlp: str | None = None
    refused: list[dict] = field(default_factory=list)

    def add(self, rule: str, obj: str, path: str, action: str, *, cls: str | None = None,
            original_id: str | None = None, original: str | None = None, replacement: str | None = None,
            state: str = PENDING) -> None:
        """Record one change."""
        self.entries.append(Entry(rule, obj, path, action, cls, original_id, original, replacement, state))

    def summary(self) -> dict:
        """Counts per rule and per class."""
        return {
            "changes_by_rule": dict(sorted(Counter(e.rule for e in self.entries).items())),
            "objects_by_class": dict(sorted(Counter(self.classes.values()).items())),
            "needs_review": len(self.holds),
        }

    def public(self) -> dict:
        """The form peers may see: no original values, no original ids."""
        return {
            "tlp": self.tlp,
            "summary": self.summary(),
            "holds": [{k: v for k, v in h.items() if k != "original"} for h in self.holds],
            "classes": dict(sorted(self.classes.items())),
            "entries": [e.public() for e in self.entries],
            "refused": self.refused,
        }

    def private(self) -> dict:
        """The form for the submitter and analysts: adds original ids and values."""
        out = self.public()
        out["holds"] = list(self.holds)
        out["entries"] = [{**e.public(), "original_id": e.original_id, "original": e.original}
                          for e in self.entries]
        return out

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

from . import public_paths

# What became of the object an entry is about. `pending` only while sanitising: the engine
# resolves it to `kept` (the object is in the output, at `object`) or `dropped`.
KEPT, REPLACED, DROPPED, PENDING = "kept", "replaced", "dropped", "pending"
STATES = (KEPT, REPLACED, DROPPED, PENDING)

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
    replacement: str | None = None  # what was written at `path` in place of `original` (public)
    state: str = PENDING  # kept | replaced (by another object) | dropped | pending

    def resolved(self, obj: str, state: str) -> "Entry":
        """This entry with its output object (or dropped label) and state settled."""
        return Entry(self.rule, obj, self.path, self.action, self.cls, self.original_id, self.original,
                     self.replacement, state)

    def classified(self, cls: str) -> "Entry":
        """This entry with the class of its object."""
        return Entry(self.rule, self.object, self.path, self.action, cls, self.original_id, self.original,
                     self.replacement, self.state)

    def public(self) -> dict:
        """The entry without original values or ids, custom keys and types redacted."""
        return public_entry(self.private())

    def private(self) -> dict:
        """The entry as the submitter and analysts see it: object, path and originals as they were."""
        return {"rule": self.rule, "object": self.object, "path": self.path, "action": self.action,
                "class": self.cls, "replacement": self.replacement, "state": self.state,
                "original_id": self.original_id, "original": self.original}


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
        """The form peers may see: no original values, no original ids, and no key or type name
        that the STIX specification does not define (a custom key can name the victim)."""
        return public_form(self.private())

    def private(self) -> dict:
        """The form for the submitter and analysts: original ids and values, paths as they were."""
        return {
            "tlp": self.tlp,
            "summary": self.summary(),
            "holds": list(self.holds),
            "classes": dict(sorted(self.classes.items())),
            "entries": [e.private() for e in self.entries],
            "refused": self.refused,
            "unparsed": list(self.unparsed),
            "ner": self.ner, "ner_note": self.ner_note,
        }


# The one place that turns the private form into the public one, also for a private report the hub
# has edited (analysts' undo and release), so the two can never disagree.
_PRIVATE_ENTRY_KEYS = ("original", "original_id")


def public_entry(entry: dict, paths: dict | None = None) -> dict:
    """An entry without original values or ids; custom keys and types in its object label and
    path redacted (`paths`: public paths already worked out for this report)."""
    out = {k: v for k, v in entry.items() if k not in _PRIVATE_ENTRY_KEYS}
    out["object"] = public_paths.object_label(entry.get("object", ""))
    p = entry.get("path", "")
    if paths is None:
        out["path"] = public_paths.path(p)
    else:  # a report repeats its paths (description, pattern …) thousands of times
        public = paths.get(p) if isinstance(p, str) else None
        if public is None:
            public = public_paths.path(p)
            if isinstance(p, str):
                paths[p] = public
        out["path"] = public
    return out


def public_form(private: dict) -> dict:
    """The public form of a private report dict (see `Report.private`)."""
    out = dict(private)
    paths: dict[str, str] = {}
    out["entries"] = [public_entry(e, paths) for e in private.get("entries", [])]
    out["holds"] = [{k: (public_paths.object_label(v) if k == "object" else v) for k, v in h.items()
                     if k != "original"} for h in private.get("holds", [])]
    out["refused"] = [{**r, "where": public_paths.path(r["where"])} if "where" in r else r
                      for r in private.get("refused", [])]
    return out

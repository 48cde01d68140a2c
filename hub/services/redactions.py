"""Analysts' undo and release edits applied to a sanitiser result, from the structured report
entries (`replacement`, `state`) — never by parsing the entries' prose."""
from __future__ import annotations

import copy
import re

from sanitizer import LeakRefused, VictimProfile, recheck


def apply_edits(result, original: dict, profile: VictimProfile, edits: list[dict]):
    """(draft, private report, open holds) after the analysts' undo and release edits."""
    draft = copy.deepcopy(result.bundle)
    private = result.report.private()
    undone = False
    for edit in edits:
        if edit.get("op") == "undo":
            entry = find_entry(private["entries"], edit["entry"])
            if entry is None or entry.get("undone"):
                continue  # the redaction no longer happens (e.g. after a later edit)
            _restore(draft, private["entries"], entry)
            entry["undone"] = True
            entry["justification"] = edit["justification"]
            undone = True
    if undone:
        hits = recheck(draft, original, profile)
        if hits:
            raise LeakRefused(hits)
    released = {e["object"]: e for e in edits if e.get("op") == "release"}
    # Dropping a held object (it was not strict STIX) leaves it out as holding it back would.
    withheld = {e["object"]: e["justification"] for e in edits if e.get("op") in ("withhold", "drop")}
    open_holds = []
    for hold in private["holds"]:
        if hold["object"] in released:
            hold["released"] = True
            hold["justification"] = released[hold["object"]]["justification"]
            hold["released_by"] = released[hold["object"]].get("by")  # the analyst's key id
        elif hold["object"] in withheld:
            hold["withheld"] = True
            hold["justification"] = withheld[hold["object"]]
        else:
            open_holds.append(hold)
    _drop(draft, {h["object"] for h in private["holds"] if h.get("withheld")}
          | {e["object"] for e in edits if e.get("op") == "drop"})
    return draft, private, open_holds


def _drop(draft: dict, ids: set[str]) -> None:
    """Leave objects out of the draft (held out by analysts, or dropped as not strict STIX), with
    the relationships and sightings that only link to them; their ids leave every *_refs list
    (an emptied required list is then a strict-STIX failure the analyst sees, e.g. observed-data
    without objects)."""
    if not ids:
        return
    kept = []
    for obj in draft["objects"]:
        if obj.get("id") in ids or {obj.get("source_ref"), obj.get("target_ref"), obj.get("sighting_of_ref")} & ids:
            continue
        kept.append({k: [r for r in v if r not in ids] if k.endswith("_refs") and isinstance(v, list) else v
                     for k, v in obj.items()})
    draft["objects"] = kept


def entry_keys(entries: list[dict]) -> list[str]:
    """A stable name for each report entry across recomputations (same fields + occurrence)."""
    seen: dict[str, int] = {}
    keys = []
    for entry in entries:
        base = "|".join(str(entry.get(k)) for k in ("rule", "original_id", "path", "action", "original"))
        seen[base] = seen.get(base, 0) + 1
        keys.append(f"{base}#{seen[base]}")
    return keys


def find_entry(entries: list[dict], key: object) -> dict | None:
    """The entry named by `key` (see `entry_keys`), or None."""
    return next((e for e, k in zip(entries, entry_keys(entries)) if k == key), None)


def undoable(entry: dict) -> bool:
    """Text written in place of an original value in a kept object (a placeholder, a coarsened
    time) can be put back; dropped objects and removed properties cannot."""
    return (entry.get("state") == "kept" and entry.get("original") is not None
            and entry.get("replacement") is not None)


def _restore(draft: dict, entries: list[dict], entry: dict) -> None:
    obj = next((o for o in draft["objects"] if o.get("id") == entry["object"]), None)
    if obj is None:
        return
    holder, key = _locate(obj, entry["path"])
    if holder is None or not isinstance(holder[key], str):
        return
    placeholder = entry["replacement"]
    # The n-th entry writing this text at this path wrote its n-th occurrence.
    same = [e for e in entries if e["object"] == entry["object"] and e["path"] == entry["path"]
            and e.get("replacement") == placeholder and not e.get("undone")]
    nth = same.index(entry)
    text = holder[key]
    pos = -1
    for _ in range(nth + 1):
        pos = text.find(placeholder, pos + 1)
        if pos < 0:
            return
    holder[key] = text[:pos] + entry["original"] + text[pos + len(placeholder):]


_STEP = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


def _locate(obj: dict, path: str):
    """(container, key) of a report path such as `description` or `extensions.x.name[2]`."""
    if not path or " " in path:
        return None, None
    steps = [(m.group(1), m.group(2)) for m in _STEP.finditer(path)]
    node = obj
    for i, (step_name, index) in enumerate(steps):
        key = step_name if step_name is not None else int(index)
        last = i == len(steps) - 1
        try:
            if last:
                node[key]  # noqa: B018 - existence check
                return node, key
            node = node[key]
        except (KeyError, IndexError, TypeError):
            return None, None
    return None, None

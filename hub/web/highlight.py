"""Redactions highlighted in the original and in the draft, built safely.

The JSON is pretty-printed here (same layout as json.dumps(indent=2)) rather than by json.dumps,
so that each string value is visited with its report path and its object: a highlight lands only
where the report says the change happened. Every piece of input text is JSON-escaped and then
HTML-escaped by markupsafe before it is joined with our own <mark> tags; nothing from a
submission is ever treated as mark-up.
"""
from __future__ import annotations

import ipaddress
import json
import re
from dataclasses import dataclass

from markupsafe import Markup, escape

_IPV4 = re.compile(r"(?<![\d.])\d{1,3}(?:\.\d{1,3}){3}(?![\d.])")


@dataclass(frozen=True)
class Mark:
    """Highlight `needle` (or the whole value when needle is None) under `path` with a rule."""

    path: str
    needle: str | None
    rule: str
    title: str


def original_marks(entries: list[dict]) -> dict[str, list[Mark]]:
    """Marks for the original input, by original object id."""
    marks: dict[str, list[Mark]] = {}
    for e in entries:
        oid = e.get("original_id")
        if not oid:
            continue
        title = _title(e)
        path = _prop(e.get("path") or "")
        if not path:  # the whole object was dropped, generalised or replaced: mark its id
            mark = Mark("id", None, e["rule"], title)
        elif isinstance(e.get("original"), str) and e["original"]:
            mark = Mark(path, e["original"], e["rule"], title)
        else:  # a property or comparison removed: mark what was there
            mark = Mark(path, None, e["rule"], title)
        marks.setdefault(oid, []).append(mark)
    return marks


def draft_marks(entries: list[dict]) -> dict[str, list[Mark]]:
    """Marks for the draft, by draft object id: placeholders, coarsened values, rebuilt patterns."""
    marks: dict[str, list[Mark]] = {}
    for e in entries:
        if e.get("undone") or e.get("state") == "dropped":
            continue  # an undone value is back as it was; a dropped object is not in the draft
        path = e.get("path") or ""
        if e.get("replacement") is not None:  # a placeholder or a coarsened time written at path
            mark = Mark(_prop(path), e["replacement"], e["rule"], _title(e))
        elif path.startswith("pattern"):
            mark = Mark(_prop(path), None, e["rule"], _title(e))
        elif not path:
            mark = Mark("id", None, e["rule"], _title(e))
        else:
            continue  # removed properties and references leave nothing to point at
        marks.setdefault(e["object"], []).append(mark)
    return marks


def text_marks(entries: list[dict]) -> list[Mark]:
    """Marks for a CSV or text input: every original value, wherever it occurs."""
    return [Mark("", e["original"], e["rule"], _title(e)) for e in entries
            if isinstance(e.get("original"), str) and e["original"]]


def profile_marks(profile: dict, text: str, rules: dict[str, str]) -> list[Mark]:
    """For a CSV or text input: the victim-profile values in the text. Its prose does not reach the
    converted bundle, so the report alone would leave the victim's name unmarked in the original."""
    marks = [Mark("", v, rules[field], f"{rules[field]} victim profile: {field}")
             for field, values in profile.items() if field in rules and field != "ip_ranges"
             and isinstance(values, list) for v in values if isinstance(v, str) and len(v) >= 2]
    networks = []
    for cidr in profile.get("ip_ranges") or []:
        try:
            networks.append(ipaddress.ip_network(cidr, strict=False))
        except ValueError:
            continue
    for found in set(_IPV4.findall(text)):
        try:
            address = ipaddress.ip_address(found)
        except ValueError:
            continue
        if any(address in net for net in networks):
            marks.append(Mark("", found, rules["ip_ranges"], f"{rules['ip_ranges']} victim profile: ip_ranges"))
    return marks


def _title(entry: dict) -> str:
    note = " (undone)" if entry.get("undone") else ""
    return f"{entry['rule']} {entry['action']}{note}"


def _prop(path: str) -> str:
    """Pattern entries name the comparison after a space (`pattern ipv4-addr:value`)."""
    return path.split(" ", 1)[0]


# -- rendering ---------------------------------------------------------------------------------

def render_bundle(bundle: dict, marks: dict[str, list[Mark]], limit: int | None = None) -> Markup:
    """The bundle pretty-printed with each object's marks applied; at most `limit` objects."""
    objects = bundle.get("objects") if isinstance(bundle, dict) else None
    if not isinstance(objects, list):
        return _render(bundle, "", 0, [])
    shown = objects if limit is None else objects[:limit]
    head = {k: v for k, v in bundle.items() if k != "objects"}
    parts = [Markup("{\n")]
    for key, value in head.items():
        parts += [Markup("  "), _string(key), Markup(": "), _render(value, "", 1, []), Markup(",\n")]
    parts.append(Markup('  "objects": [\n'))
    for i, obj in enumerate(shown):
        own = marks.get(obj.get("id")) if isinstance(obj, dict) and isinstance(obj.get("id"), str) else None
        parts += [Markup("    "), _render(obj, "", 2, own or []), Markup(",\n" if i < len(shown) - 1 else "\n")]
    parts.append(Markup("  ]\n}"))
    return Markup("").join(parts)


def render_text(text: str, marks: list[Mark]) -> Markup:
    """Plain text with every needle marked."""
    return _marked(text, marks, json_escape=False)


def _render(node, path: str, depth: int, marks: list[Mark]) -> Markup:
    pad = "  " * (depth + 1)
    end = "  " * depth
    if isinstance(node, dict):
        if not node:
            return Markup("{}")
        items = [Markup(pad) + _string(k) + Markup(": ") + _render(v, _join(path, k), depth + 1, marks)
                 for k, v in node.items()]
        return Markup("{\n") + Markup(",\n").join(items) + Markup("\n" + end + "}")
    if isinstance(node, list):
        if not node:
            return Markup("[]")
        items = [Markup(pad) + _render(v, f"{path}[{i}]", depth + 1, marks) for i, v in enumerate(node)]
        return Markup("[\n") + Markup(",\n").join(items) + Markup("\n" + end + "]")
    if isinstance(node, str):
        here = [m for m in marks if _under(path, m.path)]
        return Markup('"') + _marked(node, here, json_escape=True) + Markup('"')
    return escape(json.dumps(node))


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _under(path: str, target: str) -> bool:
    return path == target or path.startswith(target + ".") or path.startswith(target + "[")


def _string(text: str) -> Markup:
    return Markup('"') + _segment(text, True) + Markup('"')


def _segment(text: str, json_escape: bool) -> Markup:
    # JSON escaping works character by character, so escaping segments one by one gives the same
    # text as escaping the whole string; markupsafe then makes it inert HTML.
    return escape(json.dumps(text, ensure_ascii=False)[1:-1] if json_escape else text)


def _mark(inner: Markup, marks: list[Mark]) -> Markup:
    rules = " ".join(dict.fromkeys(m.rule for m in marks))
    title = "; ".join(dict.fromkeys(m.title for m in marks))
    return Markup('<mark data-rule="{}" title="{}">{}</mark>').format(rules, title, inner)


def _marked(text: str, marks: list[Mark], *, json_escape: bool) -> Markup:
    whole = [m for m in marks if m.needle is None]
    if whole:
        return _mark(_segment(text, json_escape), whole)
    spans = []
    for m in marks:
        for found in re.finditer(re.escape(m.needle), text, re.IGNORECASE):
            spans.append((found.start(), found.end(), m))
    # Earliest first, longest first at the same place; overlapping spans are merged into the first.
    spans.sort(key=lambda s: (s[0], -(s[1] - s[0])))
    parts, pos = [], 0
    chosen: list[tuple[int, int, list[Mark]]] = []
    for start, end, m in spans:
        if chosen and start < chosen[-1][1]:
            if m not in chosen[-1][2]:
                chosen[-1][2].append(m)
            continue
        chosen.append((start, end, [m]))
    for start, end, ms in chosen:
        parts.append(_segment(text[pos:start], json_escape))
        parts.append(_mark(_segment(text[start:end], json_escape), ms))
        pos = end
    parts.append(_segment(text[pos:], json_escape))
    return Markup("").join(parts)

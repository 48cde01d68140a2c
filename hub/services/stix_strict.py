"""Strict STIX 2.1 at the door of every TLP collection (issue 12): every object published passes
stix2-validator with no errors (required properties, patterns that parse, hashes of the right
form, ...) and every reference resolves in the publication, in the collection or to a TLP
marking. Failures are named by position, type and field, never by a value."""
from __future__ import annotations

import re
from typing import Callable, Iterable

from sanitizer.stixmeta import TLP_LEVEL_OF_ID

from . import stix_fast

# Warnings (best practices: UUIDv4 ids, custom-property style) are not failures (stix_fast.OPTIONS
# disables them); the hub's own de-identified ids are UUIDv5 (DI-13). stix_fast gives the
# validator's own error lines, deciding the common valid shapes without running it.
_FIELD = re.compile(r"^[a-z0-9_\-]+(\.[A-Za-z0-9_\-]+|\[\d+\])*$")
_REQUIRED = re.compile(r"'([a-z0-9_]{1,60})' is a required property")
MAX_LISTED = 50


def _field(message: str, obj_id: str | None) -> str:
    """The field a validator message is about (the part before the first ': ' after the id)."""
    rest = message.split(": ", 1)[1] if obj_id and message.startswith(obj_id + ": ") else message
    head = rest.split(": ", 1)[0] if ": " in rest else ""
    return head if head and len(head) <= 80 and _FIELD.match(head) else ""


def _describe(message: str, obj_id: str | None) -> str:
    """A validator message rewritten without any value from the object."""
    required = _REQUIRED.search(message)
    if required:
        return f"{required.group(1)}: required property missing"
    field = _field(message, obj_id)
    if "attern" in message and ("fail" in message or "valid" in message):
        return "pattern: does not parse as a STIX pattern"
    if message == "spec_version: must be 2.1":
        return message
    if "does not match" in message:
        return f"{field or 'a property'}: wrong form"
    if "is not of type" in message:
        return f"{field or 'a property'}: wrong type"
    if "is not one of" in message or "enum" in message:
        return f"{field or 'a property'}: not an allowed value"
    return f"{field or 'the object'}: not valid STIX 2.1"


_REF_KEYS: dict[tuple, tuple[str, ...]] = {}


def _ref_keys(obj: dict) -> tuple[str, ...]:
    """The *_ref / *_refs keys of the object, remembered per key layout."""
    layout = tuple(obj)
    keys = _REF_KEYS.get(layout)
    if keys is None:
        keys = tuple(k for k in layout if k.endswith("_ref") or k.endswith("_refs"))
        if len(_REF_KEYS) >= 10_000:
            _REF_KEYS.clear()
        _REF_KEYS[layout] = keys
    return keys


def _refs(obj: dict) -> Iterable[tuple[str, str]]:
    """(property, referenced id) for every top-level *_ref / *_refs and granular marking."""
    for key in _ref_keys(obj):
        value = obj[key]
        if key.endswith("_ref") and isinstance(value, str):
            yield key, value
        elif key.endswith("_refs") and isinstance(value, list):
            yield from ((key, v) for v in value if isinstance(v, str))
    for marking in obj.get("granular_markings") or []:
        if isinstance(marking, dict) and isinstance(marking.get("marking_ref"), str):
            yield "granular_markings.marking_ref", marking["marking_ref"]


def check(objects: list, present: Callable[[set[str]], set[str]]) -> list[str]:
    """Failures, one line each ("object #N (type): field: problem"); empty when all is valid.
    `present(ids)` answers which of `ids` the collection already holds."""
    failures: list[tuple[int, str]] = []
    ids = {o.get("id") for o in objects if isinstance(o, dict)}
    wanted: list[tuple[int, str, str, str]] = []
    for n, obj in enumerate(objects, 1):
        if not isinstance(obj, dict):
            failures.append((n, f"object #{n}: not a JSON object"))
            continue
        kind = obj.get("type") if isinstance(obj.get("type"), str) and len(obj["type"]) <= 250 else "?"
        try:
            fast = stix_fast.certainly_valid(obj)
        except Exception:  # noqa: BLE001  (an odd shape: the validator decides)
            fast = False
        if not fast:  # the common valid shapes never reach the validator
            obj_id = obj.get("id") if isinstance(obj.get("id"), str) else None
            try:
                messages = stix_fast.validator_errors(obj)
            except Exception:  # noqa: BLE001  (the validator raises on shapes it cannot walk)
                messages = ["the object could not be validated"]
            if "spec_version" in obj and obj["spec_version"] != "2.1":
                messages.append("spec_version: must be 2.1")
            failures += [(n, line) for line in sorted({f"object #{n} ({kind}): {_describe(m, obj_id)}"
                                                        for m in messages})]
        wanted += [(n, kind, prop, ref) for prop, ref in _refs(obj) if ref not in ids and ref not in TLP_LEVEL_OF_ID]
    if wanted:
        found = present({ref for *_rest, ref in wanted})
        failures += [(n, f"object #{n} ({kind}): {prop}: refers to an object neither in this publication "
                         f"nor in the collection") for n, kind, prop, ref in wanted if ref not in found]
    return [line for _n, line in sorted(failures, key=lambda f: f[0])]


def refusal(failures: list[str]) -> str:
    """The message of a refused publication: the first MAX_LISTED failures, one per line."""
    head = "\n".join(failures[:MAX_LISTED])
    more = f"\n(+{len(failures) - MAX_LISTED} more)" if len(failures) > MAX_LISTED else ""
    return f"not strict STIX 2.1 ({len(failures)} failures); nothing was published:\n{head}{more}"

"""Input validation: a STIX 2.1 bundle, checked enough that the engine can trust its shape.

Messages say where the problem is (object position, property), never a value from the input.
"""
from __future__ import annotations

import re

from .errors import BadInput

_ID = re.compile(r"^([a-z0-9][a-z0-9-]*[a-z0-9])--[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-"
                 r"[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


def validate_bundle(bundle: object) -> list[dict]:
    """Return the bundle's objects, or raise BadInput naming the first structural problem."""
    from .rules.di13_ids import SCO_TYPES

    if not isinstance(bundle, dict):
        raise BadInput("input: not a STIX bundle (the top level must be a JSON object)")
    if bundle.get("type") != "bundle":
        raise BadInput("input: not a STIX bundle (type must be 'bundle')")
    if not isinstance(bundle.get("id"), str) or not _ID.match(bundle["id"]) or not bundle["id"].startswith("bundle--"):
        raise BadInput("input: bundle id is missing or malformed")
    if bundle.get("spec_version") == "2.0":
        raise BadInput("input: STIX 2.0 bundles are not supported; convert to STIX 2.1 first")
    objects = bundle.get("objects", [])
    if not isinstance(objects, list):
        raise BadInput("input: bundle 'objects' must be a list")
    for i, obj in enumerate(objects, 1):
        if not isinstance(obj, dict):
            raise BadInput(f"object #{i}: not a JSON object")
        t = obj.get("type")
        if not isinstance(t, str) or not t:
            raise BadInput(f"object #{i}: missing 'type'")
        oid = obj.get("id")
        m = _ID.match(oid) if isinstance(oid, str) else None
        if not m or m.group(1) != t:
            raise BadInput(f"object #{i} ({t}): missing or malformed 'id'")
        sv = obj.get("spec_version")
        if sv == "2.0" or (sv is None and t not in SCO_TYPES):
            raise BadInput(f"object #{i} ({t}): STIX 2.0 content is not supported (spec_version must be 2.1)")
        if sv is not None and sv != "2.1":
            raise BadInput(f"object #{i} ({t}): unsupported spec_version")
        if t == "indicator" and obj.get("pattern_type", "stix") == "stix" and not isinstance(obj.get("pattern"), str):
            raise BadInput(f"object #{i} (indicator): missing 'pattern'")
        for key, value in obj.items():
            if (key.endswith("_ref") and not isinstance(value, str)) or (
                    key.endswith("_refs") and not (isinstance(value, list) and all(isinstance(r, str) for r in value))):
                raise BadInput(f"object #{i} ({t}): '{key}' must hold object ids")
    return objects

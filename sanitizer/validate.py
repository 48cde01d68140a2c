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
    # Messages name the position and the field (objects[3].id), never a type, key or value
    # from the input: they are stored and returned, and a victim's name may sit in any of them.
    for n, obj in enumerate(objects):
        i = f"objects[{n}]"
        if not isinstance(obj, dict):
            raise BadInput(f"{i}: not a JSON object")
        t = obj.get("type")
        if not isinstance(t, str) or not t:
            raise BadInput(f"{i}.type: missing 'type'")
        oid = obj.get("id")
        m = _ID.match(oid) if isinstance(oid, str) else None
        if not m or m.group(1) != t:
            raise BadInput(f"{i}.id: missing or malformed 'id'")
        sv = obj.get("spec_version")
        if sv == "2.0":
            raise BadInput(f"{i}.spec_version: STIX 2.0 content is not supported (spec_version must be 2.1)")
        if sv is not None and sv != "2.1":
            raise BadInput(f"{i}.spec_version: unsupported spec_version")
        if t == "indicator" and obj.get("pattern_type", "stix") == "stix" and not isinstance(obj.get("pattern"), str):
            raise BadInput(f"{i}.pattern: missing 'pattern'")
        for k, (key, value) in enumerate(obj.items()):
            if (key.endswith("_ref") and not isinstance(value, str)) or (
                    key.endswith("_refs") and not (isinstance(value, list) and all(isinstance(r, str) for r in value))):
                raise BadInput(f"{i}, property #{k + 1}: a *_ref / *_refs property must hold object ids")
    if objects and not any(o.get("spec_version") == "2.1" for o in objects) and any(
            o["type"] not in SCO_TYPES for o in objects):
        # No object says 2.1 and SDOs carry no spec_version: this is how STIX 2.0 looks.
        raise BadInput("input: STIX 2.0 content is not supported (no object has spec_version 2.1)")
    return objects


def _required() -> dict[str, tuple[str, ...]]:
    import stix2.registry

    maps = stix2.registry.STIX2_OBJ_MAPS["2.1"]
    out = {}
    for t, cls in list(maps["objects"].items()) + list(maps["observables"].items()):
        req = [k for k, p in cls._properties.items() if getattr(p, "required", False)]
        if t in maps["objects"] and t != "marking-definition":
            req += ["created", "modified"]
        if t == "indicator":
            req.append("valid_from")
        out[t] = tuple(dict.fromkeys(req))
    return out


REQUIRED = _required()


def missing_required(obj: dict) -> str | None:
    """The first property STIX 2.1 requires that the object lacks (None: complete)."""
    for prop in REQUIRED.get(obj["type"], ()):
        if obj.get(prop) in (None, "", []):
            return prop
    return None

"""STIX 2.1 facts the engine needs: allow-listed properties per type (P1), references, TLP."""
from __future__ import annotations

import stix2.registry

from .rules import di14_payloads

_MAPS = stix2.registry.STIX2_OBJ_MAPS["2.1"]

# P1: the properties the STIX 2.1 specification defines for each type, less what DI-14 drops.
ALLOWED: dict[str, frozenset[str]] = {}
for _t, _cls in list(_MAPS["objects"].items()) + list(_MAPS["observables"].items()):
    _props = set(_cls._properties) - set(di14_payloads.DROPPED.get(_t, ()))
    _props.discard("granular_markings")  # selectors point into the original object
    ALLOWED[_t] = frozenset(_props)
ALLOWED["observed-data"] = ALLOWED["observed-data"] - {"objects"}  # deprecated embedded SCOs
EXTENSION_PROPS = {name: frozenset(cls._properties) for name, cls in _MAPS["extensions"].items()}

TLP2_EXTENSION = "extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d"
TLP2_IDS = {
    "clear": "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487",
    "green": "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb",
    "amber": "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421",
    "amber+strict": "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003",
    "red": "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1",
}
TLP1_IDS = {
    "clear": "marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9",
    "green": "marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da",
    "amber": "marking-definition--f88d31f6-486f-44da-b317-01333bde0b82",
    "red": "marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed",
}
TLP_LEVEL_OF_ID = {v: k for k, v in TLP2_IDS.items()} | {v: k for k, v in TLP1_IDS.items()}
TLP_ORDER = ("clear", "green", "amber", "amber+strict", "red")


def tlp_marking(level: str) -> dict:
    """The OASIS TLP 2.0 marking definition, byte-for-byte as published."""
    return {
        "type": "marking-definition", "spec_version": "2.1", "id": TLP2_IDS[level],
        "created": "2022-10-01T00:00:00.000Z", "name": "TLP:" + level.upper(),
        "extensions": {TLP2_EXTENSION: {"extension_type": "property-extension", "tlp_2_0": level}},
    }


def tlp_level_of(obj: dict) -> str | None:
    """TLP level of a marking-definition object (1.0 or 2.0), or None if it is not TLP."""
    if obj.get("id") in TLP_LEVEL_OF_ID:
        return TLP_LEVEL_OF_ID[obj["id"]]
    if obj.get("definition_type") == "tlp":
        level = str((obj.get("definition") or {}).get("tlp", "")).lower()
        return {"white": "clear"}.get(level, level) if level else None
    ext = (obj.get("extensions") or {}).get(TLP2_EXTENSION)
    if isinstance(ext, dict):
        return str(ext.get("tlp_2_0", "")).lower() or None
    return None


def iter_refs(node, path=""):
    """Yield (path, key, value, container) for every *_ref / *_refs in a (nested) object."""
    if isinstance(node, dict):
        for k, v in list(node.items()):
            p = f"{path}.{k}" if path else k
            if k.endswith("_ref") and isinstance(v, str):
                yield p, k, v, node
            elif k.endswith("_refs") and isinstance(v, list):
                yield p, k, v, node
            elif isinstance(v, (dict, list)):
                yield from iter_refs(v, p)
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from iter_refs(v, f"{path}[{i}]")


def _json_type(prop):
    """The JSON type a stix2 property class stands for (None: not checked)."""
    import stix2.properties as sp

    if isinstance(prop, (sp.StringProperty, sp.TimestampProperty, sp.ReferenceProperty, sp.IDProperty,
                         sp.TypeProperty, sp.PatternProperty, sp.HexProperty, sp.BinaryProperty)):
        return (str,)
    if isinstance(prop, sp.ListProperty):
        return (list, _json_type(prop.contained))
    if isinstance(prop, (sp.DictionaryProperty, sp.HashesProperty, sp.ExtensionsProperty,
                         sp.EmbeddedObjectProperty, sp.ObservableProperty)):
        return (dict,)
    if isinstance(prop, sp.BooleanProperty):
        return (bool,)
    if isinstance(prop, sp.IntegerProperty):
        return (int,)
    if isinstance(prop, sp.FloatProperty):
        return (int, float)
    return None


def _types_of(cls) -> dict:
    return {k: t for k, p in cls._properties.items() if (t := _json_type(p)) is not None}


PROPERTY_TYPES = {t: _types_of(c) for t, c in list(_MAPS["objects"].items()) + list(_MAPS["observables"].items())}
EXTENSION_TYPES = {name: _types_of(c) for name, c in _MAPS["extensions"].items()}


def has_json_type(value, expected) -> bool:
    """True if a JSON value has the type a property expects (list elements included)."""
    kind = expected[0]
    if kind is list:
        if not isinstance(value, list):
            return False
        inner = expected[1]
        return inner is None or all(has_json_type(v, inner) for v in value)
    if kind is not bool and isinstance(value, bool):
        return False  # JSON true is not a number
    return isinstance(value, expected)


def wrongly_typed(obj: dict) -> list[str]:
    """Spec-defined properties (and extension properties) whose JSON type is wrong."""
    types = PROPERTY_TYPES.get(obj.get("type"), {})
    bad = [k for k, v in obj.items() if k in types and not has_json_type(v, types[k])]
    ext = obj.get("extensions")
    if isinstance(ext, dict) and "extensions" not in bad:
        for name, body in ext.items():
            if name in EXTENSION_TYPES:
                if not isinstance(body, dict):
                    bad.append(f"extensions.{name}")
                    continue
                inner = EXTENSION_TYPES[name]
                bad += [f"extensions.{name}.{k}" for k, v in body.items() if k in inner and not has_json_type(v, inner[k])]
    return bad

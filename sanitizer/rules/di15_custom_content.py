"""DI-15: custom content — `x_` properties, unknown extensions, custom object types — is dropped
(default deny, P1): nobody has reviewed what it may carry."""
from __future__ import annotations

import stix2.registry

RULE_ID = "DI-15"
TITLE = "Custom content: x_ properties, unknown extensions, custom types"
ACTION = "drop; report"
_MAPS = stix2.registry.STIX2_OBJ_MAPS["2.1"]
KNOWN_TYPES = frozenset(_MAPS["objects"]) | frozenset(_MAPS["observables"]) | {"marking-definition"}
KNOWN_EXTENSIONS = frozenset(_MAPS["extensions"])
# Object types we never carry even though the spec defines them.
DROPPED_TYPES = frozenset({"extension-definition", "incident"})


def is_custom_type(stix_type: str) -> bool:
    """True for object types the STIX 2.1 specification does not define (or we never carry)."""
    return stix_type not in KNOWN_TYPES or stix_type in DROPPED_TYPES or stix_type == "bundle"


def is_custom_property(name: str) -> bool:
    """True for custom property names."""
    return name.startswith("x_") or name.startswith("x-")

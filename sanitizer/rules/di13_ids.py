"""DI-13: every id regenerated.

SDO/SRO ids become HMAC(hub secret, original id) in UUIDv4 form: stable for the same secret
(so a later submission of the same object becomes a new version), unlinkable without it.
SCO ids are recomputed as the spec's UUIDv5 over the *sanitised* id-contributing properties,
because the original SCO id is a hash of the victim's value. Only TLP marking-definition ids
survive unchanged.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import re
import uuid

import stix2.registry
from stix2.canonicalization.Canonicalize import canonicalize

RULE_ID = "DI-13"
TITLE = "Regenerate every id; rewrite every *_ref(s); drop dangling relationships and sightings"
ACTION = "HMAC-keyed SDO/SRO ids, recomputed UUIDv5 SCO ids; TLP marking ids kept"

SCO_NAMESPACE = uuid.UUID("00abedb4-aa42-466c-9c01-fed23315a9b7")
_OBSERVABLES = stix2.registry.STIX2_OBJ_MAPS["2.1"]["observables"]
SCO_TYPES = frozenset(_OBSERVABLES)
ID_CONTRIBUTING = {t: tuple(c._id_contributing_properties) for t, c in _OBSERVABLES.items()}
UUID_IN_TEXT = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.IGNORECASE)
_HASH_PREFERENCE = ("MD5", "SHA-1", "SHA-256", "SHA-512")


def keyed_uuid(secret: bytes, label: str) -> str:
    """UUIDv4-shaped HMAC-SHA256 of `label` under the hub secret."""
    digest = hmac.new(secret, label.encode("utf-8"), hashlib.sha256).digest()
    return str(uuid.UUID(bytes=digest[:16], version=4))


def keyed_id(secret: bytes, stix_type: str, original_id: str) -> str:
    """New SDO/SRO id for an original id."""
    return f"{stix_type}--{keyed_uuid(secret, 'id:' + original_id)}"


def _one_hash(hashes: dict) -> dict:
    for name in _HASH_PREFERENCE:
        if name in hashes:
            return {name: hashes[name]}
    key = next(iter(hashes), None)
    return {key: hashes[key]} if key is not None else {}


def sco_id(obj: dict) -> str | None:
    """The deterministic UUIDv5 id of an SCO from its (already sanitised) properties."""
    props = ID_CONTRIBUTING.get(obj["type"], ())
    data = {}
    for key in props:
        if key in obj:
            data[key] = _one_hash(obj[key]) if key == "hashes" else obj[key]
    if not data:
        return None
    return f"{obj['type']}--{uuid.uuid5(SCO_NAMESPACE, canonical_json(data))}"


def canonical_json(data) -> str:
    """The JSON canonical form (RFC 8785) stix2 computes SCO ids over, as `canonicalize(data,
    utf8=False)` returns it. For plain data (strings, integers, booleans, null, lists, and
    dictionaries with ASCII keys; no floats) the C JSON encoder writes the same text (same
    separators, same string escaping, ASCII keys sort the same by code point as by UTF-16)
    far faster than stix2's pure-Python encoder, which remains the path for everything else."""
    if _plain(data):
        return json.dumps(data, ensure_ascii=False, separators=(",", ":"), sort_keys=True)
    return canonicalize(data, utf8=False)


def _plain(node) -> bool:
    t = type(node)
    if t is str or t is int or t is bool or node is None:
        return t is not int or -(2**53) < node < 2**53
    if t is list:
        return all(_plain(v) for v in node)
    if t is dict:
        return all(type(k) is str and k.isascii() and _plain(v) for k, v in node.items())
    return False

"""Infrastructure values of a submission for the corroboration index (issue 15): which values
each original object names (indicator pattern comparisons, infrastructure SCOs, file hashes),
normalised so the forms people and tools write compare equal, and keyed by HMAC so the index
never holds a value in clear. Pure functions: no store, no context."""
from __future__ import annotations

import hashlib
import hmac
import ipaddress
import re
from urllib.parse import urlsplit, urlunsplit

from sanitizer.rules.di12_patterns import PatternError, Verdict, rewrite

KINDS = ("domain", "ip", "url", "email", "file-hash")
_KIND_OF_TYPE = {"domain-name": "domain", "ipv4-addr": "ip", "ipv6-addr": "ip", "url": "url",
                 "email-addr": "email"}
_HEX = re.compile(r"^[0-9a-f]+$")
_HASH_NAME = re.compile(r"[^a-z0-9]")
_DEFAULT_PORTS = {"http": 80, "https": 443, "ftp": 21}


def _domain(value: str) -> str | None:
    host = value.strip().rstrip(".").lower()
    if not host or any(c.isspace() for c in host):
        return None
    try:
        return host.encode("idna").decode("ascii")
    except UnicodeError:
        return host


def _ip(value: str) -> str | None:
    try:
        net = ipaddress.ip_network(value.strip(), strict=False)
    except ValueError:
        return None
    single = net.num_addresses == 1
    return str(net.network_address) if single else str(net)


def _url(value: str) -> str | None:
    try:
        parts = urlsplit(value.strip())
        port = parts.port
    except ValueError:
        return None
    if not parts.scheme or not parts.hostname:
        return None
    scheme = parts.scheme.lower()
    host = _ip(parts.hostname.strip("[]")) or _domain(parts.hostname)
    if host and ":" in host:
        host = f"[{host}]"
    netloc = host if port in (None, _DEFAULT_PORTS.get(scheme)) else f"{host}:{port}"
    return urlunsplit((scheme, netloc, parts.path or "/", parts.query, ""))


def _email(value: str) -> str | None:
    local, sep, domain = value.strip().rpartition("@")
    if not sep or not local or not domain:
        return None
    return f"{local.lower()}@{_domain(domain)}"


def normalise(kind: str, value: str) -> str | None:
    """The canonical form of a value of `kind` (None if it is not one)."""
    if kind == "domain":
        return _domain(value)
    if kind == "ip":
        return _ip(value)
    if kind == "url":
        return _url(value)
    if kind == "email":
        return _email(value)
    if kind == "file-hash":
        algo, sep, digest = value.partition(":")
        digest = digest.strip().lower()
        if not sep or not _HEX.match(digest):
            return None
        return f"{_HASH_NAME.sub('', algo.lower())}:{digest}"
    return None


def value_key(secret: bytes, kind: str, normalised: str) -> str:
    """HMAC-SHA-256(index key, kind + value) in hex: the only form the index stores."""
    key = hmac.new(secret, b"hub corroboration index v1", hashlib.sha256).digest()
    return hmac.new(key, f"{kind}\0{normalised}".encode("utf-8"), hashlib.sha256).hexdigest()


def _from_path(obj_type: str, path: str, value: str) -> tuple[str, str] | None:
    prop = path.split(":", 1)[-1]
    if obj_type in _KIND_OF_TYPE and prop == "value":
        kind = _KIND_OF_TYPE[obj_type]
        norm = normalise(kind, value)
        return (kind, norm) if norm else None
    if obj_type == "file" and prop.startswith("hashes."):
        algo = prop[len("hashes."):].strip("'\"")
        norm = normalise("file-hash", f"{algo}:{value}")
        return ("file-hash", norm) if norm else None
    return None


def pattern_values(pattern: str) -> list[tuple[str, str]]:
    """(kind, normalised value) of each infrastructure comparison in a STIX pattern."""
    found: list[tuple[str, str]] = []

    def collect(obj_type: str, path: str, value: str) -> Verdict:
        hit = _from_path(obj_type, path, value) if value else None
        if hit and hit not in found:
            found.append(hit)
        return Verdict("keep")

    try:
        rewrite(pattern, collect)
    except PatternError:
        return []
    return found


def object_values(obj: dict) -> list[tuple[str, str]]:
    """(kind, normalised value) an object names: an indicator's pattern, an infrastructure SCO's
    value, a file's hashes."""
    obj_type = obj.get("type")
    if obj_type == "indicator" and obj.get("pattern_type", "stix") == "stix" and isinstance(obj.get("pattern"), str):
        return pattern_values(obj["pattern"])
    if obj_type in _KIND_OF_TYPE and isinstance(obj.get("value"), str):
        hit = _from_path(obj_type, f"{obj_type}:value", obj["value"])
        return [hit] if hit else []
    if obj_type == "file" and isinstance(obj.get("hashes"), dict):
        hits = [_from_path("file", f"file:hashes.{a}", v) for a, v in obj["hashes"].items() if isinstance(v, str)]
        return [h for h in dict.fromkeys(hits) if h]
    return []


def bundle_values(bundle: dict) -> dict[str, list[tuple[str, str]]]:
    """Original object id -> its (kind, normalised value) list, for objects that name any."""
    out: dict[str, list[tuple[str, str]]] = {}
    for obj in bundle.get("objects", []) if isinstance(bundle, dict) else []:
        if isinstance(obj, dict) and isinstance(obj.get("id"), str):
            values = object_values(obj)
            if values:
                out[obj["id"]] = values
    return out

"""Shared builder: IOC (kind, value, description) -> STIX 2.1 objects and bundle.

Both input formats (CSV, plain text) reduce their input to `Ioc` records made by
`make_ioc`, which canonicalises and validates the value; `build_bundle` then turns
them into a deterministic STIX 2.1 bundle (a plain dict).

Messages of `InvalidValue` never contain the value: it may be victim data.
"""
from __future__ import annotations

import datetime
import ipaddress
import json
import re
import unicodedata
import uuid
from dataclasses import dataclass
from typing import Iterable
from urllib.parse import urlsplit

import ioc_fanger
from stix2patterns.validator import run_validator

# Fixed namespace so that ids depend only on content (the sanitiser re-keys them anyway).
ID_NAMESPACE = uuid.UUID("00abedb4-aa42-466c-9c01-fed23315a9b7")

# Canonical kind names, in the order used by error messages.
KINDS = (
    "ipv4", "ipv6", "domain", "url", "email", "md5", "sha1", "sha256", "sha512", "ssdeep",
    "cve", "attack-technique", "filename", "mutex", "registry-key", "user-agent", "asn",
)

# Kinds whose values are written defanged by analysts; only these are refanged, because
# ioc_fanger also rewrites e.g. `\.` and `^x`, which are legitimate in registry keys etc.
_FANGED_KINDS = frozenset({"ipv4", "ipv6", "domain", "url", "email"})

# Kinds kept verbatim (no NFKC): they are exact-match strings, and NFKC would change a
# real indicator (half-width katakana, full-width letters, ligatures in file names...).
_VERBATIM_KINDS = frozenset({"filename", "mutex", "registry-key", "user-agent"})

# kind -> (object path in the STIX pattern, label used in the indicator name)
_PATTERN_PATHS = {
    "ipv4": ("ipv4-addr:value", "ipv4-addr"),
    "ipv6": ("ipv6-addr:value", "ipv6-addr"),
    "domain": ("domain-name:value", "domain-name"),
    "url": ("url:value", "url"),
    "email": ("email-addr:value", "email-addr"),
    "md5": ("file:hashes.'MD5'", "file MD5"),
    "sha1": ("file:hashes.'SHA-1'", "file SHA-1"),
    "sha256": ("file:hashes.'SHA-256'", "file SHA-256"),
    "sha512": ("file:hashes.'SHA-512'", "file SHA-512"),
    "ssdeep": ("file:hashes.'SSDEEP'", "file SSDEEP"),
    "filename": ("file:name", "file name"),
    "mutex": ("mutex:name", "mutex"),
    "registry-key": ("windows-registry-key:key", "windows-registry-key"),
    "user-agent": (
        "network-traffic:extensions.'http-request-ext'.request_header.'User-Agent'",
        "user-agent",
    ),
    "asn": ("autonomous-system:number", "autonomous-system"),
}

_HASH_LENGTHS = {"md5": 32, "sha1": 40, "sha256": 64, "sha512": 128}
_HEX = re.compile(r"[0-9a-f]+")
_SSDEEP = re.compile(r"\d+:[A-Za-z0-9/+]+:[A-Za-z0-9/+]+")
_CVE = re.compile(r"CVE-\d{4}-\d{4,}")
_TECHNIQUE = re.compile(r"T\d{4}(?:\.\d{3})?")
_LABEL = re.compile(r"[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?")
_TLD = re.compile(r"[a-z]{2,63}|xn--[a-z0-9-]{1,59}")
_SCHEME = re.compile(r"[a-z][a-z0-9+.-]*://", re.IGNORECASE)
_ASN = re.compile(r"(?:ASN?\s*)?(\d{1,10})", re.IGNORECASE)

# STIX requires the hive to be spelled out in full (HKEY_LOCAL_MACHINE, not HKLM).
_HIVES = {
    "HKEY_LOCAL_MACHINE": "HKEY_LOCAL_MACHINE", "HKLM": "HKEY_LOCAL_MACHINE",
    "HKEY_CURRENT_USER": "HKEY_CURRENT_USER", "HKCU": "HKEY_CURRENT_USER",
    "HKEY_CLASSES_ROOT": "HKEY_CLASSES_ROOT", "HKCR": "HKEY_CLASSES_ROOT",
    "HKEY_USERS": "HKEY_USERS", "HKU": "HKEY_USERS",
    "HKEY_CURRENT_CONFIG": "HKEY_CURRENT_CONFIG", "HKCC": "HKEY_CURRENT_CONFIG",
}


class InvalidValue(ValueError):
    """A value does not fit its kind. The message names the problem, never the value."""


@dataclass(frozen=True)
class Ioc:
    """One canonical indicator; build it with `make_ioc` so that it is validated."""

    kind: str
    value: str
    description: str | None = None


def make_ioc(kind: str, raw: str, description: str | None = None) -> Ioc:
    """Canonicalise and validate `raw` as a `kind` value; raise InvalidValue if it is not one.

    Network and hash-like values are NFKC-normalised (full-width digits and dots) and, for
    network kinds, refanged; exact-match strings (file names, mutexes, registry keys, user
    agents) are only stripped. Indicator kinds are also checked to form a valid STIX pattern.
    """
    if kind not in KINDS:
        raise InvalidValue(f"unknown kind {kind!r}")
    value = raw if kind in _VERBATIM_KINDS else unicodedata.normalize("NFKC", raw)
    value = value.strip()
    if kind in _FANGED_KINDS:
        value = ioc_fanger.fang(value).strip()
    if not value:
        raise InvalidValue(f"empty {kind} value")
    if any(unicodedata.category(c) == "Cc" for c in value):
        raise InvalidValue(f"{kind} value contains control characters")
    value = _CANONICALISERS[kind](value)
    if kind in _PATTERN_PATHS:
        errors = run_validator(_pattern(kind, value), stix_version="2.1")
        if errors:
            raise InvalidValue(f"{kind} value does not form a valid STIX pattern")
    desc = description.strip() if description else ""
    return Ioc(kind, value, desc or None)


# --- per-kind canonicalisation ----------------------------------------------------------

def _ipv4(value: str) -> str:
    try:
        if "/" in value:
            return str(ipaddress.IPv4Network(value, strict=True))
        return str(ipaddress.IPv4Address(value))
    except ValueError:
        raise InvalidValue("not a valid IPv4 address or CIDR") from None


def _ipv6(value: str) -> str:
    if "%" in value:
        raise InvalidValue("IPv6 zone indexes are not supported")
    try:
        if "/" in value:
            return str(ipaddress.IPv6Network(value, strict=True))
        return str(ipaddress.IPv6Address(value))
    except ValueError:
        raise InvalidValue("not a valid IPv6 address or CIDR") from None


def _is_domain(value: str) -> bool:
    """Sanity check of a fully-qualified domain name (internationalised names allowed)."""
    try:
        ascii_name = value.encode("idna").decode("ascii") if not value.isascii() else value
    except UnicodeError:
        return False
    labels = ascii_name.lower().split(".")
    if len(ascii_name) > 253 or len(labels) < 2:
        return False
    return all(_LABEL.fullmatch(lab) for lab in labels) and bool(_TLD.fullmatch(labels[-1]))


def _domain(value: str) -> str:
    value = value.lower().removesuffix(".")
    if not _is_domain(value):
        raise InvalidValue("not a valid domain name")
    return value


def _is_host(host: str) -> bool:
    """A URL host: domain name, IPv4 address or bracketed IPv6 address."""
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    try:
        ipaddress.ip_address(host)
        return True
    except ValueError:
        return _is_domain(host.lower())


def _url(value: str) -> str:
    if any(c.isspace() for c in value):
        raise InvalidValue("URL contains whitespace")
    # Scheme-less URLs ("evil.example/gate.php") are kept as written: the scheme is unknown.
    probe = value if _SCHEME.match(value) else "//" + value
    try:
        parts = urlsplit(probe)
        host = parts.hostname
        _ = parts.port  # raises ValueError on a malformed port
    except ValueError:
        raise InvalidValue("not a valid URL") from None
    if not host or not _is_host(host):
        raise InvalidValue("URL has no valid host")
    return value


def _email(value: str) -> str:
    local, at, domain = value.rpartition("@")
    if not at or not local or len(local) > 64 or any(c.isspace() or c == "@" for c in local):
        raise InvalidValue("not a valid e-mail address")
    domain = domain.lower()
    if not _is_domain(domain):
        raise InvalidValue("e-mail address has no valid domain")
    return f"{local}@{domain}"


def _hash(kind: str):
    def check(value: str) -> str:
        value = value.lower()
        if len(value) != _HASH_LENGTHS[kind] or not _HEX.fullmatch(value):
            raise InvalidValue(f"not a {kind} hash ({_HASH_LENGTHS[kind]} hex digits)")
        return value
    return check


def _ssdeep(value: str) -> str:
    if not _SSDEEP.fullmatch(value):
        raise InvalidValue("not an ssdeep hash (blocksize:hash:hash)")
    return value


def _cve(value: str) -> str:
    value = value.upper()
    if not _CVE.fullmatch(value):
        raise InvalidValue("not a CVE id (CVE-YYYY-NNNN)")
    return value


def _technique(value: str) -> str:
    value = value.upper()
    if not _TECHNIQUE.fullmatch(value):
        raise InvalidValue("not an ATT&CK technique id (T1234 or T1234.001)")
    return value


def _filename(value: str) -> str:
    # A path would carry the victim's directory layout (user names); only names are shared.
    if "/" in value or "\\" in value:
        raise InvalidValue("file name must not contain a path")
    if len(value) > 255:
        raise InvalidValue("file name longer than 255 characters")
    return value


def _plain(value: str) -> str:
    return value


def _registry_key(value: str) -> str:
    hive, sep, rest = value.partition("\\")
    full = _HIVES.get(hive.upper())
    if full is None:
        raise InvalidValue("registry key must start with a hive (HKEY_LOCAL_MACHINE, HKLM, ...)")
    rest = rest.rstrip("\\")
    return f"{full}\\{rest}" if rest else full


def _asn(value: str) -> str:
    m = _ASN.fullmatch(value)
    if not m or not 0 < int(m.group(1)) <= 0xFFFFFFFF:
        raise InvalidValue("not an AS number (AS64500 or 64500)")
    return str(int(m.group(1)))


_CANONICALISERS = {
    "ipv4": _ipv4, "ipv6": _ipv6, "domain": _domain, "url": _url, "email": _email,
    "md5": _hash("md5"), "sha1": _hash("sha1"), "sha256": _hash("sha256"),
    "sha512": _hash("sha512"), "ssdeep": _ssdeep, "cve": _cve,
    "attack-technique": _technique, "filename": _filename, "mutex": _plain,
    "registry-key": _registry_key, "user-agent": _plain, "asn": _asn,
}


# --- STIX objects -----------------------------------------------------------------------

def escape_pattern_string(value: str) -> str:
    """Escape a value for a single-quoted STIX pattern string literal."""
    return value.replace("\\", "\\\\").replace("'", "\\'")


def _pattern(kind: str, value: str) -> str:
    path = _PATTERN_PATHS[kind][0]
    literal = value if kind == "asn" else f"'{escape_pattern_string(value)}'"
    return f"[{path} = {literal}]"


def _stable_id(stix_type: str, *parts: str) -> str:
    return f"{stix_type}--{uuid.uuid5(ID_NAMESPACE, '|'.join((stix_type, *parts)))}"


def _timestamps(now: datetime.datetime) -> tuple[str, str]:
    """(created/modified, valid_from) strings; the library never reads the clock itself."""
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be a timezone-aware datetime")
    utc = now.astimezone(datetime.timezone.utc)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.000Z"), utc.strftime("%Y-%m-%dT%H:%M:%SZ")


def ioc_to_stix(ioc: Ioc, now: datetime.datetime) -> dict:
    """One STIX 2.1 object for `ioc`: vulnerability, attack-pattern or indicator."""
    created, valid_from = _timestamps(now)
    common = {"spec_version": "2.1", "created": created, "modified": created}
    if ioc.kind == "cve":
        obj = {
            "type": "vulnerability", "id": _stable_id("vulnerability", ioc.value),
            "name": ioc.value,
            "external_references": [{"source_name": "cve", "external_id": ioc.value}],
        }
    elif ioc.kind == "attack-technique":
        obj = {
            "type": "attack-pattern", "id": _stable_id("attack-pattern", ioc.value),
            "name": ioc.value,
            "external_references": [{
                "source_name": "mitre-attack", "external_id": ioc.value,
                "url": "https://attack.mitre.org/techniques/" + ioc.value.replace(".", "/") + "/",
            }],
        }
    else:
        label = _PATTERN_PATHS[ioc.kind][1]
        shown = f"AS{ioc.value}" if ioc.kind == "asn" else ioc.value
        obj = {
            "type": "indicator", "id": _stable_id("indicator", ioc.kind, ioc.value),
            "name": f"{label} {shown}",
            "indicator_types": ["malicious-activity"],
            "pattern": _pattern(ioc.kind, ioc.value),
            "pattern_type": "stix",
            "pattern_version": "2.1",
            "valid_from": valid_from,
        }
    obj.update(common)
    if ioc.description:
        obj["description"] = ioc.description
    return obj


def dedupe(iocs: Iterable[Ioc]) -> list[Ioc]:
    """Drop repeated (kind, value) pairs; the first non-empty description is kept."""
    merged: dict[tuple[str, str], Ioc] = {}
    for ioc in iocs:
        key = (ioc.kind, ioc.value)
        seen = merged.get(key)
        if seen is None or (seen.description is None and ioc.description):
            merged[key] = ioc
    return list(merged.values())


def build_bundle(iocs: Iterable[Ioc], now: datetime.datetime) -> dict:
    """A deterministic STIX 2.1 bundle dict for `iocs` (deduplicated, objects sorted)."""
    objects = [ioc_to_stix(ioc, now) for ioc in dedupe(iocs)]
    objects.sort(key=lambda o: (o["type"], o["name"], o["id"]))
    canonical = json.dumps(objects, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    bundle_id = f"bundle--{uuid.uuid5(ID_NAMESPACE, 'bundle|' + canonical)}"
    return {"type": "bundle", "id": bundle_id, "objects": objects}

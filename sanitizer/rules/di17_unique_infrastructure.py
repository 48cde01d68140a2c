"""DI-17: infrastructure seen for one victim only can point at that victim (a C2 domain set up
for one target). Such values are held for analyst review until released or until k distinct
reporting CSIRTs have reported them.

v2: every infrastructure value that will be published is held this way — comparison values of
indicator patterns, infrastructure SCOs (addresses, domains, URLs, e-mail addresses,
certificates) and `infrastructure` objects — not only indicators. The counts come from the
policy's `known_reporter_counts` (value -> number of distinct reporting CSIRTs), which the hub
fills from its own records.
"""
from __future__ import annotations

from ..policy import Policy

RULE_ID = "DI-17"
TITLE = "Victim-unique infrastructure (value reported by fewer than k CSIRTs)"
ACTION = "hold for review; publish after analyst release or once k distinct CSIRTs reported it"
INFRASTRUCTURE_TYPES = frozenset({"ipv4-addr", "ipv6-addr", "domain-name", "url", "email-addr", "x509-certificate"})
REASON = "DI-17 infrastructure reported by fewer than k CSIRTs"


def normalise(value: str) -> str:
    """The form values are counted in (case-insensitive, no trailing dot or white space)."""
    return value.strip().rstrip(".").lower()


def values_of(obj: dict) -> list[str]:
    """The infrastructure values an SCO or `infrastructure` object would publish."""
    t = obj.get("type")
    if t == "infrastructure":
        return [obj["name"]] if isinstance(obj.get("name"), str) else []
    if t not in INFRASTRUCTURE_TYPES:
        return []
    if t == "x509-certificate":
        hashes = obj.get("hashes") if isinstance(obj.get("hashes"), dict) else {}
        found = [v for v in hashes.values() if isinstance(v, str)]
        return found or ([obj["serial_number"]] if isinstance(obj.get("serial_number"), str) else [])
    return [obj["value"]] if isinstance(obj.get("value"), str) else []


_NORMALISED: list[tuple[dict, dict]] = []  # (policy's counts, normalised copy): one submission at a time


def _counts(raw: dict) -> dict:
    for original, normalised in _NORMALISED:
        if original is raw:
            return normalised
    normalised = {normalise(k): v for k, v in raw.items() if isinstance(k, str)}
    _NORMALISED[:] = [(raw, normalised)]
    return normalised


def needs_review(values: list[str], policy: Policy) -> bool:
    """True unless every infrastructure value is already known from at least k reporting CSIRTs."""
    counts = _counts(policy.known_reporter_counts)
    return any(counts.get(normalise(v), 0) < policy.k for v in values)

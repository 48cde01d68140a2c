"""DI-17: infrastructure seen for one victim only can point at that victim (a C2 domain set up
for one target). Such indicators are held for analyst review until released or until k
reporters have it."""
from __future__ import annotations

from ..policy import Policy

RULE_ID = "DI-17"
TITLE = "Victim-unique infrastructure (indicator seen for one victim only)"
ACTION = "mark needs_review; publish after analyst release or once k reporters have it"
INFRASTRUCTURE_TYPES = frozenset({"ipv4-addr", "ipv6-addr", "domain-name", "url", "email-addr", "x509-certificate"})


def needs_review(values: list[str], policy: Policy) -> bool:
    """True unless every infrastructure value is already known from at least k reporters."""
    return any(policy.known_reporter_counts.get(v, 0) < policy.k for v in values)

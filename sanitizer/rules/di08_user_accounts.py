"""DI-08: `user-account` SCOs and pattern comparisons on them are the victim's accounts."""
from __future__ import annotations

RULE_ID = "DI-08"
TITLE = "user-account SCOs and pattern comparisons on them"
ACTION = "drop; report"
TYPES = frozenset({"user-account"})


def is_account(stix_type: str) -> bool:
    """True for object types that describe a (victim) account."""
    return stix_type in TYPES

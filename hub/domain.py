"""The hub's domain facts, each spelled once: TLP levels and their collections, submission
states, roles, organisation types, the shape of a key id, and the hub's timestamps.

Everything else in `hub/` imports these names; nothing repeats the lists. The TLP levels are the
sanitiser's (`sanitizer.policy`), since the sanitiser marks the output with them.
"""
from __future__ import annotations

import re
import secrets
import time
from datetime import datetime, timedelta, timezone

from sanitizer.policy import TLP_LEVELS

__all__ = [
    "COLLECTION_OF_TLP", "KEY_ID", "ORG_TYPES", "OPERATOR_ORG", "READ_ROLES", "REVIEW_ROLES", "ROLES",
    "IOC_CLASSES", "IOC_TYPES", "SUBMISSION_STATES", "TIMESTAMP_FORMAT", "TLP_LEVELS", "format_us", "ioc_class",
    "ioc_counts", "now_us", "now_timestamp",
]

# TLP:RED is never shared, so it has no collection; a collection's `tlp` column names its level.
COLLECTION_OF_TLP = {tlp: f"TLP:{tlp.upper()}" for tlp in TLP_LEVELS}

# queued → processing → review → published | rejected; processing → failed | refused.
SUBMISSION_STATES = ("queued", "processing", "review", "published", "rejected", "refused", "failed")
PENDING_STATES = ("queued", "processing")

ROLES = ("submitter", "consumer", "analyst", "admin")
READ_ROLES = frozenset({"consumer", "analyst", "admin"})
REVIEW_ROLES = frozenset({"analyst", "admin"})  # of the operator organisation only
ORG_TYPES = ("operator", "csirt", "peer")
MEMBER_ORG_TYPES = ("csirt", "peer")  # what `hub org add` registers; the operator comes with `hub init`
OPERATOR_ORG = "hub-operator"

# What a key id can look like ("hk_" and hex today); anything else is refused before the store
# is asked (PostgreSQL rejects a NUL byte in a text parameter with an error, not a miss).
KEY_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")

# The one timestamp form the hub writes (TAXII date_added, audit, manifests, API views).
TIMESTAMP_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def new_id(prefix: str) -> str:
    """A random id such as sub_…, pub_… or prof_…."""
    return f"{prefix}_{secrets.token_hex(10)}"


def now_us() -> int:
    """Microseconds since the epoch (the store's integer time columns)."""
    return time.time_ns() // 1000


def format_us(micros: int | None) -> str | None:
    """A microsecond time as YYYY-MM-DDTHH:MM:SS.ffffffZ (None stays None)."""
    if micros is None:
        return None
    return (_EPOCH + timedelta(microseconds=micros)).strftime(TIMESTAMP_FORMAT)


def now_timestamp() -> str:
    """Now, as YYYY-MM-DDTHH:MM:SS.ffffffZ."""
    return datetime.now(timezone.utc).strftime(TIMESTAMP_FORMAT)


def format_time(moment: datetime) -> str:
    """A datetime as YYYY-MM-DDTHH:MM:SS.ffffffZ."""
    return moment.strftime(TIMESTAMP_FORMAT)


_STIX_TIMESTAMP = re.compile(r"(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(?:\.(\d{1,9}))?Z")


def normalise_timestamp(value: object) -> str | None:
    """A STIX timestamp at exactly microsecond precision (so string order is time order), or
    None if it is not one. Finer digits are truncated: the store's columns hold microseconds."""
    if not isinstance(value, str):
        return None
    match = _STIX_TIMESTAMP.fullmatch(value)
    if not match:
        return None
    year, month, day, hour, minute, second, fraction = match.groups()
    try:  # rejects month 13, February 30, hour 24 and the like
        datetime(int(year), int(month), int(day), int(hour), int(minute), int(second))
    except ValueError:
        return None
    return f"{value[:19]}.{(fraction or '')[:6].ljust(6, '0')}Z"


def parse_timestamp(value: str) -> datetime:
    """YYYY-MM-DDTHH:MM:SS.ffffffZ back to an aware datetime (ValueError otherwise)."""
    return datetime.strptime(value, TIMESTAMP_FORMAT).replace(tzinfo=timezone.utc)


# What an analyst counts in a submission: each IOC class and the STIX objects that belong to it
# (通信先 = network destinations, マルウェア = malware and file hashes, 脆弱性, TTP).
IOC_CLASSES = ("network", "malware", "vulnerability", "ttp")
_CLASS_OF_TYPE = {"infrastructure": "network", "domain-name": "network", "ipv4-addr": "network",
                  "ipv6-addr": "network", "url": "network", "email-addr": "network", "malware": "malware",
                  "file": "malware", "tool": "malware", "vulnerability": "vulnerability", "attack-pattern": "ttp"}
_NETWORK_PATTERN = re.compile(r"\[(domain-name|ipv4-addr|ipv6-addr|url|email-addr|email-message|network-traffic):")
IOC_TYPES = frozenset({"indicator", *_CLASS_OF_TYPE})


def ioc_class(obj: dict) -> str | None:
    """The IOC class of one STIX object (an indicator by what its pattern compares), or None."""
    kind = obj.get("type")
    if kind == "indicator":
        pattern = obj.get("pattern") if isinstance(obj.get("pattern"), str) else ""
        if _NETWORK_PATTERN.search(pattern):
            return "network"
        return "malware" if "[file:" in pattern else None
    return _CLASS_OF_TYPE.get(kind)


def ioc_counts(objects: list) -> dict[str, int]:
    """How many objects of each IOC class a bundle's objects hold."""
    counts = dict.fromkeys(IOC_CLASSES, 0)
    for obj in objects:
        found = ioc_class(obj) if isinstance(obj, dict) else None
        if found:
            counts[found] += 1
    return counts

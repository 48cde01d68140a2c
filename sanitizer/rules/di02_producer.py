"""DI-02: the producer. Every `created_by_ref` becomes the hub's identity, unless the submitter
asked to be named (policy `attribution`) and the creator is not the victim.

v2: when the producer is the victim's own team (in-house CSIRT / SOC: the profile declares it with
`inhouse_team_names` / `inhouse_domains` / `ticket_prefixes`, or the producer identity names the
victim), its names, aliases, contact addresses and ticket prefixes are victim tokens; ticket ids
with those prefixes become `[TICKET]`."""
from __future__ import annotations

import functools
import re

from ..matching import ProfileIndex
from ..normalize import Folded, fold_str
from ..policy import Policy
from . import di11_external_references
from .base import Finding
from .di13_ids import keyed_uuid

RULE_ID = "DI-02"
TITLE = "Producer (created_by_ref of the submitting CSIRT)"
ACTION = "replace with the hub's identity unless the submitter asked to be named"
HUB_IDENTITY_CREATED = "2025-01-01T00:00:00.000Z"


def hub_identity(policy: Policy, secret: bytes) -> dict:
    """The hub's own identity object (stable for one hub secret)."""
    return {
        "type": "identity", "spec_version": "2.1",
        "id": "identity--" + keyed_uuid(secret, "hub-identity"),
        "created": HUB_IDENTITY_CREATED, "modified": HUB_IDENTITY_CREATED,
        "name": policy.hub_name, "identity_class": "organization",
        "description": "攻撃技術情報の非特定化共有ハブ / De-identified attack-technique sharing hub",
    }


def producers(objects: list[dict]) -> set[str]:
    """Original ids of every identity used as created_by_ref."""
    return {o["created_by_ref"] for o in objects if isinstance(o.get("created_by_ref"), str)}


# DI-02 v2: the producer is the victim's own team (in-house CSIRT / SOC) when its identity names
# the victim. Its names, aliases, contact addresses and ticket prefixes then become victim tokens.
_ALIAS_PROPS = ("aliases", "x_opencti_aliases", "x_aliases", "x_mitre_aliases")
_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
_TEAM_ABBR = re.compile(r"(?<![A-Za-z0-9-])[A-Z][A-Z0-9]{1,9}-?(?:CSIRT|PSIRT|SIRT|CERT|CIRT|IRT|SOC)(?![A-Za-z0-9])")
_FOLD_SEP = re.compile(r"[\s._\-・/]+")


def _squash(text: str) -> str:
    return _FOLD_SEP.sub("", fold_str(text))


def inhouse_tokens(objects: list[dict], victims: set[str]) -> tuple[tuple[str, ...], ...]:
    """(team names, domains, e-mail addresses, ticket prefixes) of victim-side producers found in
    the bundle; all empty when the producer is not the victim's own team."""
    makers = producers(objects) & victims
    names, emails = [], []
    for o in objects:
        if o.get("id") not in makers or o.get("type") != "identity":
            continue
        for value in [o.get("name")] + [a for p in _ALIAS_PROPS for a in (o.get(p) or [])]:
            if isinstance(value, str) and len(value.strip()) >= 3:
                names.append(value.strip())
        for prop in ("name", "description"):  # team abbreviations written in its own text (TKC-SIRT: …)
            if isinstance(o.get(prop), str):
                names.extend(_TEAM_ABBR.findall(o[prop]))
        if isinstance(o.get("contact_information"), str):
            emails.extend(_EMAIL.findall(o["contact_information"]))
    if not names:
        return (), (), (), ()
    squashed = [_squash(n) for n in names]
    prefixes = []
    for o in objects:
        for ref in o.get("external_references") or []:
            if not isinstance(ref, dict):
                continue
            prefix = di11_external_references.ticket_prefix(ref)
            where = _squash(" ".join(str(ref.get(k, "")) for k in ("source_name", "url", "description")))
            if prefix and any(s and s in where for s in squashed):
                prefixes.append(prefix)
    return tuple(names), (), tuple(dict.fromkeys(emails)), tuple(dict.fromkeys(prefixes))


@functools.lru_cache(maxsize=64)
def _ticket_regex(prefixes: tuple[str, ...]) -> re.Pattern | None:
    if not prefixes:
        return None
    alts = "|".join(sorted((re.escape(fold_str(p)) for p in prefixes), key=len, reverse=True))
    return re.compile(r"(?<![a-z0-9])(?:" + alts + r")[-_#]?\d[0-9a-z]*(?:[-_][0-9a-z]+)*")


def detect(folded: Folded, index: ProfileIndex) -> list[Finding]:
    """Ticket ids that start with one of the in-house team's prefixes (`TKCIR-2024-0409`)."""
    rx = _ticket_regex(tuple(getattr(index.profile, "ticket_prefixes", ()) or ()))
    if rx is None:
        return []
    out = []
    for m in rx.finditer(folded.text):
        start, end = folded.orig_span(m.start(), m.end())
        out.append(Finding(start, end, RULE_ID, "ticket", "[TICKET]"))
    return out

"""DI-01: victim identity objects become one generalised identity (or are dropped, by policy).

An identity is the victim's when its text names the victim (profile tokens, victim domains), when
it describes a person or a system (never attack-technique information),
when a sighting was seen there (`where_sighted_refs`), or when it is the target of a `targets`
relationship and describes an organisation or person rather than a whole sector (class).
Locations in `where_sighted_refs` or targeted are the victim's site and go the same way.
"""
from __future__ import annotations

from ..policy import Policy
from ..profile import VictimProfile
from . import di16_sector_region
from .di13_ids import keyed_uuid

RULE_ID = "DI-01"
TITLE = "Victim identity objects (name match, where_sighted_refs, targets, victim created_by_ref)"
ACTION = "replace with one generalised identity, or drop (policy)"
_TEXT_PROPS = ("name", "description", "contact_information", "roles")
_VICTIM_CLASSES = {"individual", "system"}


def find_victims(objects: list[dict], names_victim) -> set[str]:
    """Original ids of victim identities and locations. `names_victim(text)` says if text names it."""
    victims: set[str] = set()
    by_id = {o.get("id"): o for o in objects}
    for o in objects:
        # People and systems are never attack-technique information: they are the victim side.
        if o.get("type") == "identity" and (o.get("identity_class") in _VICTIM_CLASSES or any(
                isinstance(o.get(p), str) and names_victim(o[p]) for p in _TEXT_PROPS)):
            victims.add(o["id"])
        elif o.get("type") == "location" and any(
                isinstance(o.get(p), str) and names_victim(o[p]) for p in ("name", "description", "street_address")):
            victims.add(o["id"])
        elif o.get("type") == "sighting":
            victims.update(r for r in o.get("where_sighted_refs") or [] if isinstance(r, str))
        elif o.get("type") == "relationship" and o.get("relationship_type") == "targets":
            target = by_id.get(o.get("target_ref"))
            if target is None:
                continue
            if target.get("type") == "location" or (
                    target.get("type") == "identity" and target.get("identity_class") != "class"):
                victims.add(target["id"])
    # Where the victim is located is the victim's too.
    for o in objects:
        if o.get("type") == "relationship" and o.get("relationship_type") == "located-at" \
                and o.get("source_ref") in victims:
            target = by_id.get(o.get("target_ref"))
            if target is not None and target.get("type") == "location":
                victims.add(target["id"])
    return victims


def generalised_identity(profile: VictimProfile, policy: Policy, secret: bytes, seed: str,
                         created: str) -> dict:
    """The one identity that stands for the victim: sector (if k-anonymous) and country only."""
    sector = di16_sector_region.shareable_sector(profile, policy)
    region = di16_sector_region.shareable_region(profile, policy)
    en, ja = di16_sector_region.labels(sector, region)
    obj = {
        "type": "identity", "spec_version": "2.1",
        "id": "identity--" + keyed_uuid(secret, "victim-identity:" + seed),
        "created": created, "modified": created,
        "name": en, "description": ja, "identity_class": "organization",
    }
    if sector:
        obj["sectors"] = [sector]
    return obj

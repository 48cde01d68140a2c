"""What peers see of corroboration (issue 15): at publication every indicator that names
infrastructure values gets a per-collection id derived from its normalised values (HMAC), so a
later report of the same values becomes a new version of the one indicator, never a second one;
its `confidence` follows the number of reporting organisations; and a `sighting` by the hub
(`count` = that number, `first_seen`/`last_seen` at day granularity) is published beside it and
re-versioned when the count grows. No reporting organisation is named anywhere.

Confidence scale (STIX 0-100): reported by 1 organisation -> 15, 2 -> 50, 3 -> 70, 4 -> 80,
5 or more -> 85.
"""
from __future__ import annotations

from datetime import datetime, timezone

import orjson

from sanitizer import Policy
from sanitizer.rules.di02_producer import hub_identity
from sanitizer.rules.di13_ids import keyed_uuid

from ..context import HubContext
from ..store.base import ObjectFilter
from . import corrvalues

CONFIDENCE = {1: 15, 2: 50, 3: 70, 4: 80}
CONFIDENCE_MAX = 85


def confidence(count: int) -> int:
    """The indicator's STIX confidence for `count` distinct reporting organisations."""
    return CONFIDENCE.get(count, CONFIDENCE_MAX if count > 0 else 0)


def _day(micros: int) -> str:
    return datetime.fromtimestamp(micros / 1e6, timezone.utc).strftime("%Y-%m-%dT00:00:00Z")


def _replace_refs(node, renamed: dict[str, str]):
    if isinstance(node, str):
        return renamed.get(node, node)
    if isinstance(node, list):
        return [_replace_refs(v, renamed) for v in node]
    if isinstance(node, dict):
        return {k: (v if k in ("type", "spec_version") else _replace_refs(v, renamed)) for k, v in node.items()}
    return node


def latest(ctx: HubContext, collection_id: str, object_id: str) -> dict | None:
    page = ctx.store.get_objects(collection_id, ObjectFilter(ids=(object_id,)), 1)
    return orjson.loads(page.items[0]) if page.items else None


def merge(ctx: HubContext, collection_id: str, objects: list[dict]) -> list[dict]:
    """The objects to publish: indicators under their value-derived ids (a stored one is reused,
    its confidence updated), one hub sighting per indicator, the hub's identity."""
    hub = hub_identity(Policy(hub_name=ctx.hub_name), ctx.id_secret)
    renamed: dict[str, str] = {}
    keys_of: dict[str, list[str]] = {}
    for obj in objects:
        values = corrvalues.object_values(obj) if obj.get("type") == "indicator" else []
        if values:
            canon = "\n".join(f"{k}\0{v}" for k, v in sorted(set(values)))
            renamed[obj["id"]] = "indicator--" + keyed_uuid(ctx.id_secret, f"corroborated:{collection_id}:{canon}")
            keys_of[renamed[obj["id"]]] = [corrvalues.value_key(ctx.id_secret, k, v) for k, v in values]
    if not renamed:
        return objects
    out, seen = [], set()
    for obj in _replace_refs(objects, renamed):
        if obj["id"] in seen:  # two indicators of one submission with the same values
            continue
        seen.add(obj["id"])
        if obj["id"] in keys_of:
            obj = _corroborated_indicator(ctx, collection_id, obj, keys_of[obj["id"]])
        out.append(obj)
    for indicator_id, keys in keys_of.items():
        out.append(sighting(ctx, indicator_id, keys, hub["id"]))
    if hub["id"] not in seen:
        out.append(hub)
    return out


def reporters_of(ctx: HubContext, keys: list[str]) -> int:
    """Distinct organisations that reported every one of these values (the least count)."""
    stats = ctx.store.corr_stats(keys)
    return min((stats[k].count if k in stats else 0 for k in keys), default=0)


def _count(ctx: HubContext, keys: list[str]):
    stats = ctx.store.corr_stats(keys)
    found = [stats[k] for k in keys if k in stats]
    count = reporters_of(ctx, keys)
    first = min((s.first_us for s in found), default=0)
    last = max((s.last_us for s in found), default=first)
    return max(count, 1), first, last


def _corroborated_indicator(ctx: HubContext, collection_id: str, obj: dict, keys: list[str]) -> dict:
    count, _first, _last = _count(ctx, keys)
    stored = latest(ctx, collection_id, obj["id"])
    base = dict(stored) if stored is not None else dict(obj)  # the first report's text stays
    base["confidence"] = confidence(count)
    return base


def sighting(ctx: HubContext, indicator_id: str, keys: list[str], hub_id: str) -> dict:
    """The hub's sighting of an indicator: how many organisations reported its values, when."""
    count, first, last = _count(ctx, keys)
    first_seen, last_seen = _day(first or last), _day(last)
    created = first_seen.replace("T00:00:00Z", "T00:00:00.000Z")
    return {"type": "sighting", "spec_version": "2.1",
            "id": "sighting--" + keyed_uuid(ctx.id_secret, f"corroboration-sighting:{indicator_id}"),
            "created": created, "modified": created, "created_by_ref": hub_id,
            "sighting_of_ref": indicator_id, "count": count, "first_seen": first_seen, "last_seen": last_seen}

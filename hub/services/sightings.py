"""Members confirm a published indicator (issue 15): `POST /api/v1/sightings {"indicator": ID}`
or a STIX `sighting` pushed to their TAXII inbox adds their organisation to the set of every
value the indicator names. When the count grows, the indicator (confidence) and the hub's
sighting (count) are re-versioned in a signed publication, and holds in drafts still in review
may release themselves. Who confirmed is recorded in the index and the audit log only."""
from __future__ import annotations

from sanitizer import Policy
from sanitizer.rules.di02_producer import hub_identity

from ..context import HubContext
from ..domain import now_us
from ..errors import Invalid, Missing
from ..store.base import Collection, Principal
from . import audit, corrpublish, corrvalues, permissions
from .corroboration import propagate
from .publication import signed_publication, versioned

SUBJECT = "confirmation"  # the publications' subject when no submission is behind them


def _find(ctx: HubContext, principal: Principal, indicator_id: str) -> tuple[Collection, dict]:
    for coll in ctx.store.list_collections():
        if coll.inbox_of is not None or not ctx.store.access(principal, coll).can_read:
            continue
        found = corrpublish.latest(ctx, coll.id, indicator_id)
        if found is not None:
            return coll, found
    raise Missing("no such indicator in a collection you can read")


def confirm(ctx: HubContext, *, principal: Principal | None, indicator: object) -> dict:
    """Add the caller's organisation to the sets of a published indicator's values."""
    reader = permissions.require_confirmer(principal)
    if not isinstance(indicator, str) or not indicator.startswith("indicator--") or len(indicator) > 100:
        raise Invalid("'indicator' must be the id of a published indicator (indicator--…)")
    coll, obj = _find(ctx, reader, indicator)
    values = corrvalues.object_values(obj)
    if not values:
        raise Invalid("this indicator names no infrastructure value that can be confirmed")
    pairs = [(corrvalues.value_key(ctx.id_secret, kind, value), kind) for kind, value in values]
    keys = [key for key, _kind in pairs]
    before = corrpublish.reporters_of(ctx, keys)
    with ctx.store.transaction():
        ctx.store.corr_add(f"sighting:{indicator}", principal.org, pairs, now_us())
        audit.record(ctx.store, principal, "confirm-sighting", indicator, {"collection": coll.title})
    after = corrpublish.reporters_of(ctx, keys)
    if after > before:
        _republish(ctx, coll, obj, keys)
        propagate(ctx, keys=keys)
    return {"indicator": indicator, "count": after}


def _republish(ctx: HubContext, coll: Collection, obj: dict, keys: list[str]) -> None:
    hub = hub_identity(Policy(hub_name=ctx.hub_name), ctx.id_secret)
    updated = {**obj, "confidence": corrpublish.confidence(corrpublish.reporters_of(ctx, keys))}
    objects = [versioned(ctx.store, coll.id, o)
               for o in (updated, corrpublish.sighting(ctx, obj["id"], keys, hub["id"]))]
    with ctx.store.transaction():
        publication = signed_publication(ctx, SUBJECT, coll, coll.tlp or "", objects)
        ctx.store.publish_objects(coll.id, objects, publication)
        audit.record(ctx.store, permissions.HUB, "publish-sighting", obj["id"],
                     {"publication": publication.id, "collection": coll.title})

"""DI-17 holds against the corroboration index (issue 15): a hold on values that k distinct
member organisations reported releases itself (`released_by: "corroboration"`); every DI-17 hold
carries "reported by n of k" in the private report. Read-only: recording reports is
`services.corroboration`."""
from __future__ import annotations

from ..context import HubContext
from . import corrvalues

RELEASED_BY = "corroboration"
DI17 = "DI-17"


def keys_by_object(ctx: HubContext, bundle: dict) -> dict[str, list[tuple[str, str]]]:
    """Object id -> [(value key, kind)] of the infrastructure values it names."""
    return {obj_id: [(corrvalues.value_key(ctx.id_secret, kind, value), kind) for kind, value in values]
            for obj_id, values in corrvalues.bundle_values(bundle).items()}


def all_keys(by_object: dict[str, list[tuple[str, str]]]) -> list[tuple[str, str]]:
    """Every (value key, kind) of a submission once."""
    return list(dict.fromkeys(pair for pairs in by_object.values() for pair in pairs))


def annotate(ctx: HubContext, draft: dict, private: dict, holds: list[dict]) -> list[dict]:
    """Mark each DI-17 hold with its reporter count and release those whose every value (as it
    stands in the draft, i.e. what would be published) has k reporters; the open holds left."""
    by_object = keys_by_object(ctx, draft)
    stats = ctx.store.corr_stats([key for key, _kind in all_keys(by_object)])
    k = ctx.corroboration_k
    for hold in private["holds"]:
        pairs = by_object.get(hold.get("object", ""))
        if DI17 not in hold.get("rules", []) or not pairs:
            continue
        reported = min(stats[key].count if key in stats else 0 for key, _kind in pairs)
        hold["reported_by"] = reported
        hold["k"] = k
        only_di17 = set(hold["rules"]) == {DI17}
        if ctx.corroboration and only_di17 and reported >= k and not hold.get("released"):
            hold["released"] = True
            hold["released_by"] = RELEASED_BY
    return [h for h in holds if not h.get("released")]

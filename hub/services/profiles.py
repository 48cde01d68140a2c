"""Registered victim profiles: a CSIRT's submitters register a profile once and submit with its
id (the TAXII inbox uses the default one). The profile is sealed; it is never echoed.

The CSIRT's label for a profile is sealed with it (CSIRTs name profiles after the victim): the
`name` column holds the profile's id, and the label is read back from the sealed record for its
owner only. Labels stay unique per organisation (checked against the org's own sealed records).
"""
from __future__ import annotations

from datetime import datetime, timezone

from ..context import HubContext
from ..domain import new_id, now_us
from ..errors import WrongState
from ..store.base import Principal, StoredProfile
from . import audit, permissions, validation
from .sealed import open_profile_record, seal_profile


def add_profile(ctx: HubContext, *, principal: Principal | None, name: object, profile: object,
                default: object = False, victim_ref: object = None) -> StoredProfile:
    """Register a victim profile for reuse; `victim_ref` (the CSIRT's case reference for that
    victim) is then the default reference of submissions that use it, TAXII inbox pushes included."""
    permissions.require_submitter(principal)
    ref = validation.victim_ref(victim_ref, "victim_ref")
    label = validation.name(name)
    is_default = validation.flag(default, "default")
    validation.profile(profile)  # names the field, never the value
    if any(label_of(ctx, p) == label for p in ctx.store.list_profiles(principal.org)):
        raise WrongState("this organisation already has a profile with that name")
    pid = new_id("prof")
    sealed = seal_profile(ctx, pid, {"profile": profile, "victim_ref": ref, "name": label})
    with ctx.store.transaction():
        stored = ctx.store.add_profile(StoredProfile(pid, principal.org, pid, is_default, sealed, now_us()))
        audit.record(ctx.store, principal, "profile-add", pid, {"org": principal.org, "default": is_default})
    return stored


def list_profiles(ctx: HubContext, *, principal: Principal | None) -> list[StoredProfile]:
    """The caller's organisation's profiles."""
    permissions.require_submitter(principal)
    return ctx.store.list_profiles(principal.org)


def delete_profile(ctx: HubContext, *, principal: Principal | None, profile_id: str) -> None:
    """Delete one of the caller's organisation's profiles (another CSIRT's: Missing)."""
    permissions.require_submitter(principal)
    with ctx.store.transaction():
        ctx.store.delete_profile(principal.org, profile_id)
        audit.record(ctx.store, principal, "profile-delete", profile_id, {"org": principal.org})


def label_of(ctx: HubContext, p: StoredProfile) -> str:
    """The CSIRT's label, from the sealed record (a profile stored before labels were sealed
    keeps its clear `name`)."""
    return open_profile_record(ctx, p).get("name") or p.name


def describe(ctx: HubContext, p: StoredProfile) -> dict:
    """The JSON form of a registered profile (never the profile itself)."""
    return {"id": p.id, "name": label_of(ctx, p), "default": p.is_default,
            "created": datetime.fromtimestamp(p.created / 1e6, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")}

"""Organisations, API keys and collection grants (`hub org`, `hub key`, `hub grant`)."""
from __future__ import annotations

from ..domain import MEMBER_ORG_TYPES, ROLES
from ..errors import Invalid, Missing, WrongState
from ..store.base import ApiKey, Collection, Conflict, NotFound, Principal, Store
from . import audit, permissions


def key_view(key: ApiKey, secret: str) -> dict:
    """The new key, shown once as "KEY_ID.SECRET": Basic auth (user KEY_ID) or Bearer take it whole."""
    return {"key_id": key.key_id, "key": f"{key.key_id}.{secret}", "org": key.org, "role": key.role}


def add_org(store: Store, *, principal: Principal, name: str, org_type: str, sector: str | None = None,
            region: str | None = None) -> dict:
    """Register a member organisation; a CSIRT also gets its write-only TAXII inbox."""
    permissions.require_admin(principal)
    if org_type not in MEMBER_ORG_TYPES:
        raise Invalid(f"--type must be {' or '.join(MEMBER_ORG_TYPES)}")
    try:
        with store.transaction():
            org = store.add_org(name, org_type, sector, region)
            out = {"org": org.__dict__}
            if org_type == "csirt":  # every CSIRT can push over TAXII into its own write-only inbox
                out["inbox"] = store.add_inbox(name).id
            audit.record(store, principal, "org-add", name, {"type": org_type})
    except Conflict:
        raise WrongState(f"organisation {name!r} already exists") from None
    return out


def list_orgs(store: Store, *, principal: Principal) -> dict:
    """Every organisation."""
    permissions.require_admin(principal)
    return {"orgs": [o.__dict__ for o in store.list_orgs()]}


def create_key(store: Store, *, principal: Principal, org: str, role: str) -> dict:
    """A new API key (its secret is shown once)."""
    permissions.require_admin(principal)
    if role not in ROLES:
        raise Invalid(f"--role must be one of {', '.join(ROLES)}")
    if store.get_org(org) is None:
        raise Missing(f"unknown organisation {org!r}")
    with store.transaction():
        key, secret = store.create_key(org, role)
        audit.record(store, principal, "key-create", key.key_id, {"org": org, "role": role})
    return key_view(key, secret)


def revoke_key(store: Store, *, principal: Principal, key_id: str) -> dict:
    """Revoke a key at once."""
    permissions.require_admin(principal)
    try:
        with store.transaction():
            store.revoke_key(key_id)
            ended = store.delete_sessions(key_id=key_id)  # its review-view sign-ins end at once
            audit.record(store, principal, "key-revoke", key_id, {"sessions_ended": ended})
    except NotFound:
        raise Missing(f"unknown key {key_id!r}") from None
    return {"revoked": key_id}


def list_keys(store: Store, *, principal: Principal) -> dict:
    """Every key (never a secret)."""
    permissions.require_admin(principal)
    return {"keys": [k.__dict__ for k in store.list_keys()]}


def collection_of(store: Store, id_or_title: str) -> Collection:
    """A collection by id or title (Missing otherwise)."""
    coll = store.find_collection(id_or_title)
    if coll is None:
        raise Missing(f"unknown collection {id_or_title!r}")
    return coll


def set_grant(store: Store, *, principal: Principal, org: str, collection: str, read: bool, write: bool,
              value: bool) -> dict:
    """Give (value True) or take read and/or write on a collection."""
    permissions.require_admin(principal)
    if not (read or write):
        raise Invalid("say --read and/or --write")
    found = store.get_org(org)
    if found is None:
        raise Missing(f"unknown organisation {org!r}")
    coll = collection_of(store, collection)
    if write and value:
        permissions.check_write_grant(found.type, coll)
    with store.transaction():
        store.set_grant(org, coll.id, read=value if read else None, write=value if write else None)
        audit.record(store, principal, "grant" if value else "revoke-grant", org,
                     {"collection": coll.id, "read": read, "write": write})
    return {"org": org, "collection": coll.id, "read": read, "write": write, "granted": value}

"""Operator commands: `hub init`, `hub org`, `hub key`, `hub grant`, `hub revoke-grant`.

Each returns a JSON-able dict; the CLI prints it as JSON (--json) or as text.
"""
from __future__ import annotations

from pathlib import Path

from sanitizer import BadInput, Policy
from sanitizer.rules.di02_producer import hub_identity

from .datadir import DataDir, sqlite_url
from .store.base import ORG_TYPES, ROLES, Conflict, NotFound

TLP_COLLECTIONS = (("clear", "TLP:CLEAR"), ("green", "TLP:GREEN"), ("amber", "TLP:AMBER"),
                   ("amber+strict", "TLP:AMBER+STRICT"))
OPERATOR_ORG = "hub-operator"


def _key_out(key, secret: str) -> dict:
    # The key is shown once as "KEY_ID.SECRET": Basic auth (user KEY_ID) or Bearer take it whole.
    return {"key_id": key.key_id, "key": f"{key.key_id}.{secret}", "org": key.org, "role": key.role}


def init(data: DataDir, database_url: str | None, operator: str = OPERATOR_ORG) -> dict:
    """Create the store, secrets, operator organisation, TLP collections and an admin key."""
    if data.exists():
        raise BadInput(f"data directory {data.path} is already initialised")
    url = database_url or sqlite_url(data.path / "hub.sqlite3")
    if not url.startswith(("sqlite", "postgresql")):
        raise BadInput("--database-url must be a sqlite:/// or postgresql+psycopg:// URL")
    data.path.mkdir(parents=True, exist_ok=True)
    data.create_secrets()
    data.write_config({"database_url": url, "operator_org": operator, "api_root": "hub"})
    try:
        store = data.open_store()
    except Exception:
        data.config_path.unlink(missing_ok=True)  # leave the directory re-initialisable
        raise BadInput("cannot open the database (check --database-url and that the server runs)") from None
    store.add_org(operator, "operator")
    collections = []
    for tlp, title in TLP_COLLECTIONS:
        existing = store.find_collection(title)
        coll = existing or store.add_collection(title, tlp, f"Published attack-technique information, {title}")
        collections.append({"id": coll.id, "title": coll.title, "tlp": coll.tlp})
    # The operator's STIX identity: the producer every sanitised object names (DI-02), keyed by
    # the same id secret, published where peers read so that created_by_ref resolves.
    identity = hub_identity(Policy(), (data.secrets / "id_hmac.key").read_bytes().strip())
    for c in collections:
        store.add_objects(c["id"], [identity])
    key, secret = store.create_key(operator, "admin")
    return {"data_dir": str(data.path), "database_url": _redact_url(url), "operator_org": operator,
            "operator_identity": identity["id"], "admin_key": _key_out(key, secret), "collections": collections}


def _redact_url(url: str) -> str:
    """A database URL without its password."""
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        creds, host = rest.rsplit("@", 1)
        user = creds.split(":", 1)[0]
        return f"{scheme}://{user}@{host}"
    return url


def org_add(store, name: str, org_type: str, sector: str | None, region: str | None) -> dict:
    if org_type not in ORG_TYPES or org_type == "operator":
        raise BadInput("--type must be csirt or peer")
    try:
        org = store.add_org(name, org_type, sector, region)
    except Conflict:
        raise BadInput(f"organisation {name!r} already exists") from None
    out = {"org": org.__dict__}
    if org_type == "csirt":  # every CSIRT can push over TAXII into its own write-only inbox
        out["inbox"] = store.add_inbox(name).id
    return out


def org_list(store) -> dict:
    return {"orgs": [o.__dict__ for o in store.list_orgs()]}


def key_create(store, org: str, role: str) -> dict:
    if role not in ROLES:
        raise BadInput(f"--role must be one of {', '.join(ROLES)}")
    if store.get_org(org) is None:
        raise BadInput(f"unknown organisation {org!r}")
    key, secret = store.create_key(org, role)
    return _key_out(key, secret)


def key_revoke(store, key_id: str) -> dict:
    try:
        store.revoke_key(key_id)
    except NotFound:
        raise BadInput(f"unknown key {key_id!r}") from None
    return {"revoked": key_id}


def key_list(store) -> dict:
    return {"keys": [k.__dict__ for k in store.list_keys()]}


def collection_of(store, id_or_title: str):
    coll = store.find_collection(id_or_title)
    if coll is None:
        raise BadInput(f"unknown collection {id_or_title!r}")
    return coll


def set_grant(store, org: str, collection: str, read: bool, write: bool, value: bool) -> dict:
    if not (read or write):
        raise BadInput("say --read and/or --write")
    if store.get_org(org) is None:
        raise BadInput(f"unknown organisation {org!r}")
    coll = collection_of(store, collection)
    store.set_grant(org, coll.id, read=value if read else None, write=value if write else None)
    return {"org": org, "collection": coll.id, "read": read, "write": write, "granted": value}


def data_dir_arg(value: str | None) -> DataDir:
    from .datadir import default_dir

    return DataDir(Path(value) if value else default_dir())

"""`hub init`: create a data directory — store, secrets, operator organisation, one collection
per TLP level and the first admin key. The bootstrap that precedes every principal; the other
operator commands are services (`hub.services.accounts`)."""
from __future__ import annotations

from pathlib import Path

from sanitizer import Policy
from sanitizer.rules.di02_producer import hub_identity

from .datadir import DataDir, default_dir, sqlite_url
from .domain import COLLECTION_OF_TLP, OPERATOR_ORG
from .errors import Invalid
from .services.accounts import key_view


def init(data: DataDir, database_url: str | None, operator: str = OPERATOR_ORG) -> dict:
    """Create the store, secrets, operator organisation, TLP collections and an admin key."""
    if data.exists():
        raise Invalid(f"data directory {data.path} is already initialised")
    url = database_url or sqlite_url(data.path / "hub.sqlite3")
    if not url.startswith(("sqlite", "postgresql")):
        raise Invalid("--database-url must be a sqlite:/// or postgresql+psycopg:// URL")
    data.path.mkdir(mode=0o700, parents=True, exist_ok=True)
    data.create_secrets()
    data.write_config({"database_url": url, "operator_org": operator, "api_root": "hub"})
    try:
        store = data.open_store()
    except Exception:
        data.config_path.unlink(missing_ok=True)  # leave the directory re-initialisable
        raise Invalid("cannot open the database (check --database-url and that the server runs)") from None
    store.add_org(operator, "operator")
    collections = []
    for tlp, title in COLLECTION_OF_TLP.items():
        existing = store.find_collection(title)
        coll = existing or store.add_collection(title, tlp, f"Published attack-technique information, {title}")
        collections.append({"id": coll.id, "title": coll.title, "tlp": coll.tlp})
    # The operator's STIX identity: the producer every sanitised object names (DI-02), keyed by
    # the same id secret, published where peers read so that created_by_ref resolves.
    identity = hub_identity(Policy(), (data.secrets / "id_hmac.key").read_bytes().strip())
    for c in collections:
        store.add_objects(c["id"], [identity])
    key, secret = store.create_key(operator, "admin")
    data.make_private()  # 0700 / 0600 whatever the umask of the caller (a library user, a test)
    return {"data_dir": str(data.path), "database_url": _redact_url(url), "operator_org": operator,
            "operator_identity": identity["id"], "admin_key": key_view(key, secret), "collections": collections}


def _redact_url(url: str) -> str:
    """A database URL without its password."""
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        creds, host = rest.rsplit("@", 1)
        user = creds.split(":", 1)[0]
        return f"{scheme}://{user}@{host}"
    return url


def data_dir_arg(value: str | None) -> DataDir:
    """The data directory named on the command line, else the default one."""
    return DataDir(Path(value) if value else default_dir())

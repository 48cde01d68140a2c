"""Organisations, keys, collections, grants, NDA agreements and settings: the accounts part of
`SqlStore`."""
from __future__ import annotations

import hmac
import secrets
import uuid
from datetime import datetime, timezone

from sqlalchemy import and_, or_, select, update
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError

from ..domain import ORG_TYPES, READ_ROLES, ROLES, TLP_LEVELS, format_us, now_us
from .base import Access, Agreement, ApiKey, Collection, Conflict, InvalidArgument, NotFound, Org, Principal
from .schema import agreements, api_keys, collections, grants, orgs
from .sql_core import SqlCore, _agreement, _check_text, _collection, _digest, _org, to_micros


class AccountsPart(SqlCore):
    """Implements the organisation, key, collection, grant, agreement and settings parts of `Store`."""

    def __init__(self, engine: Engine):
        super().__init__(engine)
        # A digest to compare against when the key id is unknown, so that case costs the same.
        self._dummy_digest = _digest(secrets.token_hex(32))

    # -- organisations and keys --------------------------------------------------------
    def add_org(self, name: str, org_type: str, sector: str | None = None, region: str | None = None) -> Org:
        _check_text(name, "organisation name", 200)
        sector = sector if sector and sector.strip() else None  # blank means not given
        region = region if region and region.strip() else None
        _check_text(sector, "sector", 200, optional=True)
        _check_text(region, "region", 200, optional=True)
        if org_type not in ORG_TYPES:
            raise InvalidArgument(f"organisation type must be one of {', '.join(ORG_TYPES)}")
        try:
            with self._write() as conn:
                conn.execute(orgs.insert().values(name=name, type=org_type, sector=sector, region=region))
        except IntegrityError:
            raise Conflict("an organisation with that name already exists") from None
        return Org(name, org_type, sector, region)

    def get_org(self, name: str) -> Org | None:
        with self._read() as conn:
            row = conn.execute(select(orgs).where(orgs.c.name == name)).first()
        return _org(row) if row else None

    def list_orgs(self) -> list[Org]:
        with self._read() as conn:
            rows = conn.execute(select(orgs).order_by(orgs.c.name)).all()
        return [_org(r) for r in rows]

    def create_key(self, org: str, role: str) -> tuple[ApiKey, str]:
        if role not in ROLES:
            raise InvalidArgument(f"role must be one of {', '.join(ROLES)}")
        key_id = "hk_" + secrets.token_hex(8)
        secret = secrets.token_urlsafe(32)
        created = format_us(to_micros(datetime.now(timezone.utc)))
        with self._write() as conn:
            if conn.execute(select(orgs.c.name).where(orgs.c.name == org)).first() is None:
                raise NotFound("no such organisation")
            # SHA-256 suffices: the secret is 256 random bits, so there is nothing to brute-force;
            # slow password hashes only help low-entropy human passwords.
            conn.execute(api_keys.insert().values(key_id=key_id, org=org, role=role, digest=_digest(secret),
                                                  created=created, revoked=False))
        return ApiKey(key_id, org, role, created, False), secret

    def authenticate(self, key_id: str, secret: str) -> Principal | None:
        if not isinstance(key_id, str) or not isinstance(secret, str):
            return None
        computed = _digest(secret)
        # One indexed lookup, no cache: a revocation is seen by the very next request.
        with self._read() as conn:
            row = conn.execute(
                select(api_keys.c.org, api_keys.c.role, api_keys.c.digest, api_keys.c.revoked,
                       orgs.c.type.label("org_type"))
                .select_from(api_keys.outerjoin(orgs, orgs.c.name == api_keys.c.org))
                .where(api_keys.c.key_id == key_id)).first()
        # Compare in every case (unknown id included) so timing does not tell the cases apart.
        matches = hmac.compare_digest(row.digest if row else self._dummy_digest, computed)
        if row is None or not matches or row.revoked or row.org_type is None:
            return None
        return Principal(key_id, row.org, row.role, row.org_type)

    def revoke_key(self, key_id: str) -> None:
        with self._write() as conn:
            done = conn.execute(update(api_keys).where(api_keys.c.key_id == key_id).values(revoked=True))
            if done.rowcount == 0:
                raise NotFound("no such key")

    def list_keys(self) -> list[ApiKey]:
        with self._read() as conn:
            rows = conn.execute(select(api_keys.c.key_id, api_keys.c.org, api_keys.c.role, api_keys.c.created,
                                       api_keys.c.revoked)
                                .order_by(api_keys.c.org, api_keys.c.created, api_keys.c.key_id)).all()
        return [ApiKey(r.key_id, r.org, r.role, r.created, bool(r.revoked)) for r in rows]

    # -- collections and grants ---------------------------------------------------------
    def add_collection(self, title: str, tlp: str | None, description: str = "",
                       collection_id: str | None = None) -> Collection:
        _check_text(title, "collection title", 200)
        if tlp is not None and tlp not in TLP_LEVELS:
            raise InvalidArgument(f"TLP must be one of {', '.join(TLP_LEVELS)} or none")
        if collection_id is None:
            collection_id = str(uuid.uuid4())
        else:  # TAXII collection ids are UUIDs; keep the canonical spelling
            try:
                collection_id = str(uuid.UUID(collection_id))
            except (TypeError, ValueError, AttributeError):
                raise InvalidArgument("a collection id must be a UUID") from None
        coll = Collection(collection_id, title, description or "", tlp)
        try:
            with self._write() as conn:
                conn.execute(collections.insert().values(id=coll.id, title=coll.title,
                                                         description=coll.description, tlp=coll.tlp))
        except IntegrityError:
            raise Conflict("a collection with that title or id already exists") from None
        return coll

    def list_collections(self) -> list[Collection]:
        with self._read() as conn:
            rows = conn.execute(select(collections).order_by(collections.c.title)).all()
        return [_collection(r) for r in rows]

    def find_collection(self, id_or_title: str) -> Collection | None:
        with self._read() as conn:
            rows = conn.execute(select(collections).where(
                or_(collections.c.id == id_or_title, collections.c.title == id_or_title))).all()
        if not rows:
            return None
        row = next((r for r in rows if r.id == id_or_title), rows[0])  # an id match wins
        return _collection(row)

    def set_grant(self, org: str, collection_id: str, *, read: bool | None = None,
                  write: bool | None = None) -> None:
        with self._write() as conn:
            if conn.execute(select(orgs.c.name).where(orgs.c.name == org)).first() is None:
                raise NotFound("no such organisation")
            if conn.execute(select(collections.c.id).where(collections.c.id == collection_id)).first() is None:
                raise NotFound("no such collection")
            changes = {k: bool(v) for k, v in (("can_read", read), ("can_write", write)) if v is not None}
            if not changes:
                return
            stmt = self._insert(grants).values(org=org, collection_id=collection_id,
                                               can_read=bool(read), can_write=bool(write))
            conn.execute(stmt.on_conflict_do_update(index_elements=["org", "collection_id"], set_=changes))

    def access(self, principal: Principal, collection: Collection) -> Access:
        if collection.inbox_of is not None:
            # A CSIRT's inbox: its own submitters push, nobody reads (writes become submissions,
            # which only a submitter key may make).
            return Access(False, principal.org == collection.inbox_of and principal.role == "submitter")
        if principal.role == "admin" and principal.org_type == "operator":
            return Access(True, True)
        with self._read() as conn:
            row = conn.execute(
                select(orgs.c.name, grants.c.can_read, grants.c.can_write)
                .select_from(orgs.outerjoin(grants, and_(grants.c.org == orgs.c.name,
                                                         grants.c.collection_id == collection.id)))
                .where(orgs.c.name == principal.org)).first()
        member = row is not None
        granted_read = bool(row and row.can_read)
        granted_write = bool(row and row.can_write)
        if collection.tlp == "clear":
            default_read = True
        elif collection.tlp == "green":
            default_read = member
        else:  # amber, amber+strict, or no TLP (an inbox): explicit grants only
            default_read = False
        can_read = principal.role in READ_ROLES and (default_read or granted_read)
        return Access(can_read=can_read, can_write=granted_write)

    # -- NDA agreements ----------------------------------------------------------------
    def add_agreement(self, agreement: Agreement) -> Agreement:
        _check_text(agreement.victim_ref, "victim_ref", 200)
        with self._write() as conn:
            if conn.execute(select(orgs.c.name).where(orgs.c.name == agreement.org)).first() is None:
                raise NotFound("no such organisation")
            if self._agreement_row(conn, agreement.org, agreement.victim_ref) is not None:
                raise Conflict("that organisation already has an agreement for this reference")
            conn.execute(agreements.insert().values(
                org=agreement.org, victim_ref=agreement.victim_ref, signed_on=agreement.signed_on,
                expires=agreement.expires, clauses=",".join(agreement.clauses),
                withdrawn_on=agreement.withdrawn_on, created=now_us()))
        return agreement

    def list_agreements(self, org: str | None = None) -> list[Agreement]:
        query = select(agreements).order_by(agreements.c.org, agreements.c.victim_ref)
        if org is not None:
            query = query.where(agreements.c.org == org)
        with self._read() as conn:
            return [_agreement(r) for r in conn.execute(query)]

    def get_agreement(self, org: str, victim_ref: str) -> Agreement | None:
        with self._read() as conn:
            row = self._agreement_row(conn, org, victim_ref)
        return _agreement(row) if row is not None else None

    def withdraw_agreement(self, org: str, victim_ref: str, on: str) -> Agreement:
        with self._write() as conn:
            if self._agreement_row(conn, org, victim_ref) is None:
                raise NotFound("no such agreement")
            conn.execute(agreements.update().where(agreements.c.org == org, agreements.c.victim_ref == victim_ref)
                         .values(withdrawn_on=on))
            return _agreement(self._agreement_row(conn, org, victim_ref))

    @staticmethod
    def _agreement_row(conn: Connection, org: str, victim_ref: str):
        return conn.execute(select(agreements).where(agreements.c.org == org,
                                                     agreements.c.victim_ref == victim_ref)).first()

    # -- settings ----------------------------------------------------------------------
    def set_auto_publish(self, org: str, enabled: bool) -> None:
        with self._write() as conn:
            if conn.execute(update(orgs).where(orgs.c.name == org).values(auto_publish=bool(enabled))).rowcount == 0:
                raise NotFound("no such organisation")

    def get_key(self, key_id: str) -> ApiKey | None:
        with self._read() as conn:
            r = conn.execute(select(api_keys.c.key_id, api_keys.c.org, api_keys.c.role, api_keys.c.created,
                                    api_keys.c.revoked).where(api_keys.c.key_id == key_id)).first()
        return ApiKey(r.key_id, r.org, r.role, r.created, bool(r.revoked)) if r else None

    def add_inbox(self, org: str) -> Collection:
        with self._write() as conn:
            row = conn.execute(select(collections).where(collections.c.inbox_of == org)).first()
            if row is None:
                if conn.execute(select(orgs.c.name).where(orgs.c.name == org)).first() is None:
                    raise NotFound("no such organisation")
                cid = str(uuid.uuid4())
                conn.execute(collections.insert().values(
                    id=cid, title=f"INBOX:{org}", tlp=None, inbox_of=org,
                    description=f"Write-only inbox of {org}: objects posted here become a submission"))
                row = conn.execute(select(collections).where(collections.c.id == cid)).first()
        return _collection(row)


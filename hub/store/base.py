"""The hub's storage interface. The CLI, the review app and the TAXII layer talk to this and
nothing else; `sql.py` implements it over SQLAlchemy (SQLite embedded, PostgreSQL at scale).

Objects are kept as the JSON text they were published as and served without re-serialisation.
Pagination is stateless: a cursor encodes the position (date_added, row id) of the last row
served, so it stays valid across processes, workers and restarts.
"""
from __future__ import annotations

import hashlib
import json
from abc import ABC, abstractmethod
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import datetime

from taxii_server import ports as taxii_ports
from taxii_server.ports import ObjectFilter  # noqa: F401  (the store answers the feed's filter)

from ..errors import HubError, Invalid, Missing, WrongState
from .base_corroboration import CorroborationIndex
from .base_audit import AUDIT_CHECKPOINT_EVERY, AuditCheckpoints, Checkpoint  # noqa: F401 (re-exported)
from .base_queue import QueueStore
from .sessions import SessionStore, WebSession  # noqa: F401 - part of the store's interface


class StoreError(HubError):
    """Base class of storage errors with a message fit for a user (never a stored value)."""


class NotFound(StoreError, Missing):
    """An organisation, key, collection or object that does not exist (404)."""


class Conflict(StoreError, WrongState):
    """Something with that name already exists, or a row is not in the expected state (409)."""


class BadCursor(StoreError, taxii_ports.BadCursor):
    """A `next` cursor that this hub did not issue (or that is corrupt)."""


class InvalidArgument(StoreError, Invalid, ValueError):
    """An argument outside its allowed values (role, organisation type, TLP, filter, limit)."""


@dataclass(frozen=True)
class Org:
    name: str
    type: str
    sector: str | None = None
    region: str | None = None
    auto_publish: bool = False


@dataclass(frozen=True)
class ApiKey:
    key_id: str
    org: str
    role: str
    created: str
    revoked: bool = False


@dataclass(frozen=True)
class Principal:
    """Who is calling: an API key of an organisation with a role."""

    key_id: str
    org: str
    role: str
    org_type: str


@dataclass(frozen=True)
class Collection:
    id: str
    title: str
    description: str
    tlp: str | None  # None for non-TLP collections (e.g. a CSIRT's inbox)
    inbox_of: str | None = None  # the CSIRT whose write-only inbox this is


@dataclass(frozen=True)
class Access:
    can_read: bool
    can_write: bool


@dataclass(frozen=True)
class Page:
    """One page of a listing. `items` are raw JSON texts (objects) or dicts (manifest entries,
    versions); `next` is an opaque cursor when more rows follow."""

    items: list
    more: bool
    next: str | None
    first_added: str | None  # X-TAXII-Date-Added-First
    last_added: str | None   # X-TAXII-Date-Added-Last


@dataclass(frozen=True)
class AddResult:
    """Outcome of a bulk add: ids stored, ids already present (same version), failures."""

    added: list[str] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)
    failures: list[tuple[str, str]] = field(default_factory=list)  # (id or '#n', message)


@dataclass(frozen=True)
class Agreement:
    """An NDA between a CSIRT and one victim, named by the CSIRT's case reference."""

    org: str
    victim_ref: str
    signed_on: str
    expires: str | None
    clauses: tuple[str, ...]
    withdrawn_on: str | None = None


@dataclass(frozen=True)
class Submission:
    """A CSIRT's submission and what the pipeline and the analysts made of it. `sealed` and
    `sealed_report` and `sealed_reason` are AES-GCM ciphertexts (hub.crypto); everything else holds
    no victim data (`message` is the hub's own note, never a value from the input)."""

    id: str
    org: str
    key_id: str
    source: str
    input_format: str
    tlp: str
    victim_ref: str | None
    attribution: bool
    status: str
    mode: str
    needs_review: bool
    object_count: int
    created: int
    updated: int
    sealed: bytes | None = None
    sealed_report: bytes | None = None
    sealed_reason: bytes | None = None  # an analyst's rejection reason
    draft: str | None = None
    report: str | None = None
    message: str | None = None
    status_id: str | None = None
    publication_id: str | None = None
    decided: int | None = None
    purged: int | None = None
    queue_cost: int = 0  # what it counts against its organisation's queue budget (bytes)


@dataclass(frozen=True)
class SubmissionFilter:
    """Queue filters; None means any."""

    org: str | None = None
    status: str | None = None
    tlp: str | None = None
    needs_review: bool | None = None
    victim_ref: str | None = None        # substring of the reference (search)
    ids: tuple[str, ...] | None = None   # only these submissions (search by value)
    oldest_first: bool = False           # the review queue: the longest waiting first


@dataclass(frozen=True)
class StoredProfile:
    """A victim profile a CSIRT registered; `sealed` is its AES-GCM ciphertext."""

    id: str
    org: str
    name: str
    is_default: bool
    sealed: bytes
    created: int


@dataclass(frozen=True)
class Publication:
    """A signed publication: `manifest` is the canonical JSON that `signature` signs."""

    id: str
    submission_id: str
    collection_id: str
    created: str
    manifest: str
    signature: str
    public_key: str


@dataclass(frozen=True)
class AuditEntry:
    seq: int
    at: str
    actor: str
    action: str
    subject: str
    details: str  # canonical JSON
    prev_hash: str
    hash: str


class Store(SessionStore, CorroborationIndex, QueueStore, AuditCheckpoints, ABC):
    """Everything the hub persists (the submission queue's methods: `QueueStore`; signed audit
    checkpoints: `AuditCheckpoints`)."""

    # -- schema and units of work -----------------------------------------------------
    @abstractmethod
    def migrate(self) -> int:
        """Bring the schema to the newest version; return that version number."""

    @abstractmethod
    def transaction(self) -> AbstractContextManager[None]:
        """A unit of work for the calling thread: every store call inside it (changes and
        `append_audit` alike) commits together when the block ends, or none does if it raises.
        Nested calls join the enclosing unit of work."""

    @abstractmethod
    def in_transaction(self) -> bool:
        """Whether the calling thread is inside a unit of work."""

    @abstractmethod
    def close(self) -> None:
        """Close every pooled connection (the store must not be used afterwards)."""

    # -- organisations and keys ----------------------------------------------------
    @abstractmethod
    def add_org(self, name: str, org_type: str, sector: str | None = None, region: str | None = None) -> Org:
        """Register an organisation (Conflict if the name is taken)."""

    @abstractmethod
    def get_org(self, name: str) -> Org | None:
        """An organisation by name."""

    @abstractmethod
    def list_orgs(self) -> list[Org]:
        """All organisations, by name."""

    @abstractmethod
    def create_key(self, org: str, role: str) -> tuple[ApiKey, str]:
        """A new API key for an organisation; the secret is returned once and stored as a digest."""

    @abstractmethod
    def authenticate(self, key_id: str, secret: str) -> Principal | None:
        """The principal for a key id and secret (constant-time comparison), None if unknown,
        wrong or revoked."""

    @abstractmethod
    def revoke_key(self, key_id: str) -> None:
        """Revoke a key at once (NotFound if unknown)."""

    @abstractmethod
    def list_keys(self) -> list[ApiKey]:
        """All keys (never their secrets)."""

    # -- collections and grants ----------------------------------------------------
    @abstractmethod
    def add_collection(self, title: str, tlp: str | None, description: str = "",
                       collection_id: str | None = None) -> Collection:
        """Create a collection (Conflict if the title is taken)."""

    @abstractmethod
    def list_collections(self) -> list[Collection]:
        """All collections, by title."""

    @abstractmethod
    def find_collection(self, id_or_title: str) -> Collection | None:
        """A collection by id or by title."""

    @abstractmethod
    def set_grant(self, org: str, collection_id: str, *, read: bool | None = None,
                  write: bool | None = None) -> None:
        """Grant (True) or revoke (False) read / write on a collection to an organisation;
        None leaves that right as it is."""

    @abstractmethod
    def access(self, principal: Principal, collection: Collection) -> Access:
        """What a principal may do with a collection: TLP defaults plus explicit grants."""

    # -- objects -------------------------------------------------------------------
    @abstractmethod
    def add_objects(self, collection_id: str, objects: list[dict], now: datetime | None = None) -> AddResult:
        """Store STIX objects in one transaction. The same (id, version) twice is a duplicate,
        not an error; a newer version of an id becomes the latest."""

    @abstractmethod
    def get_objects(self, collection_id: str, flt: ObjectFilter, limit: int, cursor: str | None = None) -> Page:
        """Objects in date_added order; items are JSON texts."""

    @abstractmethod
    def get_manifest(self, collection_id: str, flt: ObjectFilter, limit: int, cursor: str | None = None) -> Page:
        """Manifest entries {id, date_added, version, media_type} without loading objects."""

    @abstractmethod
    def get_versions(self, collection_id: str, object_id: str, flt: ObjectFilter, limit: int,
                     cursor: str | None = None) -> Page:
        """Versions (strings) of one object in date_added order."""

    @abstractmethod
    def delete_object(self, collection_id: str, object_id: str, flt: ObjectFilter) -> int:
        """Delete the matching versions of one object; return how many were deleted."""

    @abstractmethod
    def count_objects(self, collection_id: str) -> int:
        """Number of stored object versions in a collection."""

    # -- NDA agreements ------------------------------------------------------------
    @abstractmethod
    def add_agreement(self, agreement: Agreement) -> Agreement:
        """Register an agreement (Conflict if that CSIRT already has one for the reference)."""

    @abstractmethod
    def list_agreements(self, org: str | None = None) -> list[Agreement]:
        """Agreements, by organisation and reference."""

    @abstractmethod
    def get_agreement(self, org: str, victim_ref: str) -> Agreement | None:
        """One CSIRT's agreement for a victim reference."""

    @abstractmethod
    def withdraw_agreement(self, org: str, victim_ref: str, on: str) -> Agreement:
        """Record that the victim objected to sharing from `on` (NotFound if there is none)."""

    # -- TAXII status resources ----------------------------------------------------
    @abstractmethod
    def save_status(self, status: dict) -> None:
        """Store (or replace) a TAXII status resource by its id."""

    @abstractmethod
    def get_status(self, status_id: str) -> dict | None:
        """A status resource."""

    # -- submissions -------------------------------------------------------------------
    @abstractmethod
    def add_submission(self, submission: Submission) -> Submission:
        """Record a new submission."""

    @abstractmethod
    def get_submission(self, submission_id: str, *, light: bool = False) -> Submission | None:
        """One submission; `light`: without its sealed input, sealed private report and draft
        (None there), which is all a status read needs (clients poll it while they wait)."""

    @abstractmethod
    def list_submissions(self, flt: SubmissionFilter, limit: int = 100, offset: int = 0) -> list[Submission]:
        """Submissions, newest first (without their sealed columns)."""

    @abstractmethod
    def update_submission(self, submission_id: str, expect_status: tuple[str, ...] | None = None,
                          **changes) -> Submission:
        """Change columns of a submission; Conflict if its status is not one of `expect_status`
        (so two analysts, or an analyst and the worker, cannot both act on the same state)."""

    @abstractmethod
    def purge_submissions(self, decided_before_us: int) -> int:
        """Drop the sealed data of submissions decided before the moment; return how many."""

    # -- registered victim profiles ----------------------------------------------------
    @abstractmethod
    def add_profile(self, profile: StoredProfile) -> StoredProfile:
        """Register a profile (Conflict if the CSIRT already has one of that name); a default
        profile replaces the CSIRT's previous default."""

    @abstractmethod
    def list_profiles(self, org: str) -> list[StoredProfile]:
        """A CSIRT's profiles, by name."""

    @abstractmethod
    def get_profile(self, org: str, id_or_name: str) -> StoredProfile | None:
        """One of a CSIRT's profiles by id or name; another CSIRT's profile is None."""

    @abstractmethod
    def default_profile(self, org: str) -> StoredProfile | None:
        """The CSIRT's default profile (used for its TAXII inbox)."""

    @abstractmethod
    def delete_profile(self, org: str, id_or_name: str) -> None:
        """Delete one of a CSIRT's profiles (NotFound otherwise)."""

    # -- publication and audit ---------------------------------------------------------
    @abstractmethod
    def publish_submission(self, submission_id: str, collection_id: str, objects: list[dict],
                           publication: Publication) -> AddResult:
        """Add the objects, record the publication and mark the submission published, in one
        transaction (or in the caller's unit of work, with its audit entry). Readers see all or none."""

    @abstractmethod
    def add_publication(self, publication: Publication) -> None:
        """Record a signed publication that is not a submission's (the operator's `hub publish`,
        a withdrawal); call it in the unit of work that writes its objects and audit entry."""

    @abstractmethod
    def get_publication(self, publication_id: str) -> Publication | None:
        """One publication."""

    @abstractmethod
    def list_publications(self) -> list[Publication]:
        """Every publication, oldest first."""

    @abstractmethod
    def append_audit(self, actor: str, action: str, subject: str, details: dict) -> AuditEntry:
        """Append a hash-chained audit entry."""

    @abstractmethod
    def list_audit(self, after_seq: int = 0, limit: int = 10_000) -> list[AuditEntry]:
        """Audit entries in order."""

    @abstractmethod
    def audit_head(self) -> AuditEntry | None:
        """The latest audit entry (None for an empty log); in a unit of work, as of it."""

    # -- settings ----------------------------------------------------------------------
    @abstractmethod
    def set_auto_publish(self, org: str, enabled: bool) -> None:
        """Publish the CSIRT's clean submissions without review (NotFound if unknown)."""

    @abstractmethod
    def get_key(self, key_id: str) -> ApiKey | None:
        """A key's record (never its secret), revoked ones included."""

    @abstractmethod
    def reseal_all(self, reseal) -> int:
        """In one transaction, replace every sealed blob (submissions' payload, private report and
        rejection reason, registered profiles) by `reseal(blob, aad)`; return how many were rewritten."""

    @abstractmethod
    def add_inbox(self, org: str) -> Collection:
        """The CSIRT's write-only inbox collection (created once; returned if it exists)."""


# -- audit chain ---------------------------------------------------------------------------

GENESIS_HASH = "0" * 64


def audit_hash(prev_hash: str, at: str, actor: str, action: str, subject: str, details: str) -> str:
    """SHA-256 over the previous entry's hash and this entry's fields: changing, removing or
    reordering any entry breaks every hash after it."""
    payload = json.dumps([prev_hash, at, actor, action, subject, details], ensure_ascii=False,
                         separators=(",", ":"))
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()

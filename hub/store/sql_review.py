"""The review side of `SqlStore`: submissions, registered profiles, publications, the audit
chain, inboxes. A mixin so that `sql.py` keeps the feed side (organisations, keys, objects)."""
from __future__ import annotations

import json
import time
import uuid
from dataclasses import fields
from datetime import datetime, timezone

from sqlalchemy import desc, select, update
from sqlalchemy.exc import IntegrityError

from .base import (GENESIS_HASH, AddResult, ApiKey, AuditEntry, Collection, Conflict, NotFound, Publication,
                   StoredProfile, Submission, SubmissionFilter, audit_hash)
from .schema import SUBMISSION_STATES, api_keys, audit_log, collections, orgs, profiles, publications, submissions

_SUBMISSION_FIELDS = tuple(f.name for f in fields(Submission))
_LIGHT_COLUMNS = [c for c in submissions.c if c.name not in ("sealed", "sealed_report", "draft")]
# Columns an update may change; id, org and key are fixed at intake.
_MUTABLE = frozenset(_SUBMISSION_FIELDS) - {"id", "org", "key_id", "source", "created"}


def _now_us() -> int:
    return time.time_ns() // 1000


def _submission(row) -> Submission:
    values = row._mapping
    found = {name: values[name] for name in _SUBMISSION_FIELDS if name in values}
    for name in ("sealed", "sealed_report"):
        if found.get(name) is not None:
            found[name] = bytes(found[name])  # memoryview on PostgreSQL
    found["attribution"] = bool(found["attribution"])
    found["needs_review"] = bool(found["needs_review"])
    return Submission(**found)


class SubmissionsMixin:
    """Implements the submission, profile, publication and audit parts of `Store`."""

    # -- submissions -------------------------------------------------------------------
    def add_submission(self, submission: Submission) -> Submission:
        with self._write() as conn:
            if conn.execute(select(orgs.c.name).where(orgs.c.name == submission.org)).first() is None:
                raise NotFound("no such organisation")
            conn.execute(submissions.insert().values(
                **{name: getattr(submission, name) for name in _SUBMISSION_FIELDS}))
        return submission

    def get_submission(self, submission_id: str) -> Submission | None:
        with self._read() as conn:
            row = conn.execute(select(submissions).where(submissions.c.id == submission_id)).first()
        return _submission(row) if row is not None else None

    def list_submissions(self, flt: SubmissionFilter, limit: int = 100, offset: int = 0) -> list[Submission]:
        query = select(*_LIGHT_COLUMNS)
        if flt.org is not None:
            query = query.where(submissions.c.org == flt.org)
        if flt.status is not None:
            query = query.where(submissions.c.status == flt.status)
        if flt.tlp is not None:
            query = query.where(submissions.c.tlp == flt.tlp)
        if flt.needs_review is not None:
            query = query.where(submissions.c.needs_review == flt.needs_review)
        query = query.order_by(desc(submissions.c.created), desc(submissions.c.id)).limit(limit).offset(offset)
        with self._read() as conn:
            return [_submission(r) for r in conn.execute(query)]

    def update_submission(self, submission_id: str, expect_status: tuple[str, ...] | None = None,
                          **changes) -> Submission:
        unknown = set(changes) - _MUTABLE
        if unknown:
            raise ValueError(f"cannot change {', '.join(sorted(unknown))}")
        if "status" in changes and changes["status"] not in SUBMISSION_STATES:
            raise ValueError("unknown submission status")
        changes.setdefault("updated", _now_us())
        with self._write() as conn:
            stmt = update(submissions).where(submissions.c.id == submission_id)
            if expect_status is not None:
                stmt = stmt.where(submissions.c.status.in_(expect_status))
            if conn.execute(stmt.values(**changes)).rowcount == 0:
                exists = conn.execute(select(submissions.c.status).where(submissions.c.id == submission_id)).first()
                if exists is None:
                    raise NotFound("no such submission")
                raise Conflict(f"the submission is {exists.status}, not {' or '.join(expect_status)}")
            return _submission(conn.execute(select(submissions).where(submissions.c.id == submission_id)).first())

    def claim_queued(self, limit: int = 1) -> list[str]:
        claimed = []
        with self._write() as conn:
            ids = conn.execute(select(submissions.c.id).where(submissions.c.status == "queued")
                               .order_by(submissions.c.created).limit(limit)).scalars().all()
            for sid in ids:
                done = conn.execute(update(submissions).where(submissions.c.id == sid,
                                                              submissions.c.status == "queued")
                                    .values(status="processing", updated=_now_us()))
                if done.rowcount:
                    claimed.append(sid)
        return claimed

    def requeue_stale(self, older_than_us: int) -> int:
        with self._write() as conn:
            return conn.execute(update(submissions).where(submissions.c.status == "processing",
                                                          submissions.c.updated < older_than_us)
                                .values(status="queued", updated=_now_us())).rowcount

    def purge_submissions(self, decided_before_us: int) -> int:
        with self._write() as conn:
            return conn.execute(update(submissions).where(
                submissions.c.status.in_(("published", "rejected")), submissions.c.decided < decided_before_us,
                submissions.c.purged.is_(None)).values(sealed=None, sealed_report=None, purged=_now_us())).rowcount

    # -- registered victim profiles ----------------------------------------------------
    def add_profile(self, profile: StoredProfile) -> StoredProfile:
        try:
            with self._write() as conn:
                if conn.execute(select(orgs.c.name).where(orgs.c.name == profile.org)).first() is None:
                    raise NotFound("no such organisation")
                if profile.is_default:
                    conn.execute(update(profiles).where(profiles.c.org == profile.org).values(is_default=False))
                conn.execute(profiles.insert().values(id=profile.id, org=profile.org, name=profile.name,
                                                      is_default=profile.is_default, sealed=profile.sealed,
                                                      created=profile.created))
        except IntegrityError:
            raise Conflict("this organisation already has a profile with that name") from None
        return profile

    def list_profiles(self, org: str) -> list[StoredProfile]:
        with self._read() as conn:
            rows = conn.execute(select(profiles).where(profiles.c.org == org).order_by(profiles.c.name)).all()
        return [_profile(r) for r in rows]

    def get_profile(self, org: str, id_or_name: str) -> StoredProfile | None:
        with self._read() as conn:
            rows = conn.execute(select(profiles).where(profiles.c.org == org).where(
                (profiles.c.id == id_or_name) | (profiles.c.name == id_or_name))).all()
        row = next((r for r in rows if r.id == id_or_name), rows[0] if rows else None)
        return _profile(row) if row is not None else None

    def default_profile(self, org: str) -> StoredProfile | None:
        with self._read() as conn:
            row = conn.execute(select(profiles).where(profiles.c.org == org, profiles.c.is_default)).first()
        return _profile(row) if row is not None else None

    def delete_profile(self, org: str, id_or_name: str) -> None:
        found = self.get_profile(org, id_or_name)
        if found is None:
            raise NotFound("no such profile")
        with self._write() as conn:
            conn.execute(profiles.delete().where(profiles.c.id == found.id))

    # -- publication and audit ---------------------------------------------------------
    def publish_submission(self, submission_id: str, collection_id: str, objects: list[dict],
                           publication: Publication, audit: tuple[str, str, dict]) -> AddResult:
        from .sql import _prepare, to_micros

        result = AddResult()
        prepared = []
        for n, obj in enumerate(objects, 1):
            item, failure = _prepare(obj, n)
            if failure:
                raise ValueError(f"object {failure[0]}: {failure[1]}")
            prepared.append(item)
        with self._write(objects_lock=True) as conn:
            done = conn.execute(update(submissions).where(submissions.c.id == submission_id,
                                                          submissions.c.status == "review")
                                .values(status="published", publication_id=publication.id,
                                        decided=_now_us(), updated=_now_us()))
            if done.rowcount == 0:
                raise Conflict("the submission is no longer waiting for review")
            rows = self._add_prepared(conn, collection_id, prepared,
                                      to_micros(datetime.now(timezone.utc)), result)
            conn.execute(publications.insert().values(
                id=publication.id, submission_id=submission_id, collection_id=collection_id,
                created=publication.created, manifest=publication.manifest, signature=publication.signature,
                public_key=publication.public_key))
            actor, action, details = audit
            self._append_audit(conn, actor, action, submission_id, details)
        self._note_inserted(len(rows))
        return result

    def get_publication(self, publication_id: str) -> Publication | None:
        with self._read() as conn:
            row = conn.execute(select(publications).where(publications.c.id == publication_id)).first()
        return _publication(row) if row is not None else None

    def list_publications(self) -> list[Publication]:
        with self._read() as conn:
            rows = conn.execute(select(publications).order_by(publications.c.created, publications.c.id)).all()
        return [_publication(r) for r in rows]

    def append_audit(self, actor: str, action: str, subject: str, details: dict) -> AuditEntry:
        with self._write(objects_lock=True) as conn:  # one writer at a time keeps the chain linear
            return self._append_audit(conn, actor, action, subject, details)

    def _append_audit(self, conn, actor: str, action: str, subject: str, details: dict) -> AuditEntry:
        last = conn.execute(select(audit_log.c.hash).order_by(desc(audit_log.c.seq)).limit(1)).scalar_one_or_none()
        prev = last or GENESIS_HASH
        at = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        body = json.dumps(details, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
        digest = audit_hash(prev, at, actor, action, subject, body)
        seq = conn.execute(audit_log.insert().values(at=at, actor=actor, action=action, subject=subject,
                                                     details=body, prev_hash=prev, hash=digest)
                           ).inserted_primary_key[0]
        return AuditEntry(seq, at, actor, action, subject, body, prev, digest)

    def list_audit(self, after_seq: int = 0, limit: int = 10_000) -> list[AuditEntry]:
        with self._read() as conn:
            rows = conn.execute(select(audit_log).where(audit_log.c.seq > after_seq)
                                .order_by(audit_log.c.seq).limit(limit)).all()
        return [AuditEntry(r.seq, r.at, r.actor, r.action, r.subject, r.details, r.prev_hash, r.hash) for r in rows]

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

    def reseal_all(self, reseal) -> int:
        count = 0
        with self._write(objects_lock=True) as conn:  # one transaction: all under the new key, or none
            for row in conn.execute(select(submissions.c.id, submissions.c.sealed, submissions.c.sealed_report)
                                    ).all():
                changes = {}
                if row.sealed is not None:
                    changes["sealed"] = reseal(bytes(row.sealed), f"submission:{row.id}")
                if row.sealed_report is not None:
                    changes["sealed_report"] = reseal(bytes(row.sealed_report), f"report:{row.id}")
                if changes:
                    conn.execute(update(submissions).where(submissions.c.id == row.id).values(**changes))
                    count += len(changes)
            for row in conn.execute(select(profiles.c.id, profiles.c.sealed)).all():
                conn.execute(update(profiles).where(profiles.c.id == row.id)
                             .values(sealed=reseal(bytes(row.sealed), f"profile:{row.id}")))
                count += 1
        return count

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
        from .sql import _collection

        return _collection(row)


def _profile(row) -> StoredProfile:
    return StoredProfile(row.id, row.org, row.name, bool(row.is_default), bytes(row.sealed), row.created)


def _publication(row) -> Publication:
    return Publication(row.id, row.submission_id, row.collection_id, row.created, row.manifest, row.signature,
                       row.public_key)

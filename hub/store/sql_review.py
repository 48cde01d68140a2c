"""Submissions, registered profiles, publications and re-sealing: the review part of `SqlStore`.
It builds on `ObjectsPart` (publication writes objects with `_add_prepared`)."""
from __future__ import annotations

from dataclasses import fields
from datetime import datetime, timezone

from sqlalchemy import and_, desc, func, select, update
from sqlalchemy.exc import IntegrityError

from ..domain import SUBMISSION_STATES, now_us
from . import sqlite_wake
from .base import (AddResult, Conflict, InvalidArgument, NotFound, Publication, StoredProfile, Submission,
                   SubmissionFilter)
from .schema import orgs, profiles, publications, submissions
from .sql_core import _profile, _publication, to_micros
from .sql_objects import ObjectsPart
from .sql_queue import listen, notify

_SUBMISSION_FIELDS = tuple(f.name for f in fields(Submission))
_LIGHT_COLUMNS = [c for c in submissions.c if c.name not in ("sealed", "sealed_report", "draft")]
# Columns an update may change; id, org and key are fixed at intake.
_MUTABLE = frozenset(_SUBMISSION_FIELDS) - {"id", "org", "key_id", "source", "created"}


def _submission(row) -> Submission:
    values = row._mapping
    found = {name: values[name] for name in _SUBMISSION_FIELDS if name in values}
    for name in ("sealed", "sealed_report", "sealed_reason"):
        if found.get(name) is not None:
            found[name] = bytes(found[name])  # memoryview on PostgreSQL
    found["attribution"] = bool(found["attribution"])
    found["needs_review"] = bool(found["needs_review"])
    return Submission(**found)


class ReviewPart(ObjectsPart):
    """Implements the submission, profile and publication parts of `Store`."""

    # -- submissions -------------------------------------------------------------------
    def add_submission(self, submission: Submission) -> Submission:
        with self._write() as conn:
            if conn.execute(select(orgs.c.name).where(orgs.c.name == submission.org)).first() is None:
                raise NotFound("no such organisation")
            conn.execute(submissions.insert().values(
                **{name: getattr(submission, name) for name in _SUBMISSION_FIELDS}))
        return submission

    def get_submission(self, submission_id: str, *, light: bool = False) -> Submission | None:
        columns = _LIGHT_COLUMNS if light else [submissions]
        with self._read() as conn:
            row = conn.execute(select(*columns).where(submissions.c.id == submission_id)).first()
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
        if flt.victim_ref:
            like = flt.victim_ref.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            query = query.where(submissions.c.victim_ref.ilike(f"%{like}%", escape="\\"))
        if flt.ids is not None:
            query = query.where(submissions.c.id.in_(flt.ids))
        order = (submissions.c.created, submissions.c.id) if flt.oldest_first else (
            desc(submissions.c.created), desc(submissions.c.id))
        query = query.order_by(*order).limit(limit).offset(offset)
        with self._read() as conn:
            return [_submission(r) for r in conn.execute(query)]

    def update_submission(self, submission_id: str, expect_status: tuple[str, ...] | None = None,
                          **changes) -> Submission:
        unknown = set(changes) - _MUTABLE
        if unknown:
            raise InvalidArgument(f"cannot change {', '.join(sorted(unknown))}")
        if "status" in changes and changes["status"] not in SUBMISSION_STATES:
            raise InvalidArgument("unknown submission status")
        changes.setdefault("updated", now_us())
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

    def claim_next(self, owner: str, lease_until_us: int, per_org_cap: int) -> str | None:
        # Fair order: the organisation whose last claim is oldest goes first (round-robin), then
        # the oldest submission of it; organisations already at their cap of claims in processing
        # wait. PostgreSQL: FOR UPDATE SKIP LOCKED lets concurrent workers pass each other's row;
        # two workers claiming for one organisation at the same moment may exceed its cap by one.
        # SQLite: the store's write lock (BEGIN IMMEDIATE) serialises claims.
        other = submissions.alias("other")
        busy = (select(func.count()).select_from(other)
                .where(other.c.org == submissions.c.org, other.c.status == "processing").scalar_subquery())
        turn = (select(func.coalesce(func.max(other.c.claimed_at), 0))
                .where(other.c.org == submissions.c.org).scalar_subquery())
        stmt = (select(submissions.c.id).where(submissions.c.status == "queued", busy < per_org_cap)
                .order_by(turn, submissions.c.created, submissions.c.id).limit(1))
        if self._pg:
            stmt = stmt.with_for_update(skip_locked=True, of=submissions)
        # An idle worker polls: look without the write lock first (a read never waits on SQLite's
        # writer), so an empty queue never holds up `hub publish`, intake or the sanitiser's writes.
        if not self._any_where(submissions.c.status == "queued"):
            return None
        with self._write() as conn:
            sid = conn.execute(stmt).scalar()
            if sid is None:
                return None
            now = now_us()
            done = conn.execute(update(submissions).where(submissions.c.id == sid, submissions.c.status == "queued")
                                .values(status="processing", updated=now, claimed_at=now, lease_owner=owner,
                                        lease_until=lease_until_us))
            return sid if done.rowcount else None

    def queued_cost(self, org: str) -> int:
        with self._read() as conn:
            return int(conn.execute(select(func.coalesce(func.sum(submissions.c.queue_cost), 0)).where(
                submissions.c.org == org, submissions.c.status.in_(("queued", "processing")))).scalar_one())

    def signal_queued(self) -> None:
        if self._pg:
            with self._write() as conn:
                notify(conn)  # delivered by PostgreSQL at the commit
            return
        if self._wake_dir is not None:
            self._after_commit(lambda: sqlite_wake.signal(self._wake_dir))

    def listen_queued(self, on_signal, stop) -> None:
        if self._pg:
            listen(self.engine, on_signal, stop)
            return
        if self._wake_dir is not None:
            sqlite_wake.listen(self._wake_dir, on_signal, stop)

    def renew_lease(self, owner: str, submission_id: str, lease_until_us: int) -> bool:
        with self._write() as conn:
            return bool(conn.execute(update(submissions).where(
                submissions.c.id == submission_id, submissions.c.status == "processing",
                submissions.c.lease_owner == owner).values(lease_until=lease_until_us)).rowcount)

    def _any_where(self, condition) -> bool:
        with self._read() as conn:
            return conn.execute(select(submissions.c.id).where(condition).limit(1)).first() is not None

    def requeue_expired(self, now_us_: int) -> int:
        expired = and_(submissions.c.status == "processing", submissions.c.lease_until.is_not(None),
                       submissions.c.lease_until < now_us_)
        if not self._any_where(expired):  # the usual case: no write lock taken
            return 0
        with self._write() as conn:
            return conn.execute(update(submissions).where(expired).values(
                status="queued", lease_owner=None, lease_until=None, updated=now_us())).rowcount

    def purge_submissions(self, decided_before_us: int) -> int:
        with self._write() as conn:
            return conn.execute(update(submissions).where(
                submissions.c.status.in_(("published", "rejected")), submissions.c.decided < decided_before_us,
                submissions.c.purged.is_(None)).values(sealed=None, sealed_report=None, sealed_reason=None, purged=now_us())).rowcount

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
                           publication: Publication) -> AddResult:
        result = AddResult()
        prepared, failures = self.prepare_objects(objects)
        if failures:
            raise InvalidArgument(f"object {failures[0][0]}: {failures[0][1]}")
        with self._write(objects_lock=True) as conn:
            done = conn.execute(update(submissions).where(submissions.c.id == submission_id,
                                                          submissions.c.status == "review")
                                .values(status="published", publication_id=publication.id,
                                        decided=now_us(), updated=now_us()))
            if done.rowcount == 0:
                raise Conflict("the submission is no longer waiting for review")
            rows = self._add_prepared(conn, collection_id, prepared,
                                      to_micros(datetime.now(timezone.utc)), result)
            conn.execute(publications.insert().values(
                id=publication.id, submission_id=submission_id, collection_id=collection_id,
                created=publication.created, manifest=publication.manifest, signature=publication.signature,
                public_key=publication.public_key))
        self._note_inserted(len(rows))
        return result

    def add_publication(self, publication: Publication) -> None:
        with self._write(objects_lock=True) as conn:
            conn.execute(publications.insert().values(
                id=publication.id, submission_id=publication.submission_id,
                collection_id=publication.collection_id, created=publication.created,
                manifest=publication.manifest, signature=publication.signature,
                public_key=publication.public_key))

    def publish_objects(self, collection_id: str, objects: list[dict], publication: Publication) -> AddResult:
        result = AddResult()
        prepared, failures = self.prepare_objects(objects)
        if failures:
            raise InvalidArgument(f"object {failures[0][0]}: {failures[0][1]}")
        with self._write(objects_lock=True) as conn:
            rows = self._add_prepared(conn, collection_id, prepared, to_micros(datetime.now(timezone.utc)), result)
            conn.execute(publications.insert().values(
                id=publication.id, submission_id=publication.submission_id, collection_id=collection_id,
                created=publication.created, manifest=publication.manifest, signature=publication.signature,
                public_key=publication.public_key))
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

    def reseal_all(self, reseal) -> int:
        count = 0
        with self._write(objects_lock=True) as conn:  # one transaction: all under the new key, or none
            for row in conn.execute(select(submissions.c.id, submissions.c.sealed, submissions.c.sealed_report,
                                           submissions.c.sealed_reason)).all():
                changes = {}
                if row.sealed is not None:
                    changes["sealed"] = reseal(bytes(row.sealed), f"submission:{row.id}")
                if row.sealed_report is not None:
                    changes["sealed_report"] = reseal(bytes(row.sealed_report), f"report:{row.id}")
                if row.sealed_reason is not None:
                    changes["sealed_reason"] = reseal(bytes(row.sealed_reason), f"reason:{row.id}")
                if changes:
                    conn.execute(update(submissions).where(submissions.c.id == row.id).values(**changes))
                    count += len(changes)
            for row in conn.execute(select(profiles.c.id, profiles.c.sealed)).all():
                conn.execute(update(profiles).where(profiles.c.id == row.id)
                             .values(sealed=reseal(bytes(row.sealed), f"profile:{row.id}")))
                count += 1
        return count

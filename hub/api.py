"""The submission and review API under /api/v1/, and its OpenAPI document at /api/openapi.json.

A thin JSON layer over the services (`intake`, `review`, `publication`): it authenticates with
the TAXII feed's principal (`g.principal`), parses and size-checks bodies, and turns every
failure into `{"title", "description"}` with a 4xx status. The services' messages never carry a
submitted value; the unexpected becomes a bare 500 whose details go to the log only.
"""
from __future__ import annotations

import logging
import re

import orjson
from flask import Blueprint, Response, current_app, g, request
from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound, UnsupportedMediaType
from werkzeug.http import HTTP_STATUS_CODES

from sanitizer import BadInput
from taxii_server.auth import REALM

from . import intake, publication, review
from .errors import Forbidden, HubError, Invalid, Missing, WrongState
from .store.base import Conflict, StoreError, SubmissionFilter, TLP_LEVELS
from .store.base import NotFound as StoreNotFound
from .store.schema import SUBMISSION_STATES

log = logging.getLogger(__name__)
bp = Blueprint("api", __name__, url_prefix="/api")

JSON = "application/json"
# Ids, organisation names: anything else cannot exist, so it is a 404 before the store is asked
# (and a NUL or stray byte never reaches PostgreSQL).
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:+-]{0,99}$")
MAX_LIMIT = 500


class Unauthenticated(Exception):
    """No valid key on a request that needs one (401 with a challenge)."""


# -- responses ---------------------------------------------------------------------------------

def error(status: int, description: str, headers=None) -> Response:
    body = {"title": HTTP_STATUS_CODES.get(status, "Error"), "description": description}
    return _json(body, status, headers)


def _json(body, status: int = 200, headers=None) -> Response:
    return _harden(Response(orjson.dumps(body), status=status, headers=headers, mimetype=JSON))


@bp.after_request
def _harden(resp: Response) -> Response:
    resp.headers["Cache-Control"] = "no-store"  # drafts and reports must not sit in a cache
    resp.headers["X-Content-Type-Options"] = "nosniff"
    return resp


def _unauthorised() -> Response:
    return error(401, "valid credentials are required (HTTP Basic key id and key, or Bearer KEY_ID.SECRET)",
                 {"WWW-Authenticate": f'Basic realm="{REALM}", Bearer realm="{REALM}"'})


@bp.errorhandler(Exception)
def _handle(exc: Exception):
    if isinstance(exc, Unauthenticated):
        return _unauthorised()
    if isinstance(exc, HubError):
        return error(exc.status, str(exc))
    if isinstance(exc, BadInput):
        return error(400, str(exc))
    if isinstance(exc, StoreNotFound):
        return error(404, str(exc))
    if isinstance(exc, Conflict):
        return error(409, str(exc))
    if isinstance(exc, StoreError):
        return error(400, str(exc))
    if isinstance(exc, HTTPException) and exc.code and exc.code < 500:
        return error(exc.code, exc.description or HTTP_STATUS_CODES.get(exc.code, "Error"))
    # Only the type: an exception's message may quote stored or submitted data.
    log.error("api: internal error in %s: %s", request.endpoint, type(exc).__name__)
    return error(500, "the server could not complete the request")


@bp.before_app_request
def _routing_errors():
    """Unknown paths and methods under /api/ answer in the API's format (a blueprint's error
    handlers never see routing errors: no blueprint matched)."""
    exc = request.routing_exception
    if not request.path.startswith("/api/") or not isinstance(exc, (NotFound, MethodNotAllowed)):
        return None
    if g.get("principal") is None and request.path != "/api/openapi.json":
        return _unauthorised()
    if isinstance(exc, MethodNotAllowed):
        return error(405, f"use {', '.join(sorted(exc.valid_methods or []))}",
                     {"Allow": ", ".join(sorted(exc.valid_methods or []))})
    return error(404, "no such API endpoint")


@bp.before_request
def _authenticate():
    if request.endpoint != "api.openapi" and g.get("principal") is None:
        raise Unauthenticated()


# -- request helpers ---------------------------------------------------------------------------

def ctx():
    return current_app.config["HUB_CTX"]


def me():
    return g.principal


def json_body() -> tuple[dict, int]:
    """The request's JSON object and its size in bytes (415 / 413 / 400 otherwise)."""
    if request.mimetype != JSON:
        raise UnsupportedMediaType("send the body as application/json")
    raw = request.get_data(cache=True)  # RequestEntityTooLarge (413) past MAX_CONTENT_LENGTH
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise Invalid("the request body is not valid JSON") from None
    if not isinstance(body, dict):
        raise Invalid("the request body must be a JSON object")
    intake.check_tree(body)
    return body, len(raw)


def fields(body: dict, allowed: set[str], required: set[str] = frozenset()) -> dict:
    unknown = sorted(set(body) - allowed)
    if unknown:
        raise Invalid(f"unknown field {unknown[0]!r}")
    missing = sorted(required - set(body))
    if missing:
        raise Invalid(f"'{missing[0]}' is required")
    return body


def checked_name(value: str, what: str = "submission") -> str:
    if not _NAME.match(value):
        raise Missing(f"no such {what}")
    return value


def view(sub, *, full: bool = True) -> dict:
    body = intake.submission_view(ctx(), sub)
    if not full:
        body.pop("report", None)  # lists stay light; the report is one GET away
    return body


# -- submissions -------------------------------------------------------------------------------

@bp.post("/v1/submissions")
def submit():
    intake.require_submitter(ctx().store, me())  # 403 before the body is even read
    body, size = json_body()
    try:
        sub = intake.submit(ctx(), me(), body, source="api", raw_size=size)
    except BadInput as exc:  # the profile's messages say "profile:"; here the field is victim_profile
        message = str(exc)
        if "victim_profile" in body and message.startswith("profile:"):
            message = "victim_profile:" + message[len("profile:"):]
        raise Invalid(message) from None
    url = f"/api/v1/submissions/{sub.id}"
    result = {"id": sub.id, "status": sub.status, "mode": sub.mode, "status_url": url}
    if sub.status == "failed" and sub.mode == "inline" and not (sub.message or "").startswith("internal error"):
        # The sanitiser found the input malformed: a client error, though the record stays visible.
        body = {"title": HTTP_STATUS_CODES[400], "description": sub.message or "the input is malformed", **result}
        return _json(body, 400, {"Location": url})
    return _json(result, 202, {"Location": url})


def _list_filter(params) -> tuple[SubmissionFilter, int, int]:
    allowed = {"status", "tlp", "org", "needs_review", "limit", "offset"}
    unknown = sorted(set(params) - allowed)
    if unknown:
        raise Invalid(f"unknown query parameter {unknown[0]!r}")
    status, tlp, org = params.get("status"), params.get("tlp"), params.get("org")
    if status is not None and status not in SUBMISSION_STATES:
        raise Invalid(f"'status' must be one of {', '.join(SUBMISSION_STATES)}")
    if tlp is not None and tlp not in TLP_LEVELS:
        raise Invalid(f"'tlp' must be one of {', '.join(TLP_LEVELS)}")
    if org is not None and not _NAME.match(org):
        raise Invalid("'org' must be an organisation name")
    needs = params.get("needs_review")
    if needs is not None and needs not in ("true", "false"):
        raise Invalid("'needs_review' must be true or false")
    limit = _int_param(params, "limit", 100, 1, MAX_LIMIT)
    offset = _int_param(params, "offset", 0, 0, 1_000_000)
    if not intake.is_reviewer(me()):
        intake.require_submitter(ctx().store, me())
        if org is not None and org != me().org:
            raise Forbidden("a submitter sees only its own organisation's submissions")
        org = me().org
    flt = SubmissionFilter(org=org, status=status, tlp=tlp,
                           needs_review=None if needs is None else needs == "true")
    return flt, limit, offset


def _int_param(params, name: str, default: int, low: int, high: int) -> int:
    raw = params.get(name)
    if raw is None:
        return default
    if not re.fullmatch(r"[0-9]{1,7}", raw) or not low <= int(raw) <= high:
        raise Invalid(f"'{name}' must be an integer from {low} to {high}")
    return int(raw)


@bp.get("/v1/submissions")
def list_submissions():
    flt, limit, offset = _list_filter(request.args)
    subs = ctx().store.list_submissions(flt, limit=limit, offset=offset)
    return _json({"submissions": [view(s, full=False) for s in subs], "limit": limit, "offset": offset})


def _visible(sid: str):
    return intake.visible_submission(ctx(), me(), checked_name(sid))


@bp.get("/v1/submissions/<sid>")
def get_submission(sid):
    return _json(view(_visible(sid)))


@bp.get("/v1/submissions/<sid>/draft")
def get_draft(sid):
    sub = _visible(sid)
    if sub.draft is None:
        raise WrongState(f"the submission is {sub.status}; it has no draft")
    return Response(sub.draft, mimetype=JSON)  # stored canonical JSON, served as is


@bp.get("/v1/submissions/<sid>/private-report")
def get_private_report(sid):
    sub = _visible(sid)  # the owner's submitter or a reviewer: the only ones who see originals
    if sub.purged is not None:
        raise Missing("the private report was purged after the retention period")
    report = intake.open_private_report(ctx(), sub)
    if report is None:
        raise WrongState(f"the submission is {sub.status}; it has no report")
    for entry, key in zip(report["entries"], review.entry_keys(report["entries"])):
        entry["key"] = key  # what POST .../redactions/undo names
    ctx().store.append_audit(me().key_id, "read-private-report", sub.id, {"org": sub.org})
    return _json(report)


# -- review actions (the hub's analysts) ---------------------------------------------------------

def _review_body(allowed: set[str]) -> dict:
    review.require_reviewer(me())  # 403 before the body is parsed
    body, _ = json_body()
    return fields(body, allowed, allowed)


@bp.post("/v1/submissions/<sid>/approve")
def approve(sid):
    review.require_reviewer(me())
    return _json(view(publication.approve(ctx(), me(), checked_name(sid))))


@bp.post("/v1/submissions/<sid>/reject")
def reject(sid):
    body = _review_body({"reason"})
    return _json(view(review.reject(ctx(), me(), checked_name(sid), body["reason"])))


@bp.post("/v1/submissions/<sid>/redactions")
def add_redaction(sid):
    body = _review_body({"value", "field"})
    return _json(view(review.add_redaction(ctx(), me(), checked_name(sid), body["value"], body["field"])))


@bp.post("/v1/submissions/<sid>/redactions/undo")
def undo_redaction(sid):
    body = _review_body({"entry", "justification"})
    return _json(view(review.undo_redaction(ctx(), me(), checked_name(sid), body["entry"],
                                            body["justification"])))


@bp.post("/v1/submissions/<sid>/tlp")
def change_tlp(sid):
    body = _review_body({"tlp"})
    return _json(view(review.change_tlp(ctx(), me(), checked_name(sid), body["tlp"])))


@bp.post("/v1/submissions/<sid>/holds/release")
def release_hold(sid):
    body = _review_body({"object", "justification"})
    return _json(view(review.release_hold(ctx(), me(), checked_name(sid), body["object"],
                                          body["justification"])))


# -- registered victim profiles ----------------------------------------------------------------

@bp.post("/v1/profiles")
def add_profile():
    intake.require_submitter(ctx().store, me())
    body, _ = json_body()
    fields(body, {"name", "profile", "default", "victim_ref"}, {"name", "profile"})
    stored = intake.register_profile(ctx(), me(), body["name"], body["profile"], body.get("default", False),
                                     body.get("victim_ref"))
    url = f"/api/v1/profiles/{stored.id}"
    return _json(intake.profile_view(stored), 201, {"Location": url})  # never the profile itself


@bp.get("/v1/profiles")
def list_profiles():
    intake.require_submitter(ctx().store, me())
    return _json({"profiles": [intake.profile_view(p) for p in ctx().store.list_profiles(me().org)]})


@bp.delete("/v1/profiles/<pid>")
def delete_profile(pid):
    intake.require_submitter(ctx().store, me())
    ctx().store.delete_profile(me().org, checked_name(pid, "profile"))  # another CSIRT's: NotFound
    ctx().store.append_audit(me().key_id, "profile-delete", pid, {"org": me().org})
    return Response(status=204)


# -- publications --------------------------------------------------------------------------------

def _readable_publication(pub_id: str):
    pub = ctx().store.get_publication(checked_name(pub_id, "publication"))
    if pub is not None and not intake.is_reviewer(me()):
        coll = ctx().store.find_collection(pub.collection_id)
        if coll is None or not ctx().store.access(me(), coll).can_read:
            pub = None  # not even confirmed to exist
    if pub is None:
        raise Missing("no such publication")
    return pub


@bp.get("/v1/publications/<pub_id>")
def get_publication(pub_id):
    pub = _readable_publication(pub_id)
    return _json({"id": pub.id, "submission": pub.submission_id, "collection": pub.collection_id,
                  "created": pub.created, "manifest": pub.manifest, "signature": pub.signature,
                  "public_key": pub.public_key})


@bp.get("/v1/publications/<pub_id>/signature")
def get_signature(pub_id):
    return Response(_readable_publication(pub_id).signature, mimetype="text/plain")


@bp.get("/v1/signing-key")
def signing_key():
    return _json({"public_key": ctx().signer.public_key_b64, "algorithm": "Ed25519"})


# -- settings ------------------------------------------------------------------------------------

@bp.put("/v1/orgs/<org>/auto-publish")
def set_auto_publish(org):
    p = me()
    if not (p.org_type == "operator" and p.role == "admin"):
        raise Forbidden("only the hub's administrators may change auto-publish")
    body, _ = json_body()
    fields(body, {"enabled"}, {"enabled"})
    if not isinstance(body["enabled"], bool):
        raise Invalid("'enabled' must be true or false")
    found = ctx().store.get_org(checked_name(org, "organisation"))
    if found is None:
        raise Missing("no such organisation")
    if found.type != "csirt":
        raise Invalid("auto-publish applies to CSIRTs only")
    ctx().store.set_auto_publish(found.name, body["enabled"])
    ctx().store.append_audit(p.key_id, "auto-publish", found.name, {"enabled": body["enabled"]})
    return _json({"org": found.name, "auto_publish": body["enabled"]})


@bp.get("/openapi.json")
def openapi():
    from .openapi import document

    return _json(document())


def init_app(app) -> None:
    app.register_blueprint(bp)

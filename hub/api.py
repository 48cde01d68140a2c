"""The submission and review API under /api/v1/, and its OpenAPI document at /api/openapi.json.

A thin JSON layer over `hub.services`: it takes the principal the app's one authentication hook
resolved (`g.principal`), parses and size-checks bodies, calls one service per endpoint and turns
every `HubError` into `{"title", "description"}` with the status its class carries (one handler,
registered on the base class). The services' messages never carry a submitted value; the
unexpected becomes a bare 500 whose details go to the log only.
"""
from __future__ import annotations

import logging
import re

import orjson
from flask import Blueprint, Response, current_app, g, request
from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound, UnsupportedMediaType
from werkzeug.http import HTTP_STATUS_CODES

from .auth import REALM
from .context import HubContext
from .domain import SUBMISSION_STATES, TLP_LEVELS
from .errors import HubError, Invalid, Missing, Unauthenticated
from .openapi import document
from .services import permissions, profiles, publication, review, sightings, submissions
from .services.validation import check_tree
from .store.base import Principal, SubmissionFilter

log = logging.getLogger(__name__)
bp = Blueprint("api", __name__, url_prefix="/api")

JSON = "application/json"
# Ids, organisation names: anything else cannot exist, so it is a 404 before the store is asked
# (and a NUL or stray byte never reaches PostgreSQL).
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:+-]{0,99}$")
MAX_LIMIT = 500


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


def _hub_error(exc: HubError):
    """The one mapping of the hub's errors to answers: the class carries the status."""
    if isinstance(exc, Unauthenticated):
        return _unauthorised()
    response = error(exc.status, str(exc))
    if getattr(exc, "retry_after", None):
        response.headers["Retry-After"] = str(exc.retry_after)
    return response


bp.register_error_handler(HubError, _hub_error)


@bp.errorhandler(Exception)
def _handle(exc: Exception):
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

def ctx() -> HubContext:
    return current_app.extensions["hub"]


def me() -> Principal | None:
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
    check_tree(body)
    return body, len(raw)


def fields(body: dict, allowed: set[str], required: set[str] = frozenset()) -> dict:
    unknown = sorted(set(body) - allowed)
    if unknown:
        # Never the key itself: a client may put anything there, a victim's name included.
        raise Invalid(f"the body has a field that is not allowed here (allowed: {', '.join(sorted(allowed))})")
    missing = sorted(required - set(body))
    if missing:
        raise Invalid(f"'{missing[0]}' is required")
    return body


def checked_name(value: str, what: str = "submission") -> str:
    if not _NAME.match(value):
        raise Missing(f"no such {what}")
    return value


def view(sub, *, full: bool = True) -> dict:
    body = submissions.describe(ctx(), sub)
    if not full:
        body.pop("report", None)  # lists stay light; the report is one GET away
    return body


# -- submissions -------------------------------------------------------------------------------

@bp.post("/v1/submissions")
def submit():
    permissions.require_submitter(me())  # 403 before the body is even read
    body, size = json_body()
    sub = submissions.submit(ctx(), principal=me(), body=body, source="api", raw_size=size)
    url = f"/api/v1/submissions/{sub.id}"
    # Queued, never sanitised here: the worker picks it up at once; poll the status URL.
    return _json({"id": sub.id, "status": sub.status, "status_url": url}, 202, {"Location": url})


def _list_filter(params) -> tuple[SubmissionFilter, int, int]:
    allowed = {"status", "tlp", "org", "needs_review", "limit", "offset"}
    unknown = sorted(set(params) - allowed)
    if unknown:
        raise Invalid(f"unknown query parameter (allowed: {', '.join(sorted(allowed))})")
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
    subs = submissions.listing(ctx(), principal=me(), flt=flt, limit=limit, offset=offset)
    return _json({"submissions": [view(s, full=False) for s in subs], "limit": limit, "offset": offset})


def _visible(sid: str):
    # The status read that waiting clients poll: no sealed input (up to megabytes) or draft.
    return permissions.visible_submission(ctx(), principal=me(), submission_id=checked_name(sid), light=True)


@bp.get("/v1/submissions/<sid>")
def get_submission(sid):
    return _json(view(_visible(sid)))


@bp.get("/v1/submissions/<sid>/draft")
def get_draft(sid):
    draft = submissions.draft(ctx(), principal=me(), submission_id=checked_name(sid))
    return Response(draft, mimetype=JSON)  # stored canonical JSON, served as is


@bp.get("/v1/submissions/<sid>/private-report")
def get_private_report(sid):
    # The owner's submitter or a reviewer: the only ones who see originals.
    return _json(submissions.private_report(ctx(), principal=me(), submission_id=checked_name(sid)))


# -- review actions (the hub's analysts) ---------------------------------------------------------

def _review_body(allowed: set[str]) -> dict:
    permissions.require_reviewer(me())  # 403 before the body is parsed
    body, _ = json_body()
    return fields(body, allowed, allowed)


@bp.post("/v1/submissions/<sid>/approve")
def approve(sid):
    permissions.require_reviewer(me())
    return _json(view(publication.approve(ctx(), principal=me(), submission_id=checked_name(sid))))


@bp.post("/v1/submissions/<sid>/reject")
def reject(sid):
    body = _review_body({"reason"})
    return _json(view(review.reject(ctx(), principal=me(), submission_id=checked_name(sid), reason=body["reason"])))


@bp.post("/v1/submissions/<sid>/redactions")
def add_redaction(sid):
    body = _review_body({"value", "field"})
    return _json(view(review.add_redaction(ctx(), principal=me(), submission_id=checked_name(sid),
                                                 value=body["value"], field=body["field"])))


@bp.post("/v1/submissions/<sid>/redactions/undo")
def undo_redaction(sid):
    body = _review_body({"entry", "justification"})
    return _json(view(review.undo_redaction(ctx(), principal=me(), submission_id=checked_name(sid),
                                                  entry_key=body["entry"], justification=body["justification"])))


@bp.post("/v1/submissions/<sid>/tlp")
def change_tlp(sid):
    body = _review_body({"tlp"})
    return _json(view(review.change_tlp(ctx(), principal=me(), submission_id=checked_name(sid), tlp=body["tlp"])))


@bp.post("/v1/submissions/<sid>/holds/release")
def release_hold(sid):
    body = _review_body({"object", "justification"})
    return _json(view(review.release_hold(ctx(), principal=me(), submission_id=checked_name(sid),
                                                obj=body["object"], justification=body["justification"])))


# -- registered victim profiles ----------------------------------------------------------------

@bp.post("/v1/profiles")
def add_profile():
    permissions.require_submitter(me())  # 403 before the body is parsed
    body, _ = json_body()
    fields(body, {"name", "profile", "default", "victim_ref"}, {"name", "profile"})
    stored = profiles.add_profile(ctx(), principal=me(), name=body["name"], profile=body["profile"],
                                  default=body.get("default", False), victim_ref=body.get("victim_ref"))
    url = f"/api/v1/profiles/{stored.id}"
    return _json(profiles.describe(ctx(), stored), 201, {"Location": url})  # never the profile itself


@bp.get("/v1/profiles")
def list_profiles():
    return _json({"profiles": [profiles.describe(ctx(), p) for p in profiles.list_profiles(ctx(), principal=me())]})


@bp.delete("/v1/profiles/<pid>")
def delete_profile(pid):
    permissions.require_submitter(me())
    profiles.delete_profile(ctx(), principal=me(), profile_id=checked_name(pid, "profile"))  # another CSIRT's: 404
    return Response(status=204)


# -- publications --------------------------------------------------------------------------------

def _readable_publication(pub_id: str):
    return publication.readable(ctx(), principal=me(), publication_id=checked_name(pub_id, "publication"))


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


# -- confirmations (issue 15) ---------------------------------------------------------------------

@bp.post("/v1/sightings")
def confirm_sighting():
    permissions.require_confirmer(me())  # 403 before the body is parsed
    body, _ = json_body()
    fields(body, {"indicator"}, {"indicator"})
    return _json(sightings.confirm(ctx(), principal=me(), indicator=body["indicator"]), 201)


# -- settings ------------------------------------------------------------------------------------

@bp.put("/v1/orgs/<org>/auto-publish")
def set_auto_publish(org):
    permissions.require_admin(me())  # 403 before the body is parsed
    body, _ = json_body()
    fields(body, {"enabled"}, {"enabled"})
    return _json(publication.set_auto_publish(ctx(), principal=me(), org=checked_name(org, "organisation"),
                                              enabled=body["enabled"]))


@bp.get("/openapi.json")
def openapi():
    return _json(document())


def init_app(app) -> None:
    app.register_blueprint(bp)

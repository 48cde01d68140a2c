"""The OpenAPI 3.0 document of the submission and review API (served at /api/openapi.json).

Built from the same constants the services validate against (TLP levels, submission states,
redaction fields), so the document cannot drift from what the API accepts. Schemas are precise
enough for schemathesis to generate valid requests and to check every response body.
"""
from __future__ import annotations

from functools import lru_cache

from .services.review import ADD_FIELDS, MAX_JUSTIFICATION, MAX_VALUE
from .domain import SUBMISSION_STATES, TLP_LEVELS

REF = "#/components/schemas/"
_STR = {"type": "string"}
_NULLABLE_STR = {"type": "string", "nullable": True}
_PROFILE_LISTS = ("organization_names", "domains", "ip_ranges", "hostnames", "people", "accounts",
                  "email_addresses", "keywords")


def _ref(name: str) -> dict:
    return {"$ref": REF + name}


def _obj(props: dict, required=(), extra: bool = False) -> dict:
    schema = {"type": "object", "properties": props, "additionalProperties": extra}
    if required:
        schema["required"] = list(required)
    return schema


def _text(low: int, high: int) -> dict:
    return {"type": "string", "minLength": low, "maxLength": high}


SCHEMAS = {
    "Error": _obj({"title": _STR, "description": _STR}, ("title", "description"), extra=True),
    "VictimProfile": {
        "type": "object", "description": "Private: never echoed back, kept only sealed.",
        "properties": {**{n: {"type": "array", "items": _STR} for n in _PROFILE_LISTS},
                       "organization_names": {"type": "array", "items": _text(1, 200), "minItems": 1},
                       "sector": _STR, "region": _STR},
        "required": ["organization_names"],
    },
    "Bundle": {
        "type": "object", "description": "A STIX 2.1 bundle.",
        "properties": {"type": {"type": "string", "enum": ["bundle"]}, "id": {"type": "string", "pattern": "^bundle--"},
                       "objects": {"type": "array", "items": {"type": "object"}}},
        "required": ["type", "id", "objects"],
    },
    "SubmissionRequest": {
        **_obj({"bundle": _ref("Bundle"), "csv": _STR, "text": _STR,
                "victim_profile": _ref("VictimProfile"), "profile_id": _text(1, 100),
                "tlp": {"type": "string", "enum": list(TLP_LEVELS), "default": "amber"},
                "victim_ref": _text(1, 200), "attribution": {"type": "boolean", "default": False}}),
        "description": "Exactly one of bundle, csv, text; exactly one of victim_profile, profile_id.",
        "allOf": [{"oneOf": [{"required": ["bundle"]}, {"required": ["csv"]}, {"required": ["text"]}]},
                  {"oneOf": [{"required": ["victim_profile"]}, {"required": ["profile_id"]}]}],
    },
    "SightingRequest": _obj({"indicator": {"type": "string", "pattern": "^indicator--", "maxLength": 100}},
                            ("indicator",)),
    "SightingResult": _obj({"indicator": _STR, "count": {"type": "integer", "minimum": 1}},
                           ("indicator", "count")),
    "Accepted": _obj({"id": _STR, "status": {"type": "string", "enum": list(SUBMISSION_STATES)},
                      "mode": {"type": "string", "enum": ["inline", "background"]}, "status_url": _STR},
                     ("id", "status", "mode", "status_url")),
    "Agreement": _obj({"status": {"type": "string", "enum": ["active", "none", "not-yet-valid", "expired",
                                                            "withdrawn", "missing-clause"]},
                       "allowed": {"type": "boolean"}, "message": _STR}, ("status", "allowed", "message")),
    "Submission": _obj({
        "id": _STR, "org": _STR, "status": {"type": "string", "enum": list(SUBMISSION_STATES)},
        "mode": {"type": "string", "enum": ["inline", "background"]}, "source": _STR,
        "input_format": {"type": "string", "enum": ["stix", "csv", "text"]},
        "tlp": {"type": "string", "enum": list(TLP_LEVELS)}, "victim_ref": _NULLABLE_STR,
        "attribution": {"type": "boolean"}, "needs_review": {"type": "boolean"},
        "object_count": {"type": "integer", "minimum": 0}, "created": _STR, "updated": _STR,
        "decided": _NULLABLE_STR, "message": _NULLABLE_STR, "publication_id": _NULLABLE_STR,
        "report": {"type": "object", "nullable": True, "description": "The public redaction report."},
        "purged": {"type": "boolean"}, "agreement": _ref("Agreement"),
    }, ("id", "org", "status", "mode", "source", "input_format", "tlp", "victim_ref", "attribution",
        "needs_review", "object_count", "created", "updated", "decided", "message", "publication_id",
        "purged", "agreement")),
    "SubmissionList": _obj({"submissions": {"type": "array", "items": _ref("Submission")},
                            "limit": {"type": "integer"}, "offset": {"type": "integer"}},
                           ("submissions", "limit", "offset")),
    "PrivateReport": {
        "type": "object", "description": "The redaction report with original values (owner and analysts only).",
        "properties": {"entries": {"type": "array", "items": {
            "type": "object", "required": ["key"],
            "properties": {"key": {"type": "string", "description": "names the entry for redactions/undo"}}}},
            "holds": {"type": "array", "items": {"type": "object"}}},
        "required": ["entries"],
    },
    "Reject": _obj({"reason": _text(1, MAX_JUSTIFICATION)}, ("reason",)),
    "Redaction": _obj({"value": _text(1, MAX_VALUE), "field": {"type": "string", "enum": list(ADD_FIELDS)}},
                      ("value", "field")),
    "Undo": _obj({"entry": _STR, "justification": _text(10, MAX_JUSTIFICATION)}, ("entry", "justification")),
    "Tlp": _obj({"tlp": {"type": "string", "enum": list(TLP_LEVELS)}}, ("tlp",)),
    "Release": _obj({"object": _STR, "justification": _text(10, MAX_JUSTIFICATION)}, ("object", "justification")),
    "ProfileRequest": _obj({"name": _text(1, 200), "profile": _ref("VictimProfile"),
                            "default": {"type": "boolean", "default": False},
                            "victim_ref": _text(1, 200)}, ("name", "profile")),
    "Profile": _obj({"id": _STR, "name": _STR, "default": {"type": "boolean"}, "created": _STR},
                    ("id", "name", "default", "created")),
    "ProfileList": _obj({"profiles": {"type": "array", "items": _ref("Profile")}}, ("profiles",)),
    "Publication": _obj({n: _STR for n in ("id", "submission", "collection", "created", "manifest", "signature",
                                           "public_key")},
                        ("id", "submission", "collection", "created", "manifest", "signature", "public_key")),
    "SigningKey": _obj({"public_key": _STR, "algorithm": {"type": "string", "enum": ["Ed25519"]}},
                       ("public_key", "algorithm")),
    "AutoPublishRequest": _obj({"enabled": {"type": "boolean"}}, ("enabled",)),
    "AutoPublish": _obj({"org": _STR, "auto_publish": {"type": "boolean"}}, ("org", "auto_publish")),
}

_REASONS = {
    "400": "Malformed request: the description names the field, never the value",
    "401": "Missing or wrong key", "403": "This key's role or organisation may not do this",
    "404": "Not found, or not visible to this key", "409": "The submission is not in a state that allows this",
    "413": "The body is larger than the server accepts", "415": "The body is not application/json",
    "422": "Refused by a gate (agreement, holds, leak gate); nothing changed",
    "429": "Rate limit for this key (or address) exceeded; see Retry-After",
}


def _errors(*codes: str) -> dict:
    return {c: {"description": _REASONS[c], "content": {"application/json": {"schema": _ref("Error")}}}
            for c in codes}


# Every path under /api/ is rate-limited per key (hub/ratelimit.py).
_LIMITED = {"429": {**_errors("429")["429"], "headers": {"Retry-After": {"schema": {"type": "integer"}}}}}


def _ok(code: str, schema: str, what: str, location: bool = False) -> dict:
    resp = {"description": what, "content": {"application/json": {"schema": _ref(schema)}}}
    if location:
        resp["headers"] = {"Location": {"schema": _STR, "description": "the new resource"}}
    return {code: resp}


EXAMPLES = {
    "SubmissionRequest": {"csv": "type,value,description\nipv4-addr,203.0.113.77,C2 server\n",
                          "victim_profile": {"organization_names": ["Example Victim KK"], "domains": ["victim.example"]},
                          "tlp": "amber", "victim_ref": "CASE-1"},
    "ProfileRequest": {"name": "plant-1", "profile": {"organization_names": ["Example Victim KK"]}, "default": False},
    "Reject": {"reason": "Duplicate of an earlier report"},
    "Redaction": {"value": "beacons", "field": "keywords"},
    "Tlp": {"tlp": "green"},
    "AutoPublishRequest": {"enabled": True},
}


def _body(schema: str) -> dict:
    media = {"schema": _ref(schema)}
    if schema in EXAMPLES:
        media["example"] = EXAMPLES[schema]
    return {"required": True, "content": {"application/json": media}}


def _param(name: str, where: str = "path", **schema) -> dict:
    return {"name": name, "in": where, "required": where == "path", "schema": schema or _text(1, 100)}


SID = _param("id")
READ = ("401", "404")
ACTION = ("400", "401", "403", "404", "409", "413", "415", "422")


def _op(op_id: str, summary: str, responses: dict, *, body: str | None = None, params=(), tag="submissions") -> dict:
    op = {"operationId": op_id, "summary": summary, "tags": [tag], "responses": {**responses, **_LIMITED}}
    if body:
        op["requestBody"] = _body(body)
    if params:
        op["parameters"] = list(params)
    return op


def _action(op_id: str, summary: str, body: str | None) -> dict:
    codes = ACTION if body else ("401", "403", "404", "409", "422")
    return {"post": _op(op_id, summary, {**_ok("200", "Submission", "The updated submission"), **_errors(*codes)},
                        body=body, params=[SID], tag="review")}


PATHS = {
    "/api/v1/submissions": {
        "post": _op("submit", "Submit a bundle, CSV or text list with a victim profile (CSIRT submitter)",
                    {**_ok("202", "Accepted", "Accepted: sanitised in the request (inline) or queued (background)",
                           location=True),
                     **_errors("400", "401", "403", "404", "413", "415")}, body="SubmissionRequest"),
        "get": _op("listSubmissions", "Submissions: a submitter's own organisation's; every one for analysts",
                   {**_ok("200", "SubmissionList", "Newest first"), **_errors("400", "401", "403")},
                   params=[_param("status", "query", type="string", enum=list(SUBMISSION_STATES)),
                           _param("tlp", "query", type="string", enum=list(TLP_LEVELS)),
                           _param("org", "query", type="string", minLength=1, maxLength=100),
                           _param("needs_review", "query", type="boolean"),
                           _param("limit", "query", type="integer", minimum=1, maximum=500),
                           _param("offset", "query", type="integer", minimum=0, maximum=1_000_000)]),
    },
    "/api/v1/submissions/{id}": {
        "get": _op("getSubmission", "One submission with its public redaction report and agreement status",
                   {**_ok("200", "Submission", "The submission"), **_errors(*READ)}, params=[SID])},
    "/api/v1/submissions/{id}/draft": {
        "get": _op("getDraft", "The sanitised draft bundle",
                   {**_ok("200", "Bundle", "The draft"), **_errors("401", "404", "409")}, params=[SID])},
    "/api/v1/submissions/{id}/private-report": {
        "get": _op("getPrivateReport", "The report with original values (the owner's submitter and analysts)",
                   {**_ok("200", "PrivateReport", "The private report"), **_errors("401", "404", "409")},
                   params=[SID])},
    "/api/v1/submissions/{id}/approve": _action("approve", "Publish the draft (agreement, holds and leak gate)",
                                                None),
    "/api/v1/submissions/{id}/reject": _action("reject", "Reject with a reason the submitter sees", "Reject"),
    "/api/v1/submissions/{id}/redactions": _action("addRedaction", "Redact one more value", "Redaction"),
    "/api/v1/submissions/{id}/redactions/undo": _action("undoRedaction", "Undo a redaction (justified)", "Undo"),
    "/api/v1/submissions/{id}/tlp": _action("changeTlp", "Change the TLP", "Tlp"),
    "/api/v1/submissions/{id}/holds/release": _action("releaseHold", "Release a DI-04/DI-17 hold (justified)",
                                                      "Release"),
    "/api/v1/profiles": {
        "post": _op("addProfile", "Register a victim profile (never echoed back)",
                    {**_ok("201", "Profile", "Registered", location=True),
                     **_errors("400", "401", "403", "409", "413", "415")}, body="ProfileRequest", tag="profiles"),
        "get": _op("listProfiles", "This CSIRT's registered profiles (names only)",
                   {**_ok("200", "ProfileList", "By name"), **_errors("401", "403")}, tag="profiles"),
    },
    "/api/v1/profiles/{id}": {
        "delete": _op("deleteProfile", "Delete one of this CSIRT's profiles",
                      {"204": {"description": "Deleted"}, **_errors("401", "403", "404")}, params=[SID],
                      tag="profiles")},
    "/api/v1/publications/{id}": {
        "get": _op("getPublication", "A signed publication manifest",
                   {**_ok("200", "Publication", "The manifest (signed JSON text) and its signature"),
                    **_errors(*READ)}, params=[SID], tag="publications")},
    "/api/v1/publications/{id}/signature": {
        "get": _op("getSignature", "The detached Ed25519 signature (base64) of the manifest",
                   {"200": {"description": "base64", "content": {"text/plain": {"schema": _STR}}},
                    **_errors(*READ)}, params=[SID], tag="publications")},
    "/api/v1/signing-key": {
        "get": _op("getSigningKey", "The hub's publication signing key (raw Ed25519, base64)",
                   {**_ok("200", "SigningKey", "The public key"), **_errors("401")}, tag="publications")},
    "/api/v1/sightings": {
        "post": _op("confirmSighting", "Confirm a published indicator: your organisation saw it too "
                    "(counted anonymously in the hub's sighting)",
                    {**_ok("201", "SightingResult", "Organisations that reported its values"),
                     **_errors("400", "401", "403", "404", "413", "415")}, body="SightingRequest", tag="publications")},
    "/api/v1/orgs/{org}/auto-publish": {
        "put": _op("setAutoPublish", "Publish a CSIRT's clean submissions without review (operator admin)",
                   {**_ok("200", "AutoPublish", "The new setting"),
                    **_errors("400", "401", "403", "404", "413", "415")},
                   body="AutoPublishRequest", params=[_param("org")], tag="settings")},
    "/api/openapi.json": {
        "get": {"operationId": "openapi", "summary": "This document", "tags": ["meta"], "security": [],
                "responses": {"200": {"description": "OpenAPI 3.0",
                                      "content": {"application/json": {"schema": {"type": "object"}}}},
                              **_LIMITED}}},
}


@lru_cache(maxsize=1)
def _document() -> dict:
    return {
        "openapi": "3.0.3",
        "info": {"title": "De-identified attack-technique sharing hub: submission and review API",
                 "version": "1",
                 "description": "Keys are the TAXII feed's: HTTP Basic (key id, key) or Bearer KEY_ID.SECRET."},
        "servers": [{"url": "/"}],
        "security": [{"basic": []}, {"bearer": []}],
        "paths": PATHS,
        "components": {"schemas": SCHEMAS, "securitySchemes": {
            "basic": {"type": "http", "scheme": "basic", "description": "user = key id, password = key"},
            "bearer": {"type": "http", "scheme": "bearer", "description": "KEY_ID.SECRET"}}},
    }


def document() -> dict:
    return _document()

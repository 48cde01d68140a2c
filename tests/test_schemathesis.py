"""Fuzz the API from its own OpenAPI document with schemathesis, in process (WSGI) on SQLite.

Every operation gets positive cases (valid per the schema) and negative ones (invalid), with
random path ids and, for the submission-scoped operations, a real submission id so the review
code runs too. Checks: no 5xx, every error body is JSON with title and description, and each
response conforms to the document (status code, content type, headers, body schema).

Bounded for CI (HUB_FUZZ_EXAMPLES=25 examples per operation, mode and id kind, derandomised);
raise it for a longer, random run:  HUB_FUZZ_EXAMPLES=1000 .venv/bin/python -m pytest tests/test_schemathesis.py -s
"""
from __future__ import annotations

import os
import time
from collections import Counter

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.generation.modes import GenerationMode
from schemathesis.specs.openapi.checks import (content_type_conformance, response_headers_conformance,
                                               response_schema_conformance, status_code_conformance)

from api_fixtures import api_hub, basic, demo_submission, release_holds
from review_fixtures import demo

from hub.services import profiles, submissions
from hub.openapi import document

EXAMPLES = int(os.environ.get("HUB_FUZZ_EXAMPLES", "25"))
LONG_RUN = "HUB_FUZZ_EXAMPLES" in os.environ


def error_body_has_title_and_description(ctx, response, case):
    """Every 4xx/5xx of the API is JSON {"title", "description", ...}."""
    if response.status_code >= 400:
        body = response.json()
        assert isinstance(body, dict) and isinstance(body.get("title"), str) and isinstance(
            body.get("description"), str), f"error body without title/description: {response.status_code}"


CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_headers_conformance,
          response_schema_conformance]


@pytest.fixture(scope="module")
def fuzz_hub(tmp_path_factory):
    with api_hub(tmp_path_factory.mktemp("fuzz"), "sqlite") as h:
        yield h


def _key_for(h, operation) -> dict:
    """Submitters submit and keep profiles; the admin changes settings; analysts do the rest."""
    path = operation.path
    if path.startswith("/api/v1/profiles") or (path == "/api/v1/submissions" and operation.method.upper() == "POST"):
        return h.keys.submitter
    if "auto-publish" in path:
        return h.keys.admin
    return h.keys.analyst


def _real_path_parameters(h, operation, principal, publication_id) -> dict:
    """Ids that exist, so that positive cases reach the services and not only the 404."""
    path = operation.path
    if path.startswith("/api/v1/submissions/"):  # a fresh draft in review for each block
        return {"id": submissions.submit(h.ctx, principal=principal, body=demo_submission()).id}
    if path.startswith("/api/v1/profiles/"):
        return {"id": profiles.add_profile(h.ctx, principal=principal, name=f"fuzz-{time.monotonic_ns()}",
                                           profile=demo("profile.json")).id}
    if path.startswith("/api/v1/publications/"):
        return {"id": publication_id}
    if path.startswith("/api/v1/orgs/"):
        return {"org": "csirt-b"}
    return {}


def test_fuzz_api(fuzz_hub):
    h = fuzz_hub
    schema = schemathesis.openapi.from_wsgi("/api/openapi.json", h.app)
    principal = h.store.authenticate(h.keys.submitter["key_id"], h.keys.submitter["key"].split(".", 1)[1])
    publication_id = _publish(h, principal)
    sent: Counter = Counter()
    statuses: Counter = Counter()
    server_errors: list[str] = []
    started = time.monotonic()
    operations = [result.ok() for result in schema.get_all_operations()]
    documented = {f"{m.upper()} {p}" for p, methods in document()["paths"].items() for m in methods}
    # schemathesis leaves out the document's own URL, which it loaded the schema from
    assert {o.label for o in operations} == documented - {"GET /api/openapi.json"}
    for operation in operations:
        headers = basic(_key_for(h, operation))
        strategies = [("positive", operation.as_strategy(generation_mode=GenerationMode.POSITIVE)),
                      ("negative", operation.as_strategy(generation_mode=GenerationMode.NEGATIVE))]
        strategies += [("example", s) for s in schema.get_strategies_from_examples(operation)]
        for kind, strategy in strategies:
            for real in ([False, True] if "{" in operation.path else [False]):
                params = _real_path_parameters(h, operation, principal, publication_id) if real else {}

                @settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=not LONG_RUN,
                          suppress_health_check=list(HealthCheck))
                @given(case=strategy)
                def run(case):
                    if params:
                        case.path_parameters = {**(case.path_parameters or {}), **params}
                    response = case.call(headers=headers)
                    sent[operation.label] += 1
                    statuses[(operation.label, response.status_code)] += 1
                    if response.status_code >= 500:
                        server_errors.append(f"{operation.label}: {response.status_code}")
                    checks = [not_a_server_error] if kind == "negative" else CHECKS
                    case.validate_response(response, checks=checks, headers=headers)
                    error_body_has_title_and_description(None, response, case)

                run()
    total = sum(sent.values())
    print(f"\nschemathesis: {total} requests over {len(operations)} operations in "
          f"{time.monotonic() - started:.1f} s, {len(server_errors)} 5xx (max_examples={EXAMPLES})")
    for label in sent:
        print(f"  {label}: " + ", ".join(f"{code}x{n}" for (lab, code), n in sorted(statuses.items()) if lab == label))
    assert not server_errors
    assert total >= len(operations) * 2


def _publish(h, principal) -> str:
    sid = submissions.submit(h.ctx, principal=principal, body=demo_submission()).id
    release_holds(h.client, h.keys.analyst, sid)
    r = h.client.post(f"/api/v1/submissions/{sid}/approve", headers=basic(h.keys.analyst))
    assert r.status_code == 200, r.get_json()
    return r.get_json()["publication_id"]

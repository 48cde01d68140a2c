"""TAXII error responses: every failure is a JSON error message with a 4xx status, and the
unexpected is a bare 500 — never a traceback, never a stored value."""
from __future__ import annotations

import logging
from http import HTTPStatus

from flask import Response, json
from medallion.exceptions import BackendError, ProcessingError
from werkzeug.exceptions import HTTPException

MEDIA_TYPE_TAXII_V21 = "application/taxii+json;version=2.1"
log = logging.getLogger(__name__)


def error_response(status: int, title: str, description: str, headers=None) -> Response:
    """A TAXII 2.1 error message resource."""
    body = {"title": title, "http_status": str(status), "description": description}
    return Response(json.dumps(body), status=status, headers=headers, mimetype=MEDIA_TYPE_TAXII_V21)


def _title(status: int) -> str:
    """The HTTP reason phrase: a title for people, never a Python exception class name."""
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def register(app) -> None:
    """Install the error handlers on a Flask app."""

    @app.errorhandler(ProcessingError)
    def processing(error):
        return error_response(error.status, _title(error.status), str(error), getattr(error, "headers", None))

    @app.errorhandler(BackendError)
    def backend(error):
        return error_response(error.status, _title(error.status), str(error))

    @app.errorhandler(HTTPException)
    def http(error):
        return error_response(error.code or 500, error.name, error.description or error.name)

    @app.errorhandler(Exception)
    def unexpected(error):  # never leak details: the type goes to the log, nothing to the client
        log.error("internal error in %s: %s", "TAXII request", type(error).__name__)
        return error_response(500, _title(500), "The server could not complete the request")

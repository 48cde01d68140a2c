"""The hub's errors, one hierarchy: each class carries its HTTP status and its CLI exit code.

The API and the web view map them once (Flask `register_error_handler` on `HubError`); the CLI
maps the exit code from the class. Messages are written for the user and never carry a value
from a submission. The store's errors (`hub.store.base`) subclass these.
"""
from __future__ import annotations

EXIT_BAD_INPUT = 2
EXIT_REFUSED = 3


class HubError(Exception):
    """Base class: a 4xx answer / exit 2 with a message fit for the user."""

    status = 400
    exit_code = EXIT_BAD_INPUT


class Invalid(HubError):
    """The request is malformed or a value is out of range (400)."""


class Unauthenticated(HubError):
    """No valid key on a request that needs one (401 with a challenge)."""

    status = 401


class Forbidden(HubError):
    """The caller's role or organisation may not do this (403)."""

    status = 403


class Missing(HubError):
    """No such submission, profile, organisation or publication visible to the caller (404)."""

    status = 404


class WrongState(HubError):
    """The thing is not in a state that allows this action, or already exists (409)."""

    status = 409


class Busy(HubError):
    """The organisation's queue budget is spent: retry when its submissions are processed (429)."""

    status = 429
    retry_after = 30


class Refused(HubError):
    """Refused by a gate (leak gate, agreement, holds); nothing changed (422 / exit 3)."""

    status = 422
    exit_code = EXIT_REFUSED

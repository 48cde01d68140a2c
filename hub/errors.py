"""Errors of the hub's services, each mapped to one HTTP status by the API and the web view.
Messages are written for the user and never carry a value from a submission."""
from __future__ import annotations


class HubError(Exception):
    status = 400


class Invalid(HubError):
    """The request is malformed or a value is out of range (400)."""


class Forbidden(HubError):
    """The caller's role or organisation may not do this (403)."""
    status = 403


class Missing(HubError):
    """No such submission, profile or publication visible to the caller (404)."""
    status = 404


class WrongState(HubError):
    """The submission is not in a state that allows this action (409)."""
    status = 409


class Refused(HubError):
    """Refused by a gate (leak gate, agreement, holds); nothing changed (422)."""
    status = 422

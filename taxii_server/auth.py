"""Medallion's views are decorated with its own process-wide HTTPBasicAuth object; `install`
(called by the app factory, never at import) points that object's callbacks at the principal
the application's authentication hook put in `flask.g.principal`, so every view is guarded by
the application's keys instead of medallion's plaintext users."""
from __future__ import annotations

import medallion
from flask import g

from .errors import error_response


def install(realm: str = "TAXII") -> None:
    """Make medallion's decorator use the request's principal."""
    # Medallion registered a plaintext-user lookup; our keys replace it.
    medallion.auth.get_password(lambda _username: None)

    @medallion.auth.verify_password
    def _verify(_username, _password):
        return g.get("principal")

    @medallion.auth.error_handler
    def _unauthorised(status=401):
        if status == 403:
            return error_response(403, "Forbidden", "This key may not do that")
        return error_response(401, "Unauthorized", "Valid credentials are required",
                              {"WWW-Authenticate": f'Basic realm="{realm}"'})

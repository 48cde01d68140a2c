"""The hub's Flask application factory: the TAXII 2.1 feed, the submission and review API
(`/api/`) and the analysts' web view (`/review/`), all over one store.

The composition root: the only module that knows every HTTP entry point. It installs the one
authentication hook (`g.principal` for every request), the rate limiter right after it, and
registers the one mapping of `HubError` to answers for the API and the review view.
"""
from __future__ import annotations

from flask import Flask, g, request

import taxii_server

from . import api, auth, ratelimit, web
from .collection_writes import ServiceWriter
from .context import HubContext
from .inbox import SubmissionInbox
from .store.base import Store
from .web import auth as web_auth


def create_app(store: Store, *, api_root: str = "hub", test_config: dict | None = None,
               ctx: HubContext | None = None) -> Flask:
    """A WSGI app over `store`. With a `HubContext` (sealer, signer, id secret) it also serves
    intake, review and publication; without one only the TAXII feed."""
    app = Flask("hub")
    if test_config:
        app.config.update(test_config)

    @app.before_request
    def _authenticate():
        """Who is calling, once per request: the review view's session, else the key sent."""
        if ctx is not None and web.is_web_path(request.path):
            g.principal, g.signed_out = web_auth.current_principal(ctx.store)
        else:
            g.principal = auth.from_request(store)

    taxii_server.init_app(app, store, api_root=api_root,
                          max_page_size=app.config.get("TAXII_MAX_PAGE_SIZE", 1000),
                          inbox=SubmissionInbox(ctx) if ctx is not None else None,
                          writer=ServiceWriter(store, ctx), realm=auth.REALM)
    if ctx is not None:
        app.extensions["hub"] = ctx
        api.init_app(app)
        web.init_app(app)

    # Per-API-key rate limit on the TAXII endpoints and /api/ (hub/ratelimit.py).
    ratelimit.install(app)

    @app.get("/healthz")
    def healthz():
        return {"status": "ok"}

    return app

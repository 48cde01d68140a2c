"""The hub's Flask application factory: the TAXII 2.1 feed, the submission and review API
(`/api/`) and the analysts' web view (`/review/`), all over one store."""
from __future__ import annotations

from flask import Flask

import taxii_server

from . import ratelimit


def create_app(store, *, api_root: str = "hub", test_config: dict | None = None, ctx=None) -> Flask:
    """A WSGI app over `store`. With a `HubContext` (sealer, signer, id secret) it also serves
    intake, review and publication; without one only the TAXII feed."""
    app = Flask("hub")
    if test_config:
        app.config.update(test_config)
    taxii_server.init_app(app, store, api_root=api_root,
                          max_page_size=app.config.get("TAXII_MAX_PAGE_SIZE", 1000))
    if ctx is not None:
        from . import api, inbox, web

        app.config["HUB_CTX"] = ctx
        api.init_app(app)
        web.init_app(app)
        inbox.init_app(app)

    # Per-API-key rate limit on the TAXII endpoints and /api/ (hub/ratelimit.py).
    ratelimit.install(app)

    @app.get("/healthz")
    def healthz():
        return {"status": "ok"}

    return app

"""The hub's Flask application factory."""
from __future__ import annotations

from flask import Flask

import taxii_server


def create_app(store, *, api_root: str = "hub", test_config: dict | None = None) -> Flask:
    """A WSGI app serving the TAXII 2.1 feed over `store` (later also intake and review)."""
    app = Flask("hub")
    if test_config:
        app.config.update(test_config)
    taxii_server.init_app(app, store, api_root=api_root,
                          max_page_size=app.config.get("TAXII_MAX_PAGE_SIZE", 1000))

    @app.get("/healthz")
    def healthz():
        return {"status": "ok"}

    return app

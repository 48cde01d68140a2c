"""TAXII 2.1 feed: medallion's protocol layer (its view blueprints) over the hub store, with
the hub's API keys and per-organisation access in place of medallion's plaintext users.

One of the hub's three HTTP entry points (with `hub.api` and `hub.web`): it reads the store and
hands inbox pushes to the services (`inbox`). `init_app(app, store)` mounts it on a Flask app;
`shims` fixes, around the views, the places where medallion 3.0.0 departs from the TAXII 2.1
interoperability requirements.
"""
from __future__ import annotations

from medallion.views import collections, discovery, manifest, objects

from . import auth, backend, errors, shims
from ..store.base import Store
from .backend import Inbox
from .rawjson import RawJSONProvider

DEFAULT_MAX_CONTENT_LENGTH = 10 * 1024 * 1024


def init_app(app, store: Store, *, api_root: str = "hub", max_page_size: int = 1000,
             max_content_length: int = DEFAULT_MAX_CONTENT_LENGTH, title: str | None = None,
             inbox: Inbox | None = None) -> None:
    """Mount the TAXII 2.1 endpoints (under /taxii2/ and /<api_root>/) on a Flask app."""
    app.json = RawJSONProvider(app)
    app.config["MAX_CONTENT_LENGTH"] = max_content_length
    backend.install(app, store, api_root=api_root, max_page_size=max_page_size,
                    max_content_length=max_content_length, inbox=inbox,
                    **({"title": title} if title else {}))
    shims.install(app)
    auth.install()
    errors.register(app)
    for bp in (collections.collections_bp, discovery.discovery_bp, manifest.manifest_bp, objects.objects_bp):
        app.register_blueprint(bp)

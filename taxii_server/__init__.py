"""TAXII 2.1 protocol layer: medallion's view blueprints over a store-like port, with the
application's authentication (`flask.g.principal`) in place of medallion's plaintext users.

A library: it imports nothing of the hub. What it needs from the application is in `ports`
(the store methods it reads, the collection/access/principal attributes, the inbox and the
writer it hands pushes, adds and deletes to). `init_app(app, store, ...)` mounts it on a Flask
app; `shims` fixes, around the views, the places where medallion 3.0.0 departs from the TAXII
2.1 interoperability requirements.
"""
from __future__ import annotations

from medallion.views import collections, discovery, manifest, objects

from . import auth, backend, errors, shims
from .ports import FeedStore, Inbox, Writer
from .rawjson import RawJSONProvider

DEFAULT_MAX_CONTENT_LENGTH = 10 * 1024 * 1024


def init_app(app, store: FeedStore, *, api_root: str = "hub", max_page_size: int = 1000,
             max_content_length: int = DEFAULT_MAX_CONTENT_LENGTH, title: str | None = None,
             inbox: Inbox | None = None, writer: Writer | None = None, realm: str = "TAXII") -> None:
    """Mount the TAXII 2.1 endpoints (under /taxii2/ and /<api_root>/) on a Flask app."""
    app.json = RawJSONProvider(app)
    app.config["MAX_CONTENT_LENGTH"] = max_content_length
    backend.install(app, store, api_root=api_root, max_page_size=max_page_size,
                    max_content_length=max_content_length, inbox=inbox, writer=writer,
                    **({"title": title} if title else {}))
    shims.install(app)
    auth.install(realm)
    errors.register(app)
    for bp in (collections.collections_bp, discovery.discovery_bp, manifest.manifest_bp, objects.objects_bp):
        app.register_blueprint(bp)

"""Serve stored JSON text without parsing and re-serialising it.

The store returns objects as the JSON text they were published as. An envelope holding such
texts is a `RawEnvelope`; the app's JSON provider splices the texts in as they are.
"""
from __future__ import annotations

import orjson
from flask.json.provider import DefaultJSONProvider


class RawEnvelope(dict):
    """A TAXII envelope whose `objects` are JSON texts, not dicts."""


class RawJSONProvider(DefaultJSONProvider):
    """Flask JSON provider: RawEnvelope fast path, orjson for everything else.

    Request bodies are parsed with orjson too: it refuses invalid UTF-8 and nesting deeper than
    1024 levels with a JSONDecodeError (a 400), where the standard library would recurse until
    a RecursionError (a 500)."""

    def loads(self, s, **kwargs):
        return orjson.loads(s)

    def dumps(self, obj, **kwargs) -> str:
        if isinstance(obj, RawEnvelope):
            head = {k: v for k, v in obj.items() if k != "objects"}
            body = ",".join(obj.get("objects", []))
            prefix = orjson.dumps(head).decode()[:-1]
            return prefix + ("," if head else "") + '"objects":[' + body + "]}"
        return orjson.dumps(obj, option=orjson.OPT_NON_STR_KEYS).decode()

"""The opaque `next` cursor of a paged listing.

A cursor is the position of the last row served: (date_added in microseconds, row id). Pages
are read with `(date_added, id) > cursor`, so a cursor needs no server-side state and stays
valid across processes, workers and restarts. It is not signed: it only says where to resume,
which a client could equally express with `added_after`; it grants no access.

Wire form: urlsafe base64 (no padding) of the compact text "1.<date_added>.<id>", where
"1" is the format version so the encoding can change without misreading old cursors.
"""
from __future__ import annotations

import base64
import binascii
import re

from .base import BadCursor

_VERSION = "1"
_MAX_INT = 2**63 - 1  # both numbers live in BIGINT columns
_TEXT = re.compile(r"1\.(0|[1-9][0-9]{0,18})\.(0|[1-9][0-9]{0,18})")
_WIRE = re.compile(r"[A-Za-z0-9_-]{1,64}")


def encode_cursor(date_added: int, row_id: int) -> str:
    """The cursor for the row at (date_added, row_id)."""
    if not (0 <= date_added <= _MAX_INT and 0 <= row_id <= _MAX_INT):
        raise ValueError("cursor position out of range")
    text = f"{_VERSION}.{date_added}.{row_id}"
    return base64.urlsafe_b64encode(text.encode("ascii")).decode("ascii").rstrip("=")


def decode_cursor(cursor: str) -> tuple[int, int]:
    """(date_added, row_id) of a cursor issued by `encode_cursor`; BadCursor for anything else."""
    if not isinstance(cursor, str) or not _WIRE.fullmatch(cursor):
        raise BadCursor("the next cursor is not valid")
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode("ascii")
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise BadCursor("the next cursor is not valid") from None
    match = _TEXT.fullmatch(text)
    if not match:
        raise BadCursor("the next cursor is not valid")
    date_added, row_id = int(match.group(1)), int(match.group(2))
    # Only the canonical spelling is accepted, so each position has exactly one cursor.
    if date_added > _MAX_INT or row_id > _MAX_INT or encode_cursor(date_added, row_id) != cursor:
        raise BadCursor("the next cursor is not valid")
    return date_added, row_id

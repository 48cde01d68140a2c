"""An independent decoder for the at-rest and log scans: every view of a victim string a
reader could recognise (the DI-00 views of the de-identification spec), computed here without
the sanitiser's code, and a search of raw bytes through the same views.

Views of a haystack: as UTF-8 text; percent-decoded; HTML-unescaped; each folded by NFKC,
casefold, katakana to hiragana and with separators (space, '-', '_', '.', '・') removed.
Encoded needles searched in the raw bytes: JSON \\u escapes, base64 at the three alignments
(and URL-safe), hex of the UTF-8 bytes (either case), percent-encoding (either case).
"""
from __future__ import annotations

import base64
import html
import re
import unicodedata
from urllib.parse import quote, unquote

_SEPARATORS = re.compile(r"[\s\-_.・･\u3000]+")
MIN_FOLDED = 6  # shorter folded needles would match by chance in megabytes of ciphertext


def _kana(text: str) -> str:
    return "".join(chr(ord(c) - 0x60) if "\u30a1" <= c <= "\u30f6" else c for c in text)


def fold(text: str) -> str:
    """NFKC (width), casefold, katakana as hiragana, no separators."""
    return _SEPARATORS.sub("", _kana(unicodedata.normalize("NFKC", text).casefold()))


def _b64_forms(raw: bytes) -> set[bytes]:
    """Base64 of `raw` at each of the three alignments, trimmed to the characters that do not
    depend on the neighbouring bytes (standard and URL-safe alphabets)."""
    forms = set()
    for pad in range(3):
        encoded = base64.b64encode(b"\0" * pad + raw)
        start = (pad * 4 + 2) // 3 + (1 if pad else 0)
        end = len(encoded) - 4
        core = encoded[start:end].rstrip(b"=")
        if len(core) >= 8:
            forms.add(core)
            forms.add(core.replace(b"+", b"-").replace(b"/", b"_"))
    return forms


def encoded_needles(value: str) -> set[bytes]:
    raw = value.encode("utf-8")
    forms = {raw, raw.hex().encode(), raw.hex().upper().encode(), quote(value, safe="").encode(),
             quote(value, safe="").lower().encode()}
    escaped = "".join(c if ord(c) < 128 else f"\\u{ord(c):04x}" for c in value)
    forms.add(escaped.encode())
    forms |= _b64_forms(raw)
    return {f for f in forms if len(f) >= 4}


class Needles:
    """The victim strings and every form they are searched in."""

    def __init__(self, values: list[str]):
        self.values = [v for v in values if len(v) >= 4]
        self.encoded = {v: encoded_needles(v) for v in self.values}
        self.folded = {v: fold(v) for v in self.values if len(fold(v)) >= MIN_FOLDED}

    def find(self, blob: bytes) -> list[str]:
        """The victim strings found in `blob` (in any view), each with the view that found it."""
        found = []
        lower = blob.lower()
        for value, forms in self.encoded.items():
            if any(f in blob or f.lower() in lower for f in forms):
                found.append(f"{value} (encoded)")
        text = blob.decode("utf-8", errors="replace")
        views = {"text": text, "percent": unquote(text), "html": html.unescape(text)}
        for name, view in views.items():
            folded = fold(view)
            found += [f"{value} ({name}, folded)" for value, f in self.folded.items() if f in folded]
        return found

"""Folding text for matching: NFKC + case folding + refanging + percent/escape decoding.

Detectors search the *folded* form of a string and report spans there; `Folded.orig_span`
maps them back to the original string so that operators replace exactly the original
characters (the rest of the string keeps its original spelling).
"""
from __future__ import annotations

import re
import unicodedata
from urllib.parse import unquote_to_bytes

# Multi-character spellings folded to one character. Defanged forms as written by analysts
# (hxxp, [.], [@], (dot)), regex / STIX-pattern escapes (\. \\.) and HTML entities.
_SPECIAL = re.compile(
    r"(?P<scheme>h[x*]{2}p(?=s?(?:\[?:\]?//|://)))"
    r"|(?P<ftp>f[x*]p(?=\[?:\]?//|://))"
    r"|(?P<dot>\[\s*\.\s*\]|\(\s*\.\s*\)|\{\s*\.\s*\}|\[dot\]|\(dot\)|\{dot\})"
    r"|(?P<at>\[\s*@\s*\]|\(\s*@\s*\)|\{\s*@\s*\}|\[at\]|\(at\)|\{at\})"
    r"|(?P<colon>\[\s*:\s*\](?=//)|\[:\]//|\[://\])"
    r"|(?P<esc>\\+(?=[.\-/@:]))"
    r"|(?P<pct>(?:%[0-9A-Fa-f]{2})+)"
    r"|(?P<ent>&#x[0-9A-Fa-f]{1,6};|&#[0-9]{1,7};|&(?:amp|lt|gt|quot|apos);)",
    re.IGNORECASE,
)
_HAS_SPECIAL = re.compile(r"[\[\(\{%\\&]|h[x*]{2}p|f[x*]p", re.IGNORECASE)
_WS = re.compile(r"\s+")
_ODD_WS = re.compile(r"\s\s|[^\S ]")
_ENTITIES = {"&amp;": "&", "&lt;": "<", "&gt;": ">", "&quot;": '"', "&apos;": "'"}


def fold_str(s: str) -> str:
    """Fold a whole string the way matching sees it (no span map): NFKC, case fold, NFKC."""
    return unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", s).casefold())


def _fold_special(m: re.Match) -> str:
    kind = m.lastgroup
    text = m.group(0)
    if kind == "scheme":
        return "http"
    if kind == "ftp":
        return "ftp"
    if kind == "dot":
        return "."
    if kind == "at":
        return "@"
    if kind == "colon":
        return "://" if text.endswith("//") or text == "[://]" else ":"
    if kind == "esc":
        return ""
    if kind == "pct":
        return fold_str(unquote_to_bytes(text).decode("utf-8", "replace"))
    low = text.lower()
    if low in _ENTITIES:
        return _ENTITIES[low]
    try:
        cp = int(low[3:-1], 16) if low.startswith("&#x") else int(low[2:-1])
        return fold_str(chr(cp))
    except (ValueError, OverflowError):
        return text


class Folded:
    """A string in folded form with a map from folded offsets back to original offsets."""

    __slots__ = ("original", "text", "_start", "_end")

    def __init__(self, original: str):
        self.original = original
        if _is_simple(original):
            # Fast path: folding is a 1:1 character map (ASCII, or already-normal text).
            self.text = original.lower() if original.isascii() else fold_str(original)
            self._start = self._end = None
            return
        self._build(original)

    def _build(self, s: str) -> None:
        out: list[str] = []
        starts: list[int] = []
        ends: list[int] = []
        pos = 0
        for m in _SPECIAL.finditer(s):
            self._plain(s, pos, m.start(), out, starts, ends)
            piece = _fold_special(m)
            out.extend(piece)
            starts.extend([m.start()] * len(piece))
            ends.extend([m.end()] * len(piece))
            pos = m.end()
        self._plain(s, pos, len(s), out, starts, ends)
        self.text = "".join(out)
        self._start, self._end = starts, ends

    @staticmethod
    def _plain(s: str, i: int, n: int, out: list, starts: list, ends: list) -> None:
        """Fold s[i:n], which holds no special sequence, run by run."""
        for m in _RUNS.finditer(s, i, n):
            a, b = m.span()
            run = m.group()
            if not (out and out[-1] == " " and run[0] == " ") and not _ODD_WS.search(run):
                folded = run.lower() if run.isascii() else _fold_same_length(run)
                if folded is not None:  # one character each: offsets map 1:1
                    out.extend(folded)
                    starts.extend(range(a, b))
                    ends.extend(range(a + 1, b + 1))
                    continue
            Folded._per_char(s, a, b, out, starts, ends)

    @staticmethod
    def _per_char(s: str, i: int, n: int, out: list, starts: list, ends: list) -> None:
        while i < n:
            # A segment is one character plus the combining marks that follow it, so that
            # half-width kana with a voicing mark (ﾊﾞ) fold to one composed character (バ).
            j = i + 1
            while j < n and _is_combining(s[j]):
                j += 1
            piece = fold_str(s[i:j])
            if piece.isspace() or (piece == "" and s[i:j].isspace()):
                # White-space runs fold to one space ("石川\u3000\n健二" matches "石川 健二").
                if out and out[-1] == " ":
                    ends[-1] = j
                    i = j
                    continue
                piece = " "
            for ch in piece:
                out.append(ch)
                starts.append(i)
                ends.append(j)
            i = j

    def orig_span(self, start: int, end: int) -> tuple[int, int]:
        """Original [start, end) covering folded [start, end)."""
        if self._start is None:
            return start, end
        if start >= len(self._start):
            return len(self.original), len(self.original)
        return self._start[start], self._end[max(start, end - 1)]


def _is_combining(ch: str) -> bool:
    if unicodedata.combining(ch):
        return True
    norm = unicodedata.normalize("NFKC", ch)
    return bool(norm) and unicodedata.combining(norm[0]) != 0


_RUNS = re.compile(r"[ -~]+|[^ -~]+")  # printable ASCII runs, and everything else


def _fold_same_length(run: str) -> str | None:
    """The folded run if folding maps each character to exactly one (already NFKC text)."""
    if not unicodedata.is_normalized("NFKC", run):
        return None
    cf = run.casefold()
    if len(cf) != len(run) or not unicodedata.is_normalized("NFKC", cf):
        return None
    return cf


def _is_simple(s: str) -> bool:
    if (_HAS_SPECIAL.search(s) and _SPECIAL.search(s)) or _ODD_WS.search(s):
        return False
    if s.isascii():
        return True
    if not unicodedata.is_normalized("NFKC", s):
        return False
    cf = s.casefold()
    return len(cf) == len(s) and unicodedata.is_normalized("NFKC", cf)


def collapse_ws(s: str) -> str:
    """Collapse runs of white space to one space (profile tokens are matched that way)."""
    return _WS.sub(" ", s).strip()

"""DI-00 folded view: NFKC + case folding + invisible characters removed + hyphen-likes unified +
refanging (ASCII and full-width brackets) + repeated percent / HTML-entity decoding + \\uXXXX and
\\xNN escapes + punycode labels decoded.

Detectors search the *folded* form of a string and report spans there; `Folded.orig_span`
maps them back to the original string so that operators replace exactly the original
characters (the rest of the string keeps its original spelling).
"""
from __future__ import annotations

import codecs
import html
import json
import re
import unicodedata
from urllib.parse import unquote_to_bytes

from .views import HYPHENS, INVISIBLE, INVISIBLE_CHARS

# Multi-character spellings folded to one character. Defanged forms as written by analysts
# (hxxp, [.], [@], (dot)), regex / STIX-pattern escapes (\. \\.) and HTML entities.
_OPEN, _CLOSE = r"[\[［【〔(（{｛]", r"[\]］】〕)）}｝]"
_SPECIAL = re.compile(
    rf"(?P<inv>[{INVISIBLE_CHARS}]+)"
    r"|(?P<scheme>h[x*]{2}p(?=s?(?:[\[［]?[:：][\]］]?//|://)))"
    r"|(?P<ftp>f[x*]p(?=[\[［]?[:：][\]］]?//|://))"
    rf"|(?P<dot>{_OPEN}\s*(?:[.．。｡]|dot)\s*{_CLOSE})"
    rf"|(?P<at>{_OPEN}\s*(?:[@＠]|at)\s*{_CLOSE})"
    r"|(?P<colon>[\[［]\s*[:：]\s*[\]］](?=//)|[\[［][:：][\]］]//|[\[［]://[\]］])"
    r"|(?P<uesc>(?:(?-i:\\u)[0-9A-Fa-f]{4})+)"
    r"|(?P<xesc>(?:(?-i:\\x)[0-9A-Fa-f]{2})+)"
    r"|(?P<esc>\\+(?=[.\-/@:]))"
    r"|(?P<pct>(?:%(?:25)*[0-9A-Fa-f]{2})+)"
    r"|(?P<ent>&(?:amp;)*(?:#x[0-9A-Fa-f]{1,6};?|#[0-9]{1,7};?|[a-z][a-z0-9]{1,9};))"
    r"|(?P<idna>(?<![a-z0-9-])xn--[a-z0-9-]{2,59})",
    re.IGNORECASE,
)
# Cheap test before `_SPECIAL`: one of its opening characters, or a word it rewrites (the two
# halves of one alternation, the first without case folding, which its characters do not have).
_HAS_SPECIAL_CHAR = re.compile(rf"[\[\(\{{%\\&［【〔（｛{INVISIBLE_CHARS}]")
_HAS_SPECIAL_WORD = re.compile(r"h[x*]{2}p|f[x*]p|xn--", re.IGNORECASE)
_WS = re.compile(r"\s+")
_ODD_WS = re.compile(r"\s\s|[^\S ]")
_PCT_AGAIN = re.compile(r"%(?:25)+", re.IGNORECASE)
_AMP_AGAIN = re.compile(r"^&(?:amp;)+", re.IGNORECASE)


def fold_str(s: str) -> str:
    """Fold a whole string the way matching sees it (no span map): NFKC, case fold, NFKC."""
    folded = unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", s).casefold()).translate(HYPHENS)
    return INVISIBLE.sub("", folded) if not folded.isascii() else folded


def _fold_special(m: re.Match) -> str:
    kind = m.lastgroup
    text = m.group(0)
    if kind in ("scheme", "ftp"):
        return kind == "scheme" and "http" or "ftp"
    simple = {"inv": "", "dot": ".", "at": "@", "esc": ""}
    if kind in simple:
        return simple[kind]
    if kind == "colon":
        return "://" if text.endswith("//") or text in ("[://]", "［://］") else ":"
    if kind == "pct":  # repeated: %25E9 is %E9 is the byte E9
        return fold_str(unquote_to_bytes(_PCT_AGAIN.sub("%", text)).decode("utf-8", "replace"))
    if kind == "uesc":
        try:
            return fold_str(json.loads('"' + text.lower() + '"'))
        except ValueError:
            return text.lower()
    if kind == "xesc":
        raw = bytes(int(text[i + 2:i + 4], 16) for i in range(0, len(text), 4))
        return fold_str(raw.decode("utf-8", "replace"))
    if kind == "idna":
        try:
            return fold_str(codecs.decode(text[4:].lower().encode("ascii"), "punycode"))
        except (UnicodeError, ValueError):
            return text.lower()
    # HTML entities, double-escaped ones too (&amp;#x30CA; is &#x30CA; is ナ).
    entity = _AMP_AGAIN.sub("&", text)
    decoded = html.unescape(entity)
    return fold_str(decoded) if decoded != entity else text.lower()


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
    return cf.translate(HYPHENS)


def _has_special(s: str) -> bool:
    if _HAS_SPECIAL_CHAR.search(s):
        return True
    if s.isascii() and "x" not in s and "X" not in s and "*" not in s:
        return False  # every word of _HAS_SPECIAL_WORD has an x or a *
    return _HAS_SPECIAL_WORD.search(s) is not None


def _is_simple(s: str) -> bool:
    if (_has_special(s) and _SPECIAL.search(s)) or _ODD_WS.search(s):
        return False
    if s.isascii():
        return True
    if not unicodedata.is_normalized("NFKC", s):
        return False
    cf = s.casefold()
    return len(cf) == len(s) and unicodedata.is_normalized("NFKC", cf) and cf.translate(HYPHENS) == cf


def collapse_ws(s: str) -> str:
    """Collapse runs of white space to one space (profile tokens are matched that way)."""
    return _WS.sub(" ", s).strip()

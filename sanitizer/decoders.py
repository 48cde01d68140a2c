"""DI-00 item 3: decoded views of encoded tokens, found lazily.

Percent-encoding, HTML entities, `\\uXXXX`/`\\xNN` escapes and punycode labels are decoded inline
by `normalize.Folded` (each maps to a span of the original). The encodings here hide a value in
a token that must go *as a whole* when its decoded text names the victim: MIME encoded-words
(RFC 2047, via `email.header`, any charset incl. ISO-2022-JP), quoted-printable runs, hex byte
strings (contiguous, 0x-prefixed, spaced or as a 0x.. byte array; UTF-8 and UTF-16LE) and Base64 / Base64url tokens that decode to
text. `candidates` yields each such token's original span and its decoded text; the scrubber
and the leak gate read the decoded text again (recursively, to `MAX_DEPTH`), so a Base64 blob
holding percent-encoded JSON holding a host name is still seen.
"""
from __future__ import annotations

import base64
import binascii
import dataclasses
import quopri
import re
from email.errors import HeaderParseError
from email.header import decode_header, make_header
from typing import Callable, Iterator

MAX_DEPTH = 3
_MIME = re.compile(r"=\?[^?\s]{1,40}\?[bBqQ]\?[^?\s]*\?=(?:\s*=\?[^?\s]{1,40}\?[bBqQ]\?[^?\s]*\?=)*")
_QP = re.compile(r"(?:=[0-9A-Fa-f]{2}){2,}(?:(?:=\r?\n|[^\s=?]{1,4})(?:=[0-9A-Fa-f]{2})+)*")
_HEX_SPACED = re.compile(r"(?<![0-9A-Za-z])[0-9A-Fa-f]{2}(?:[ ][0-9A-Fa-f]{2}){3,}(?![0-9A-Za-z])")
_HEX = re.compile(r"(?<![0-9A-Za-z])(?:0x)?(?:[0-9A-Fa-f]{2}){4,}(?![0-9A-Za-z])")
_HEX_ARRAY = re.compile(r"(?<![0-9A-Za-z])(?:0x[0-9A-Fa-f]{2},?\s*){3,}0x[0-9A-Fa-f]{2}(?![0-9A-Za-z])")
# Base64 runs of 8+ characters with a digit, capital or +/_ in them (plain words are not worth
# decoding).
_B64 = re.compile(r"(?<![A-Za-z0-9+/_-])(?=[a-z-]*[0-9A-Z+/_])[A-Za-z0-9+/_-]{8,}={0,2}")
# UUIDs (STIX ids) are hex runs that never hide text.
_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_ALL_HEX = re.compile(r"^[0-9A-Fa-f]+$")


def _printable(text: str) -> bool:
    if not text or len(text) < 2:
        return False
    if text.isprintable():
        return True
    bad = sum(1 for c in text if not c.isprintable() and c not in "\t\r\n")
    return bad == 0 or bad / len(text) < 0.05


def as_text(raw: bytes) -> list[str]:
    """The readings of a byte string that look like text (UTF-8, ISO-2022-JP, UTF-16LE)."""
    out = []
    if len(raw) < 2:
        return out
    try:
        s = raw.decode("utf-8")
        if _printable(s):
            out.append(s)
    except UnicodeDecodeError:
        pass
    if b"\x1b$" in raw or b"\x1b(" in raw:
        try:
            s = raw.decode("iso-2022-jp")
            if _printable(s):
                out.append(s)
        except UnicodeDecodeError:
            pass
    if len(raw) % 2 == 0 and len(raw) >= 4 and not out:
        try:
            s = raw.decode("utf-16-le")
            if _printable(s):
                out.append(s)
        except UnicodeDecodeError:
            pass
    return out


def _mime(token: str) -> list[str]:
    try:
        return [str(make_header(decode_header(token)))]
    except (HeaderParseError, UnicodeError, LookupError, ValueError, AssertionError):
        return []


def _qp(token: str) -> list[str]:
    return as_text(quopri.decodestring(token.encode("ascii", "ignore")))


def _hex(token: str) -> list[str]:
    try:
        return as_text(bytes.fromhex(re.sub(r"0x|[\s,]", "", token)))
    except ValueError:
        return []


def _b64(token: str) -> list[str]:
    body = token.rstrip("=")
    if len(body) % 4 == 1:
        return []
    padded = body + "=" * (-len(body) % 4)
    alt = "-_" if ("-" in body or "_" in body) else "+/"
    try:
        raw = base64.b64decode(padded, altchars=alt.encode(), validate=True)
    except (binascii.Error, ValueError):
        return []
    return as_text(raw)


_ANY = re.compile("|".join(f"(?P<{name}>{rx.pattern})" for name, rx in (
    ("uuid", _UUID), ("mime", _MIME), ("qp", _QP), ("hexa", _HEX_ARRAY), ("hexs", _HEX_SPACED), ("hex", _HEX))))
_DECODE = {"mime": _mime, "qp": _qp, "hexa": _hex, "hexs": _hex, "hex": _hex}
# What every kind of `_ANY` but the UUID needs somewhere in the text: "=" (MIME, QP), "0x" (hex
# arrays), eight hex digits in a row (hex; a UUID has them too) or four spaced hex pairs. Text
# without any of them holds no such token, so the (slower) combined scan is skipped.
_MAY_ENCODE = re.compile(r"[0-9A-Fa-f]{2}(?:[0-9A-Fa-f]{6}| [0-9A-Fa-f]{2} [0-9A-Fa-f]{2} [0-9A-Fa-f]{2})")


def candidates(text: str, memo: dict | None = None) -> tuple[tuple[int, int, list[str]], ...]:
    """(start, end, decoded readings) of every encoded token in `text`: one pass for MIME words,
    QP and hex (at each position the first kind that fits wins), one for Base64 (a Base64 blob
    may hold a hex-looking piece between slashes; both are read). `memo` keeps the readings of
    each token across the strings of one submission (they repeat: words, hashes, URL paths)."""
    if len(text) < 8:
        return ()
    return tuple(_scan(text, {} if memo is None else memo))


def _decoded(memo: dict, fn: Callable[[str], list[str]], token: str) -> list[str]:
    key = (fn, token)
    got = memo.get(key)
    if got is None:
        got = fn(token)
        if len(memo) < 200_000:
            memo[key] = got
    return got


def _scan(text: str, memo: dict) -> Iterator[tuple[int, int, list[str]]]:
    may_encode = "=" in text or "0x" in text or _MAY_ENCODE.search(text) is not None
    for m in (_ANY.finditer(text) if may_encode else ()):
        kind = m.lastgroup
        if kind != "uuid":
            yield m.start(), m.end(), _decoded(memo, _DECODE[kind], m.group(0))
    for m in _B64.finditer(text):
        tok = m.group(0)
        if _ALL_HEX.match(tok) or _UUID.search(tok):
            continue  # hashes and ids
        decoded = _decoded(memo, _b64, tok)
        if decoded:
            yield m.start(), m.end(), decoded
            continue
        pos = m.start()  # a Base64 or hex segment of a URL path: try each segment
        for piece in tok.split("/"):
            if len(piece) >= 8 and piece != tok:
                got = _decoded(memo, _hex, piece) if _ALL_HEX.match(piece) and len(piece) % 2 == 0 \
                    else _decoded(memo, _b64, piece)
                if got:
                    yield pos, pos + len(piece), got
            pos += len(piece) + 1


def findings(tokens, inner: Callable[[str], tuple]) -> list:
    """Whole-token findings for the encoded `tokens` (from `candidates`) whose decoded text holds
    a finding (`inner` scrubs decoded text one level deeper and returns its findings)."""
    out = []
    for start, end, readings in tokens:
        for reading in readings:
            found = inner(reading)
            if found:
                out.append(dataclasses.replace(found[0], start=start, end=end))
                break
    return out

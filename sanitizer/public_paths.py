"""The public redaction report's paths and type names hold no victim token and no original id
(DI-18 v2): a path segment that is not a STIX-defined name (a custom `x_<victim>_ticket` key, a
victim-named header, an extension-definition id) is written as a redacted key.

Only names the STIX 2.1 specification defines (properties of every type and extension, hash
algorithms, object types) and common mail/HTTP header names stay readable; everything else is
redacted, so nothing from the submission can reach a peer through a key.
"""
from __future__ import annotations

import re

import stix2.registry

_MAPS = stix2.registry.STIX2_OBJ_MAPS["2.1"]
_CLASSES = list(_MAPS["objects"].items()) + list(_MAPS["observables"].items()) + list(_MAPS["extensions"].items())

_HEADERS = """
from to cc bcc subject date reply-to sender received message-id return-path user-agent host cookie
set-cookie authorization proxy-authorization content-type content-length content-disposition accept
accept-encoding accept-language connection referer x-mailer x-originating-ip thread-topic thread-index
authentication-results dkim-signature x-forwarded-for x-api-key x-requested-with mime-version
""".split()
_HASHES = "md5 sha-1 sha-256 sha-512 sha3-256 sha3-512 ssdeep tlsh sha1 sha256 sha512".split()
_WORDS = "objects bundle id pattern extensions key dropped START STOP AND OR FOLLOWEDBY".split()
SAFE = (frozenset(name for name, _cls in _CLASSES) | frozenset(p for _n, cls in _CLASSES for p in cls._properties)
        | frozenset(_HEADERS) | frozenset(_HASHES) | frozenset(_WORDS))
_SAFE_FOLDED = frozenset(s.lower() for s in SAFE)
_ID = re.compile(r"[a-z0-9-]+--[0-9a-fA-F-]{8,}")
# A path: dotted segments, each possibly quoted, with [i] / [*] indexes and a " (key)" suffix.
_SEGMENT = re.compile(r"'(?:[^'\\]|\\.)*'|[^.'\[\]() /]+")
REDACTED_KEY = "[REDACTED-KEY]"
REDACTED_ID = "[REDACTED-ID]"


def segment(name: str) -> str:
    """One path segment or object type, as the public report may show it."""
    quoted = len(name) >= 2 and name[0] == name[-1] == "'"
    bare = name[1:-1] if quoted else name
    if _ID.fullmatch(bare) or _ID.search(bare):
        out = REDACTED_ID
    elif bare.lower() in _SAFE_FOLDED or bare.isdigit() or bare == "*":
        out = bare
    elif bare.lower().startswith(("x_", "x-")):
        out = bare[:2] + REDACTED_KEY
    else:
        out = REDACTED_KEY
    return f"'{out}'" if quoted else out


def path(p: str) -> str:
    """A report path with every segment that is not a STIX-defined name redacted."""
    if not p:
        return p
    prefix = ""
    if p.startswith("pattern "):
        prefix, p = "pattern ", p[len("pattern "):]
    out, pos = [], 0
    for m in _SEGMENT.finditer(p):
        out.append(p[pos:m.start()])
        token = m.group(0)
        if prefix and ":" in token and not token.startswith("'"):  # object-type:property
            t, _, prop = token.partition(":")
            out.append(segment(t) + ":" + segment(prop))
        else:
            out.append(segment(token))
        pos = m.end()
    out.append(p[pos:])
    return prefix + "".join(out)


def object_label(label: str) -> str:
    """`<type> (dropped)` or an output id: a custom type name is redacted."""
    if label.endswith(" (dropped)"):
        t = label[: -len(" (dropped)")]
        return segment(t) + " (dropped)"
    return label

"""DI-14: payloads (artifact contents, e-mail bodies, command lines, network payloads) are the
victim's data and are dropped by default; so are credentials and session material (v2):
`Authorization`, `Proxy-Authorization`, `Cookie`, `Set-Cookie`, API-key / token headers and
NTLM / Negotiate / Bearer / Basic blobs, in `http-request-ext` headers, in patterns and in text.

An `artifact` loses its payload and its `url` but keeps its hashes (the sample's identity): STIX
requires `payload_bin` or `url` on an artifact, so the hashes travel as a `file` SCO (a file may
consist of hashes alone) that every `sample_refs` / `body_raw_ref` can still point at.
A URL whose only victim data sits in query parameters or the fragment keeps its host and path
(a C2 host is not lost because one request carried the victim's id).
"""
from __future__ import annotations

import re
from urllib.parse import urlsplit, urlunsplit

from ..matching import ProfileIndex
from ..normalize import Folded
from .base import Finding

RULE_ID = "DI-14"
TITLE = "Payloads and credentials: artifact contents, bodies, command lines, auth headers and tokens"
ACTION = "drop by default (artifact hashes kept; URL query data removed, host kept)"
# (type, property) pairs removed from objects.
DROPPED = {
    "artifact": ("payload_bin", "url"),
    "email-message": ("body", "additional_header_fields", "received_lines"),
    "process": ("command_line", "environment_variables"),
    "network-traffic": ("src_payload_ref", "dst_payload_ref", "ipfix"),
}
# Nested: MIME parts keep attachments (body_raw_ref) but lose their text.
MIME_PART_DROPPED = ("body",)
EXTENSION_DROPPED = {"http-request-ext": ("message_body_data_ref",)}

# Header names that carry credentials or session state (compared case-insensitively).
SECRET_HEADERS = frozenset({
    "authorization", "proxy-authorization", "cookie", "set-cookie", "www-authenticate",
    "proxy-authenticate", "x-api-key", "api-key", "apikey", "x-apikey", "x-auth-token", "x-access-token",
    "x-refresh-token", "x-csrf-token", "x-xsrf-token", "x-amz-security-token", "x-goog-api-key",
    "x-functions-key", "ocp-apim-subscription-key", "x-session", "x-session-id", "x-session-token",
    "authentication", "x-authorization", "private-token", "x-vault-token",
})
_SECRET_NAME = re.compile(r"(?:^|-)(?:token|secret|password|passwd|session|api-?key|auth)(?:$|-)")

# Credentials written in text: a header line (up to the end of the line or a quote), an auth
# scheme with its blob, a JWT, or an NTLMSSP message in Base64 ("TlRMTVNTUA" = "NTLMSSP\0").
_HEADER_NAMES = "|".join(sorted((re.escape(h) for h in SECRET_HEADERS - {"authentication"}), key=len, reverse=True))
_TEXT = re.compile(
    r"(?<![a-z0-9-])(?:" + _HEADER_NAMES + r")\s*[:=]\s*[^\r\n\"'<>]+"
    r"|(?<![a-z0-9])(?:bearer|basic|ntlm|negotiate)\s+(?=[a-z0-9+/=._~-]*[0-9+/=])[a-z0-9+/=._~-]{8,}"
    r"|(?<![a-z0-9_-])ey[a-z0-9_-]{8,}\.ey[a-z0-9_-]{8,}\.[a-z0-9_-]*"
    r"|(?<![a-z0-9+/])tlrmtvntuaa[a-z0-9+/]{8,}={0,2}")


_QUICK = re.compile(r"auth|cookie|bearer|basic|ntlm|negotiate|ey[a-z0-9_-]{8}|tlrm|token|key|session|secret")


def is_secret_header(name: str) -> bool:
    """True for a header that carries credentials or session state."""
    low = name.strip().lower()
    return low in SECRET_HEADERS or bool(_SECRET_NAME.search(low))


def secret_header_in_path(path: str) -> bool:
    """True for a pattern path into a credential header (`…request_header.'Cookie'[*]`)."""
    m = re.search(r"request_header\.'?((?:[^'\\]|\\.)+?)'?(?:\[|$)", path)
    return bool(m) and is_secret_header(m.group(1))


def clean_headers(ext: dict) -> list[str]:
    """Remove credential headers from an http-request-ext (in place); return the removed names."""
    headers = ext.get("request_header")
    if not isinstance(headers, dict):
        return []
    removed = [k for k in headers if is_secret_header(k)]
    for k in removed:
        del headers[k]
    if not headers:
        del ext["request_header"]
    return removed


def detect(folded: Folded, index: ProfileIndex) -> list[Finding]:
    """Credential header lines, auth blobs, JWTs and NTLM messages in text."""
    text = folded.text
    if not _QUICK.search(text):
        return []
    out = []
    for m in _TEXT.finditer(text):
        start, end = folded.orig_span(m.start(), m.end())
        out.append(Finding(start, end, RULE_ID, "credential", "[CREDENTIAL]"))
    return out


def artifact_as_file(obj: dict) -> dict | None:
    """The `file` SCO that carries an artifact's hashes (and media type); None without hashes."""
    hashes = obj.get("hashes")
    if not isinstance(hashes, dict) or not hashes:
        return None
    out = {"type": "file", "spec_version": obj.get("spec_version", "2.1"), "id": obj["id"], "hashes": hashes}
    if isinstance(obj.get("mime_type"), str):
        out["mime_type"] = obj["mime_type"]
    for k in ("object_marking_refs", "granular_markings"):
        if k in obj:
            out[k] = obj[k]
    return out


def url_like(value: str, spans: list[tuple[int, int]]) -> str | None:
    """A LIKE value for a pattern URL whose victim data is only in its query or fragment."""
    if url_without(value, spans) is None:
        return None
    cut = min(i for i in (value.find("?"), value.find("#"), len(value)) if i >= 0)
    return value[:cut] + "%"  # LIKE's own wildcards in the path only widen the match


def url_without(value: str, spans: list[tuple[int, int]]) -> str | None:
    """The URL with every query parameter (or the fragment) that a span touches removed; None if a
    span lies in the scheme, host or path (then the URL itself is victim data)."""
    try:
        parts = urlsplit(value)
    except ValueError:
        return None
    query_at = value.find("?") if parts.query else -1
    frag_at = value.find("#") if parts.fragment else -1
    head_end = min(i for i in (query_at, frag_at, len(value)) if i >= 0)
    if not parts.netloc or any(s < head_end for s, _e in spans):
        return None
    kept, pos = [], query_at + 1
    for param in parts.query.split("&") if parts.query else []:
        p_start, p_end = pos, pos + len(param)
        pos = p_end + 1
        if not any(s < p_end and e > p_start for s, e in spans):
            kept.append(param)
    fragment = parts.fragment
    if frag_at >= 0 and any(e > frag_at for _s, e in spans):
        fragment = ""
    return urlunsplit((parts.scheme, parts.netloc, parts.path, "&".join(kept), fragment))

"""A raw HTTP/1.1 client for hostile requests: the bytes go on the socket exactly as written
(no URL normalisation, no header validation), one connection per request, and every request
and every 5xx answer is counted in TALLY."""
from __future__ import annotations

import base64
import re
import socket
from dataclasses import dataclass, field

TALLY = {"requests": 0, "5xx": 0}

# What must never reach a client: a traceback, a Python exception class, a source path, the
# name of a library the server is built on.
LEAK = re.compile(rb"Traceback|File \"|\b[A-Z][A-Za-z]*(?:Error|Exception)\b|\.py\b|sqlalchemy|psycopg|sqlite3"
                  rb"|werkzeug|medallion|orjson|Recursion|line \d+", re.IGNORECASE)


@dataclass
class RawResponse:
    status: int
    headers: dict = field(default_factory=dict)
    body: bytes = b""

    def json(self):
        import json

        return json.loads(self.body)


def basic(key: dict) -> str:
    return "Basic " + base64.b64encode(f"{key['key_id']}:{key['key']}".encode()).decode()


def build(method: str | bytes, target: str | bytes, headers: dict | None = None, body: bytes | None = None,
          port: int = 80) -> bytes:
    """The request bytes; Content-Length is added for a body unless a header already says it."""
    enc = (lambda v: v if isinstance(v, bytes) else v.encode("utf-8", "surrogateescape"))
    lines = [enc(method) + b" " + enc(target) + b" HTTP/1.1", b"Host: 127.0.0.1:" + str(port).encode()]
    names = set()
    for k, v in (headers or {}).items():
        lines.append(enc(k) + b": " + enc(v))
        names.add(k.lower() if isinstance(k, str) else k.decode().lower())
    if body is not None and "content-length" not in names and "transfer-encoding" not in names:
        lines.append(b"Content-Length: " + str(len(body)).encode())
    lines.append(b"Connection: close")
    return b"\r\n".join(lines) + b"\r\n\r\n" + (body or b"")


def send(port: int, data: bytes, timeout: float = 60) -> RawResponse:
    """Send raw bytes, read the answer until the server closes the connection."""
    TALLY["requests"] += 1
    chunks = []
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        try:
            s.sendall(data)
            s.shutdown(socket.SHUT_WR)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server answered early (e.g. 413) and closed: read what it said
        try:
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                chunks.append(chunk)
        except ConnectionResetError:
            pass
    resp = _parse(b"".join(chunks))
    if resp.status >= 500:
        TALLY["5xx"] += 1
    return resp


def _parse(raw: bytes) -> RawResponse:
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    match = re.match(rb"HTTP/1\.[01] (\d{3})", lines[0]) if lines and lines[0] else None
    if not match:
        return RawResponse(status=0, body=raw)  # no HTTP answer at all
    headers = {}
    for line in lines[1:]:
        k, _, v = line.partition(b":")
        headers[k.strip().lower().decode("latin-1")] = v.strip().decode("latin-1")
    if headers.get("transfer-encoding", "").lower() == "chunked":
        out, rest = [], body
        while rest:
            size_line, _, rest = rest.partition(b"\r\n")
            size = int(size_line.split(b";")[0] or b"0", 16)
            if size == 0:
                break
            out.append(rest[:size])
            rest = rest[size + 2:]
        body = b"".join(out)
    return RawResponse(int(match.group(1)), headers, body)

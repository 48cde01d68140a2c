"""Shared pieces of the `hub` command line: the argument parser class, common options, output
(`emit`, atomic writes) and input reading. Every message names the file or option, never a value.
"""
from __future__ import annotations

import argparse
import os
import sys
from datetime import datetime, timezone
from pathlib import Path

import orjson

from sanitizer.formats import csv_to_bundle, text_to_bundle

from .errors import EXIT_BAD_INPUT, Invalid

EXIT_OK = 0


class Parser(argparse.ArgumentParser):
    """argparse that exits 2 with one line, as every other bad input does."""

    def error(self, message: str) -> None:  # pragma: no cover - exercised through main()
        self.exit(EXIT_BAD_INPUT, f"hub: {message}\n")


def common(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
    p.add_argument("--data-dir", help="hub data directory (default: $HUB_DATA_DIR or ./hubdata)")
    p.add_argument("--json", action="store_true", help="print what was done as one JSON object")
    return p


def emit(args, result: dict) -> int:
    if getattr(args, "json", False):
        print(orjson.dumps(result, option=orjson.OPT_SORT_KEYS).decode())
    else:
        for k, v in result.items():
            print(f"{k}: {v if not isinstance(v, (list, dict)) else orjson.dumps(v).decode()}")
    return EXIT_OK


def read_bytes(path: str, what: str) -> bytes:
    """Read a file (or stdin for '-'); Invalid if it cannot be read."""
    try:
        if path == "-":
            return sys.stdin.buffer.read()
        return Path(path).read_bytes()
    except OSError as exc:
        raise Invalid(f"{what}: cannot read {path} ({exc.strerror or type(exc).__name__})") from None


def decode_text(data: bytes, what: str) -> str:
    """UTF-8 text (a BOM is tolerated)."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise Invalid(f"{what}: not UTF-8 text (byte {exc.start})") from None


def parse_json(data: bytes, what: str):
    """Parse JSON; Invalid with line and column on error."""
    text = decode_text(data, what)
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        raise Invalid(f"{what}: not valid JSON (line {exc.lineno}, column {exc.colno})") from None


def write_atomic(path: str, data: bytes) -> None:
    """Write all or nothing: a reader never sees half a file."""
    if path == "-":
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
        return
    target = Path(path)
    tmp = target.with_name(f".{target.name}.tmp-{os.getpid()}")
    try:
        tmp.write_bytes(data)
        os.replace(tmp, target)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise Invalid(f"output: cannot write {path} ({exc.strerror or type(exc).__name__})") from None


def load_input(path: str, fmt: str | None, now: datetime) -> dict:
    """Read the submission in any supported format and return a STIX bundle."""
    if fmt is None:
        suffix = Path(path).suffix.lower()
        fmt = {".csv": "csv", ".txt": "text"}.get(suffix, "stix")
    data = read_bytes(path, "input")
    if fmt == "csv":
        return csv_to_bundle(decode_text(data, "input"), now=now)
    if fmt == "text":
        return text_to_bundle(decode_text(data, "input"), now=now)
    return parse_json(data, "input")


def parse_now(value: str | None) -> datetime:
    """The conversion time: --now, else the wall clock (the sanitiser itself never reads it)."""
    if value is None:
        return datetime.now(timezone.utc).replace(microsecond=0)
    try:
        dt = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise Invalid("--now: not an ISO 8601 date-time") from None
    return (dt if dt.tzinfo else dt.replace(tzinfo=timezone.utc)).astimezone(timezone.utc)


def dump(obj) -> bytes:
    """Deterministic, readable JSON."""
    return orjson.dumps(obj, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS) + b"\n"




def poll_key(user: str | None, key_file: str | None, password: str | None) -> tuple[str, str]:
    """(key id, key) for `hub poll`: from --key-file (readable by its owner only), else $HUB_KEY,
    else the legacy --password; the key id defaults to the key's part before the dot."""
    if key_file:
        path = Path(key_file)
        try:
            mode = path.stat().st_mode
            if mode & 0o077:
                raise Invalid(f"--key-file {path} may be read by others (mode {mode & 0o777:04o}); "
                              f"fix: chmod 600 {path}")
            key = path.read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError) as exc:
            raise Invalid(f"--key-file: cannot read {path} ({getattr(exc, 'strerror', None) or type(exc).__name__})") \
                from None
    else:
        key = (os.environ.get("HUB_KEY") or password or "").strip()
    if not key:
        raise Invalid("poll: no key; set $HUB_KEY or pass --key-file FILE")
    if "\n" in key or (user is None and "." not in key):
        raise Invalid("poll: the key must be one line, KEY_ID.SECRET")
    return user or key.split(".", 1)[0], key

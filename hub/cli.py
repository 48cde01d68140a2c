"""The `hub` command line.

Exit codes: 0 done; 2 bad input (one line on stderr, no traceback); 3 refused by the leak gate
(nothing written). No message ever carries a value taken from the input.
"""
from __future__ import annotations

import argparse
import os
import sys
from datetime import datetime, timezone
from pathlib import Path

import orjson

from sanitizer import BadInput, LeakRefused, Policy, VictimProfile, sanitize
from sanitizer.formats import csv_to_bundle, text_to_bundle

from . import secrets as hub_secrets

EXIT_OK, EXIT_BAD_INPUT, EXIT_REFUSED, EXIT_INTERNAL = 0, 2, 3, 1


class _Parser(argparse.ArgumentParser):
    """argparse that exits 2 with one line, as every other bad input does."""

    def error(self, message: str) -> None:  # pragma: no cover - exercised through main()
        self.exit(EXIT_BAD_INPUT, f"hub: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every `hub` sub-command."""
    parser = _Parser(prog="hub", description="De-identified attack-technique sharing hub")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    s = sub.add_parser("sanitize", help="de-identify a STIX 2.1 bundle, CSV or text IOC list")
    s.add_argument("input", help="input file, or - for standard input")
    s.add_argument("--profile", required=True, help="victim profile (JSON)")
    s.add_argument("-o", "--output", default="-", help="output bundle, or - for standard output (default)")
    s.add_argument("--report", help="write the public redaction report (no original values) here")
    s.add_argument("--private-report", help="write the private report (with original values) here")
    s.add_argument("--policy", help="policy file (JSON); safe defaults otherwise")
    s.add_argument("--tlp", choices=["clear", "green", "amber", "amber+strict"], help="TLP of the output")
    s.add_argument("--input-format", choices=["stix", "csv", "text"], help="default: by file extension, else stix")
    s.add_argument("--secret-file", help="hub secret for id regeneration (default: $HUB_SECRET_FILE, "
                                          "then the data directory's key)")
    s.add_argument("--now", help="time of a CSV/text conversion (ISO 8601, UTC); default: now")
    s.set_defaults(func=cmd_sanitize)

    d = sub.add_parser("demo", help="sanitise the bundled demo submission and show what changed")
    d.add_argument("-o", "--output-dir", default="hub-demo-output", help="where to write the results")
    d.set_defaults(func=cmd_demo)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `hub` console script."""
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except BadInput as exc:
        print(f"hub: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except LeakRefused as exc:
        print(f"hub: {exc}; nothing was written", file=sys.stderr)
        return EXIT_REFUSED
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # noqa: BLE001 - the user gets one line, never a traceback or a value
        print(f"hub: internal error ({type(exc).__name__}); nothing was written", file=sys.stderr)
        return EXIT_INTERNAL


# ---------------------------------------------------------------------------- helpers
def read_bytes(path: str, what: str) -> bytes:
    """Read a file (or stdin for '-'); BadInput if it cannot be read."""
    try:
        if path == "-":
            return sys.stdin.buffer.read()
        return Path(path).read_bytes()
    except OSError as exc:
        raise BadInput(f"{what}: cannot read {path} ({exc.strerror or type(exc).__name__})") from None


def decode_text(data: bytes, what: str) -> str:
    """UTF-8 text (a BOM is tolerated)."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise BadInput(f"{what}: not UTF-8 text (byte {exc.start})") from None


def parse_json(data: bytes, what: str):
    """Parse JSON; BadInput with line and column on error."""
    text = decode_text(data, what)
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        raise BadInput(f"{what}: not valid JSON (line {exc.lineno}, column {exc.colno})") from None


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
        raise BadInput(f"output: cannot write {path} ({exc.strerror or type(exc).__name__})") from None


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
        raise BadInput("--now: not an ISO 8601 date-time") from None
    return (dt if dt.tzinfo else dt.replace(tzinfo=timezone.utc)).astimezone(timezone.utc)


def dump(obj) -> bytes:
    """Deterministic, readable JSON."""
    return orjson.dumps(obj, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS) + b"\n"


# ---------------------------------------------------------------------------- commands
def cmd_sanitize(args) -> int:
    """`hub sanitize`: exit 0 written, 2 bad input, 3 refused by the leak gate."""
    profile = VictimProfile.from_dict(parse_json(read_bytes(args.profile, "profile"), "profile"))
    policy = Policy.from_dict(parse_json(read_bytes(args.policy, "policy"), "policy")) if args.policy else Policy()
    if args.tlp:
        policy = policy.with_tlp(args.tlp)
    secret, note = hub_secrets.load_id_secret(args.secret_file)
    bundle = load_input(args.input, args.input_format, parse_now(args.now))
    try:
        result = sanitize(bundle, profile, policy, secret=secret)
    except LeakRefused as exc:
        if args.report:  # the public report says where (never what) so the submitter can fix it
            write_atomic(args.report, dump({"refused": [h.__dict__ for h in exc.hits]}))
        raise
    write_atomic(args.output, result.to_json())
    if args.report:
        write_atomic(args.report, dump(result.report.public()))
    if args.private_report:
        write_atomic(args.private_report, dump(result.report.private()))
    if note:
        print(f"hub: note: {note}", file=sys.stderr)
    return EXIT_OK


def cmd_demo(args) -> int:
    """`hub demo`: sanitise the demo submission shipped with the hub and print a summary."""
    from .demo import run_demo

    return run_demo(Path(args.output_dir))


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

"""The `hub` command line.

Exit codes: 0 done; 2 bad input (one line on stderr, no traceback); 3 refused by the leak gate
(nothing written). No message ever carries a value taken from the input.
"""
from __future__ import annotations

import argparse
import logging
import os
import sys
from datetime import date, datetime, timezone
from pathlib import Path

import requests

from nda_templates.render import CLAUSE_IDS, render
from sanitizer import BadInput, LeakRefused, Policy, VictimProfile, sanitize

from . import admin, cli_review, feed, runner
from . import secrets as hub_secrets
from .cli_io import (EXIT_OK, Parser, common, dump, emit, load_input, parse_json, parse_now, poll_key,
                     read_bytes, write_atomic)
from .demo import run_demo
from .errors import EXIT_BAD_INPUT, EXIT_REFUSED, HubError, Invalid
from .services import accounts, agreements
from .services.permissions import cli_operator

EXIT_INTERNAL = 1


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every `hub` sub-command."""
    parser = Parser(prog="hub", description="De-identified attack-technique sharing hub")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=Parser)

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
    _add_operator_commands(sub)
    cli_review.add_commands(sub, common, Parser)
    return parser


def _add_operator_commands(sub) -> None:
    p = common(sub.add_parser("init", help="create the store, secrets, operator, TLP collections, admin key"))
    p.add_argument("--database-url", help="postgresql+psycopg://… (default: SQLite in the data directory)")
    p.set_defaults(func=cmd_init)

    org = sub.add_parser("org", help="member organisations").add_subparsers(dest="org_cmd", required=True,
                                                                            parser_class=Parser)
    p = common(org.add_parser("add", help="register an organisation"))
    p.add_argument("name")
    p.add_argument("--type", required=True, choices=["csirt", "peer"])
    p.add_argument("--sector")
    p.add_argument("--region")
    p.set_defaults(func=lambda a: _with_store(a, accounts.add_org, name=a.name, org_type=a.type, sector=a.sector,
                                              region=a.region))
    p = common(org.add_parser("list", help="list organisations"))
    p.set_defaults(func=lambda a: _with_store(a, accounts.list_orgs))

    key = sub.add_parser("key", help="API keys").add_subparsers(dest="key_cmd", required=True, parser_class=Parser)
    p = common(key.add_parser("create", help="create a key (shown once)"))
    p.add_argument("--org", required=True)
    p.add_argument("--role", required=True, choices=["submitter", "consumer", "analyst", "admin"])
    p.set_defaults(func=lambda a: _with_store(a, accounts.create_key, org=a.org, role=a.role))
    p = common(key.add_parser("revoke", help="revoke a key at once"))
    p.add_argument("key_id")
    p.set_defaults(func=lambda a: _with_store(a, accounts.revoke_key, key_id=a.key_id))
    p = common(key.add_parser("list", help="list keys (never their secrets)"))
    p.set_defaults(func=lambda a: _with_store(a, accounts.list_keys))

    for name, value in (("grant", True), ("revoke-grant", False)):
        p = common(sub.add_parser(name, help=f"{'give' if value else 'take'} read/write on a collection"))
        p.add_argument("--org", required=True)
        p.add_argument("--collection", required=True, help="collection id or title")
        p.add_argument("--read", action="store_true")
        p.add_argument("--write", action="store_true")
        p.set_defaults(func=lambda a, v=value: _with_store(a, accounts.set_grant, org=a.org, collection=a.collection,
                                                           read=a.read, write=a.write, value=v))

    nda = sub.add_parser("nda", help="model NDA clauses").add_subparsers(dest="nda_cmd", required=True,
                                                                        parser_class=Parser)
    p = nda.add_parser("render", help="render the model clauses for two parties")
    p.add_argument("--lang", required=True, choices=["ja", "en"])
    p.add_argument("--party-a", required=True, help="the expert organisation (CSIRT, IR vendor)")
    p.add_argument("--party-b", required=True, help="the victim organisation")
    p.add_argument("--format", default="md", choices=["md", "html"])
    p.add_argument("--effective-date", help="YYYY-MM-DD")
    p.add_argument("--tlp-ceiling", choices=["TLP:CLEAR", "TLP:GREEN", "TLP:AMBER", "TLP:AMBER+STRICT"])
    p.add_argument("--retention-days", type=int)
    p.add_argument("--term-years", type=int)
    p.add_argument("-o", "--output", default="-", help="file, or - for standard output")
    p.set_defaults(func=cmd_nda_render)

    ag = sub.add_parser("agreement", help="NDA agreements that allow sharing").add_subparsers(
        dest="agreement_cmd", required=True, parser_class=Parser)
    p = common(ag.add_parser("add", help="register an agreement between a CSIRT and a victim"))
    p.add_argument("--org", required=True, help="the CSIRT")
    p.add_argument("--victim-ref", required=True, help="the CSIRT's own case reference for the victim")
    p.add_argument("--signed-on", required=True, help="YYYY-MM-DD")
    p.add_argument("--expires", help="YYYY-MM-DD (default: no end date)")
    p.add_argument("--clauses", help="comma-separated clause ids (default: all)")
    p.set_defaults(func=lambda a: _with_store(a, agreements.add_agreement, org=a.org, victim_ref=a.victim_ref,
                                              signed_on=a.signed_on, expires=a.expires, clauses=a.clauses,
                                              all_clauses=CLAUSE_IDS))
    p = common(ag.add_parser("list", help="list agreements"))
    p.add_argument("--org")
    p.set_defaults(func=lambda a: _with_store(a, agreements.list_agreements, org=a.org))
    p = common(ag.add_parser("withdraw", help="the victim objects to sharing from now on"))
    p.add_argument("victim_ref")
    p.add_argument("--org", help="needed when several CSIRTs use the same reference")
    p.add_argument("--on", help="YYYY-MM-DD (default: today)")
    p.set_defaults(func=lambda a: _with_store(a, agreements.withdraw_agreement, victim_ref=a.victim_ref, org=a.org,
                                              on=a.on, today=_today()))

    p = common(sub.add_parser("publish", help="operator bulk publication of a bundle into a collection"))
    p.add_argument("bundle")
    p.add_argument("--collection", required=True, help="collection id or title")
    p.set_defaults(func=cmd_publish)

    p = common(sub.add_parser("serve", help="serve the TAXII 2.1 feed (waitress)"))
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8080)
    p.add_argument("--workers", type=int, default=8, help="worker threads")
    p.add_argument("--rate-limit", type=int, metavar="N",
                   help="requests per minute per API key on TAXII and /api/ (0: no limit; default: "
                        "config.json rate_limit_per_minute, else 600)")
    p.add_argument("--log-level", default=os.environ.get("HUB_LOG_LEVEL", "INFO"),
                   choices=["DEBUG", "INFO", "WARNING", "ERROR"], help="log lines on stderr (default INFO)")
    p.add_argument("--processes", type=int, default=1,
                   help="web processes sharing the port (several need a shared rate-limit storage, "
                        "config.json rate_limit_storage, e.g. redis://127.0.0.1:6379/0)")
    p.add_argument("--worker-processes", type=int, default=1,
                   help="sanitising worker processes started beside the web processes (default 1)")
    p.add_argument("--no-worker", action="store_const", const=0, dest="worker_processes",
                   help="web only: submissions are sanitised by `hub worker` processes")
    p.add_argument("--public-url", metavar="URL",
                   help="the URL peers reach this hub at (https://hub.example.jp); discovery's api_roots use "
                        "it, never the Host header (default: config.json public_url, else http://HOST:PORT)")
    p.add_argument("--secure-cookies", action=argparse.BooleanOptionalAction, default=None,
                   help="mark the review view's session cookie Secure (default: on when the public URL is https)")
    p.set_defaults(func=lambda a: _logging(a.log_level) or feed.serve(
        admin.data_dir_arg(a.data_dir), a.host, a.port, a.workers, a.rate_limit, processes=a.processes,
        worker_processes=a.worker_processes, public_url=a.public_url, secure_cookies=a.secure_cookies))

    p = common(sub.add_parser("worker", help="sanitise queued submissions (any number, sharing PostgreSQL)"))
    p.add_argument("--threads", type=int, default=1, help="worker threads in this process")
    p.add_argument("--log-level", default=os.environ.get("HUB_LOG_LEVEL", "INFO"),
                   choices=["DEBUG", "INFO", "WARNING", "ERROR"], help="log lines on stderr (default INFO)")
    p.set_defaults(func=lambda a: _logging(a.log_level) or runner.run_worker(admin.data_dir_arg(a.data_dir),
                                                                             a.threads))

    p = sub.add_parser("poll", help="pull what is new from a TAXII 2.1 collection")
    p.add_argument("url", help="API root URL, e.g. http://127.0.0.1:8080/hub/")
    p.add_argument("--collection", required=True)
    p.add_argument("--user", help="key id (default: the part of the key before the dot)")
    p.add_argument("--key-file", help="a file holding the key (mode 600); default: $HUB_KEY")
    p.add_argument("--password", help=argparse.SUPPRESS)  # older scripts: the key on the command line
    p.add_argument("-o", "--output-dir", help="write bundles here (default: JSON lines on stdout)")
    p.add_argument("--merge", action="store_true",
                   help="write one bundle per run (all pages together, relationships kept) instead of one per page")
    p.add_argument("--state", help="where to remember the last position (default: OUTPUT_DIR/poll-state.json)")
    p.add_argument("--page-size", type=int, default=1000)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_poll)


def cmd_nda_render(args) -> int:
    """`hub nda render`: the model clauses with the parties filled in."""
    extra = {k: v for k, v in (("tlp_ceiling", args.tlp_ceiling), ("retention_days", args.retention_days),
                               ("term_years", args.term_years)) if v is not None}
    if args.effective_date:
        try:
            extra["effective_date"] = date.fromisoformat(args.effective_date)
        except ValueError:
            raise Invalid("--effective-date must be a date like 2026-04-01") from None
    try:
        text = render(args.lang, party_a=args.party_a, party_b=args.party_b, fmt=args.format, **extra)
    except ValueError as exc:
        raise Invalid(f"nda render: {exc}") from None
    write_atomic(args.output, text.encode("utf-8"))
    return EXIT_OK


# Third-party loggers that see submitted input (text being defanged or searched for IOCs, STIX
# objects, request bodies, SQL parameters): capped at WARNING whatever --log-level says, since
# their DEBUG/INFO lines quote what they process.
INPUT_LOGGERS = ("ioc_fanger", "ioc_finder", "medallion", "werkzeug", "waitress", "sqlalchemy", "stix2",
                 "pyparsing", "urllib3", "psycopg", "flask_limiter", "limits", "taxii2client", "antlr4")
OWN_LOGGERS = ("hub", "sanitizer", "taxii_server", "nda_templates")


def _logging(level: str) -> None:
    """Log lines to stderr. They name submissions, keys and rules, never a submitted value."""
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    for name in INPUT_LOGGERS:
        logger = logging.getLogger(name)
        logger.setLevel(max(logging.WARNING, logger.getEffectiveLevel()))
    for handler in logging.getLogger().handlers:  # and any other library's, named here or not
        handler.addFilter(_own_or_warning)


def _own_or_warning(record: logging.LogRecord) -> bool:
    """Below WARNING only the hub's own loggers, whose lines are written never to quote input."""
    return record.levelno >= logging.WARNING or record.name.split(".")[0] in OWN_LOGGERS


def _today():
    return datetime.now(timezone.utc).date()


def _with_store(args, service, **kwargs) -> int:
    """Run one service on the data directory's store as the CLI operator, print its result."""
    data = admin.data_dir_arg(args.data_dir)
    principal = cli_operator(data.config().get("operator_org") or cli_operator().org)
    return emit(args, service(data.open_store(), principal=principal, **kwargs))


def cmd_init(args) -> int:
    """`hub init`."""
    return emit(args, admin.init(admin.data_dir_arg(args.data_dir), args.database_url))


def cmd_publish(args) -> int:
    """`hub publish`."""
    data = admin.data_dir_arg(args.data_dir)
    raw = read_bytes(args.bundle, "input")
    return emit(args, feed.publish(data, data.open_store(), raw, args.collection))


def cmd_poll(args) -> int:
    """`hub poll`: exit 2 with one line when the server refuses or cannot be reached."""
    try:
        user, key = poll_key(args.user, args.key_file, args.password)
        result = feed.poll(args.url, args.collection, user, key, args.output_dir, args.state, args.page_size,
                           merge=args.merge)
    except requests.HTTPError as exc:
        raise Invalid(f"poll: the server answered {exc.response.status_code}") from None
    except requests.ConnectionError:
        raise Invalid(f"poll: cannot connect to {args.url}") from None
    if args.output_dir or args.json:
        return emit(args, result)
    print(f"hub: {result['objects']} new objects", file=sys.stderr)
    return EXIT_OK


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `hub` console script."""
    args = build_parser().parse_args(argv)
    umask = os.umask(0o077)  # the data directory's files (database, WAL, config, outputs) are the user's only
    try:
        return args.func(args)
    except HubError as exc:  # the class carries the exit code
        print(f"hub: {exc}", file=sys.stderr)
        return exc.exit_code
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
    finally:
        os.umask(umask)  # main() called in-process (tests, a wrapper) leaves the caller's umask


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
    return run_demo(Path(args.output_dir))


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

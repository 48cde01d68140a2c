"""`hub` sub-commands of the submission and review flow: submit, verify, audit verify,
auto-publish, purge and quickstart."""
from __future__ import annotations

import orjson


from .domain import now_timestamp
from .errors import Invalid
from . import client
from .admin import data_dir_arg
from .cli_io import emit, read_bytes, write_atomic
from .context import HubContext
from .crypto import Signer
from .manifest import verify_publication, withdrawn_ids
from .quickstart import quickstart
from .services import audit, maintenance, publication, sessions, withdrawal
from .services.permissions import cli_operator
from .store.base import ObjectFilter

EXIT_FAILED_CHECK = 3  # a signature or the audit chain does not verify


def add_commands(sub, common, parser_class) -> None:
    p = sub.add_parser("submit", help="submit a STIX bundle, CSV or text IOC list to a hub (CSIRT side)")
    p.add_argument("file")
    p.add_argument("--profile", required=True, help="victim profile file (JSON), or a registered profile's id or name")
    p.add_argument("--url", required=True, help="the hub, e.g. http://127.0.0.1:8080")
    p.add_argument("--user", required=True, help="submitter key id")
    p.add_argument("--password", required=True, help="submitter key")
    p.add_argument("--tlp", choices=["clear", "green", "amber", "amber+strict"])
    p.add_argument("--victim-ref", help="your case reference for the victim (names the NDA that covers it)")
    p.add_argument("--attribution", action="store_true", help="name your organisation as the producer")
    p.add_argument("--input-format", choices=["stix", "csv", "text"])
    p.add_argument("--wait", type=float, default=60.0, help="seconds to wait for the sanitiser (0: do not wait)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_submit)

    p = sub.add_parser("verify", help="check publications' Ed25519 signatures and objects")
    p.add_argument("publication", nargs="?", help="publication id (remote mode)")
    p.add_argument("--url", help="the hub; with --user/--password: fetch over the API and TAXII")
    p.add_argument("--user")
    p.add_argument("--password")
    p.add_argument("--public-key", help="the hub's public key (base64) you trust; default: the hub's own answer")
    p.add_argument("--data-dir", help="local mode: every publication in this hub's store")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_verify)

    audit = sub.add_parser("audit", help="the hash-chained audit log").add_subparsers(
        dest="audit_cmd", required=True, parser_class=parser_class)
    p = common(audit.add_parser("verify", help="check that no entry was changed, removed or reordered"))
    p.add_argument("--against", metavar="FILE", help="also hold the log against an exported checkpoint")
    p.set_defaults(func=cmd_audit_verify)
    p = common(audit.add_parser("checkpoint", help="the log's head signed by the hub, for an outside party"))
    p.add_argument("--export", metavar="FILE", required=True, help="write the signed checkpoint here")
    p.set_defaults(func=cmd_audit_checkpoint)
    p = common(audit.add_parser("list", help="print the audit log"))
    p.add_argument("--limit", type=int, default=100)
    p.set_defaults(func=cmd_audit_list)

    p = common(sub.add_parser("withdraw", help="withdraw an object from a TLP collection (signed; SDO/SRO "
                                               "re-published as revoked, SCO removed)"))
    p.add_argument("object_id", metavar="OBJECT_ID")
    p.add_argument("--collection", required=True, help="collection id or title")
    p.add_argument("--reason", required=True, help="why (kept in the signed manifest and the audit log)")
    p.set_defaults(func=cmd_withdraw)

    p = common(sub.add_parser("auto-publish", help="publish a CSIRT's clean submissions without review"))
    p.add_argument("--org", required=True)
    p.add_argument("state", choices=["on", "off"])
    p.set_defaults(func=cmd_auto_publish)

    p = common(sub.add_parser("purge", help="drop raw submissions decided longer ago than the retention period"))
    p.set_defaults(func=cmd_purge)

    sec = sub.add_parser("secrets", help="the data directory's secrets").add_subparsers(
        dest="secrets_cmd", required=True, parser_class=parser_class)
    p = common(sec.add_parser("rotate", help="re-encrypt all data at rest under a new data key (stop hub serve first)"))
    p.set_defaults(func=cmd_secrets_rotate)

    ses = sub.add_parser("sessions", help="review-view sign-ins").add_subparsers(
        dest="sessions_cmd", required=True, parser_class=parser_class)
    p = common(ses.add_parser("list", help="open sessions: short id, key, when started, last activity"))
    p.set_defaults(func=lambda a: _sessions(a, sessions.list_sessions))
    p = common(ses.add_parser("revoke", help="end a session (its short id) or every session of a key (--key)"))
    p.add_argument("session", nargs="?")
    p.add_argument("--key", help="key id: end every session of this key")
    p.set_defaults(func=lambda a: _sessions(a, sessions.revoke, session=a.session, key_id=a.key))

    p = common(sub.add_parser("quickstart", help="set up a demo hub, push a demo submission through review, serve"))
    p.add_argument("--host", default="127.0.0.1",
                   help="address to serve on (default 127.0.0.1: this machine only; 0.0.0.0: every interface)")
    p.add_argument("--port", type=int, default=8080,
                   help="TCP port to serve on (default 8080); a port in use is refused before anything is set up")
    p.add_argument("--no-serve", action="store_true", help="set up and print, then exit")
    p.set_defaults(func=cmd_quickstart)


def _sessions(args, service, **kwargs) -> int:
    data = data_dir_arg(args.data_dir)
    return emit(args, service(data.open_store(), principal=_operator(data), **kwargs))


def _operator(data):
    return cli_operator(data.config().get("operator_org") or cli_operator().org)


def cmd_submit(args) -> int:
    result = client.submit(args.url, args.user, args.password, args.file, args.profile, tlp=args.tlp,
                           victim_ref=args.victim_ref, attribution=args.attribution,
                           input_format=args.input_format, wait=args.wait)
    if args.json:
        return emit(args, result)
    print(f"submission {result['id']}: {result['status']}")
    if result.get("message"):
        print(f"  {result['message']}")
    return 0


def cmd_verify(args) -> int:
    if args.url:
        if not (args.publication and args.user and args.password):
            raise Invalid("verify --url needs a publication id, --user and --password")
        result = client.verify_remote(args.url, args.user, args.password, args.publication, args.public_key)
    else:
        result = _verify_local(args)
    if args.json:
        emit(args, result)
    else:
        print(f"{'valid' if result['valid'] else 'NOT VALID'}: " + (", ".join(result["problems"]) or
                                                                    f"{result['objects']} objects checked"))
    return 0 if result["valid"] else EXIT_FAILED_CHECK


def _verify_local(args) -> dict:
    """Every publication in the store: signed by this hub's key, objects stored unchanged."""
    data = data_dir_arg(args.data_dir)
    if not args.public_key:
        data.check_secret_permissions()  # like every command that reads a secret: a lax key is refused
    store = data.open_store()
    key = args.public_key or Signer.from_file(data.secrets / "signing.key").public_key_b64
    problems, objects, count = [], 0, 0
    every = store.list_publications()
    withdrawn = withdrawn_ids(every, trusted_key=key)
    for pub in every:
        if args.publication and pub.id != args.publication:
            continue
        count += 1
        fetched = {}
        for item in orjson.loads(pub.manifest)["objects"]:
            objects += 1
            page = store.get_objects(pub.collection_id, ObjectFilter(ids=(item["id"],), versions=("all",)), 10_000)
            for body in page.items:
                obj = orjson.loads(body)
                fetched[(obj["id"], obj.get("modified") or obj.get("created"))] = obj
        problems += [f"{pub.id}: {p}" for p in verify_publication(pub, fetched, trusted_key=key,
                                                                          withdrawn=withdrawn)]
    if args.publication and count == 0:
        raise Invalid("no such publication")
    return {"publications": count, "objects": objects, "valid": not problems, "problems": problems}


def cmd_audit_verify(args) -> int:
    data = data_dir_arg(args.data_dir)
    store = data.open_store()
    key = Signer.from_file(data.secrets / "signing.key").public_key_b64
    exported = None
    if args.against:
        try:
            exported = orjson.loads(read_bytes(args.against, "--against"))
        except orjson.JSONDecodeError:
            raise Invalid("--against: not a checkpoint file (JSON)") from None
    count, problem = audit.verify(audit.entries(store, principal=_operator(data)), store.list_publications(), key,
                                  checkpoints=store.list_checkpoints())
    if problem is None and exported is not None:
        problem = audit.verify_against(audit.entries(store, principal=_operator(data)), exported, key)
    result = {"entries": count, "valid": problem is None, "problem": problem}
    if args.json:
        emit(args, result)
    else:
        print(f"audit log: {count} entries, " + ("chain intact" if problem is None else f"BROKEN: {problem}"))
    return 0 if problem is None else EXIT_FAILED_CHECK


def cmd_audit_checkpoint(args) -> int:
    data = data_dir_arg(args.data_dir)
    ctx = HubContext.from_datadir(data)
    exported = audit.export_checkpoint(ctx, principal=_operator(data), at=now_timestamp())
    write_atomic(args.export, orjson.dumps(exported, option=orjson.OPT_INDENT_2))
    return emit(args, {"exported": args.export, **orjson.loads(exported["checkpoint"])})


def cmd_audit_list(args) -> int:
    data = data_dir_arg(args.data_dir)
    entries = audit.latest(data.open_store(), principal=_operator(data), limit=args.limit)
    if args.json:  # JSON lines: one object per entry
        for e in entries:
            print(orjson.dumps({"seq": e.seq, "time": e.at, "actor": e.actor, "action": e.action,
                                "subject": e.subject, "details": orjson.loads(e.details), "prev_hash": e.prev_hash,
                                "hash": e.hash}).decode())
        return 0
    for e in entries:
        print(f"{e.seq:6d} {e.at} {e.actor:22s} {e.action:16s} {e.subject} {e.details}")
    return 0


def cmd_withdraw(args) -> int:
    data = data_dir_arg(args.data_dir)
    ctx = HubContext.from_datadir(data)
    return emit(args, withdrawal.withdraw(ctx, principal=_operator(data), collection=args.collection,
                                          object_id=args.object_id, reason=args.reason))


def cmd_auto_publish(args) -> int:
    """The same service, and so the same checks (a CSIRT only), as PUT /api/v1/orgs/{org}/auto-publish."""
    data = data_dir_arg(args.data_dir)
    ctx = HubContext.from_datadir(data)
    return emit(args, publication.set_auto_publish(ctx, principal=_operator(data), org=args.org,
                                                   enabled=args.state == "on"))


def cmd_purge(args) -> int:
    data = data_dir_arg(args.data_dir)
    return emit(args, {"purged": maintenance.purge(HubContext.from_datadir(data), principal=_operator(data))})


def cmd_secrets_rotate(args) -> int:
    data = data_dir_arg(args.data_dir)
    data.check_secret_permissions()
    return emit(args, maintenance.rotate(data, data.open_store(), principal=_operator(data)))


def cmd_quickstart(args) -> int:
    return quickstart(args)


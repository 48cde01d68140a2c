"""`hub quickstart`: one command on a fresh machine shows the whole flow on made-up data.

It initialises a data directory, registers demo organisations (two CSIRTs, one peer SOC, all in
one sector so DI-16 can name it), keys and an NDA agreement, pushes the demo submissions
through the sanitiser, reviews and publishes one of them, leaves another in the analysts'
queue, then serves and prints the URLs and keys to open. Run again, it reuses what it made.
"""
from __future__ import annotations

import errno
import json
import os
import socket
import sys
from importlib import resources

from .admin import data_dir_arg, init
from .context import HubContext
from .errors import Invalid
from .feed import serve
from .services import accounts, agreements, publication, review, submissions
from .services.permissions import cli_operator
from .store.base import SubmissionFilter

KEYS_FILE = "quickstart-keys.json"  # demo keys, mode 0600: a real hub shows keys once and keeps none
CSIRT, SECOND_CSIRT, PEER = "sakura-csirt", "momiji-csirt", "kaede-soc"
CASE = "CASE-2025-014"


def _demo(name: str) -> str:
    return resources.files("hub").joinpath("demo", name).read_text(encoding="utf-8")


def _setup(data) -> dict:
    created = init(data, None)
    store = data.open_store()
    operator = cli_operator(created["operator_org"])
    for name, kind in ((CSIRT, "csirt"), (SECOND_CSIRT, "csirt"), (PEER, "peer")):
        accounts.add_org(store, principal=operator, name=name, org_type=kind, sector="manufacturing", region="JP")
    keys = {
        "admin": created["admin_key"],
        "analyst": accounts.create_key(store, principal=operator, org=created["operator_org"], role="analyst"),
        "submitter": accounts.create_key(store, principal=operator, org=CSIRT, role="submitter"),
        "consumer": accounts.create_key(store, principal=operator, org=PEER, role="consumer"),
    }
    clauses = tuple(f"NDA-{n:02d}" for n in range(1, 11))
    agreements.add_agreement(store, principal=operator, org=CSIRT, victim_ref=CASE, signed_on="2025-04-01",
                             expires=None, clauses=None, all_clauses=clauses)
    ctx = HubContext.from_datadir(data, store)
    principal = lambda k: store.authenticate(k["key_id"], k["key"].split(".", 1)[1])  # noqa: E731
    profile = json.loads(_demo("profile.json"))
    # 1) the STIX demo: sanitised, holds released by the analyst, approved and published.
    first = submissions.submit(ctx, principal=principal(keys["submitter"]),
                               body={"bundle": json.loads(_demo("submission.json")), "victim_profile": profile,
                                     "tlp": "green", "victim_ref": CASE})
    analyst = principal(keys["analyst"])
    for hold in json.loads(first.report)["holds"]:
        review.release_hold(ctx, principal=analyst, submission_id=first.id, obj=hold["object"],
                            justification="quickstart demo: released to show a publication")
    publication.approve(ctx, principal=analyst, submission_id=first.id)
    # 2) a Japanese text IOC list: waits in the queue for you to review.
    second = submissions.submit(ctx, principal=principal(keys["submitter"]),
                                body={"text": _demo("iocs.txt"), "victim_profile": profile, "tlp": "green",
                                      "victim_ref": CASE})
    state = {"keys": keys, "published": first.id, "waiting": second.id}
    path = data.path / KEYS_FILE
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(state, fh, indent=2)
    return state


def check_port(host: str, port: int) -> None:
    """Exit 2 (Invalid) when the server could not listen there: checked before anything is
    created or printed, so a busy port leaves no half-made hub behind."""
    if not 0 < port < 65536:
        raise Invalid(f"--port must be between 1 and 65535 (got {port})")
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        raise Invalid(f"--host {host!r} is not an address of this machine") from None
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the server does
        try:
            probe.bind(address)
        except OSError as exc:
            reason = "is in use" if exc.errno == errno.EADDRINUSE else f"cannot be used ({exc.strerror})"
            raise Invalid(f"port {port} on {host} {reason}; choose another with --port "
                          f"(e.g. --port {port + 1 if port < 65535 else 8081})") from None


def _queue_lines(store, base: str) -> list[str]:
    """The review queue as it is now (a second run shows what happened since the first)."""
    waiting = store.list_submissions(SubmissionFilter(status="review", oldest_first=True), limit=1000)
    published = store.list_submissions(SubmissionFilter(status="published"), limit=1000)
    if not waiting:
        return [f"      review queue:                   empty ({len(published)} published)"]
    return [f"      review queue:                   {len(waiting)} waiting, {len(published)} published",
            f"      oldest waiting:                 {base}/review/submissions/{waiting[0].id}"]


def quickstart(args) -> int:
    if not args.no_serve:
        check_port(args.host, args.port)
    data = data_dir_arg(args.data_dir)
    if data.exists() and (data.path / KEYS_FILE).is_file():
        state = json.loads((data.path / KEYS_FILE).read_text(encoding="utf-8"))
        print(f"hub: reusing the quickstart hub in {data.path}", file=sys.stderr)
    elif data.exists():
        raise Invalid(f"{data.path} already holds a hub that quickstart did not create; "
                       "pass --data-dir to an empty directory")
    else:
        state = _setup(data)
    store = data.open_store()
    green = store.find_collection("TLP:GREEN")
    base = f"http://{args.host}:{args.port}"
    keys = state["keys"]
    lines = [
        "",
        "攻撃技術情報 非特定化共有ハブ — quickstart (demo data, made-up victim)",
        f"  data directory: {data.path}   (demo keys also in {data.path / KEYS_FILE})",
        "",
        f"  Review web view / レビュー画面:  {base}/review/",
        f"      sign in with the analyst key:   {keys['analyst']['key']}",
        *_queue_lines(store, base),
        f"  TAXII 2.1 discovery:            {base}/taxii2/",
        f"      TLP:GREEN collection:           {base}/hub/collections/{green.id}/objects/",
        f"      peer SOC key (user:password):   {keys['consumer']['key_id']} : {keys['consumer']['key']}",
        f"  Submission API (OpenAPI):       {base}/api/openapi.json",
        "",
        "  Try, in another terminal:",
        f"    .venv/bin/hub poll {base}/hub/ --collection {green.id} --user {keys['consumer']['key_id']} "
        f"--password {keys['consumer']['key']} -o pulled/",
        f"    .venv/bin/hub submit hub/demo/iocs.txt --profile hub/demo/profile.json --victim-ref {CASE} "
        f"--url {base} --user {keys['submitter']['key_id']} --password {keys['submitter']['key']}",
        f"    .venv/bin/hub verify --data-dir {data.path}      .venv/bin/hub audit verify --data-dir {data.path}",
        "",
    ]
    print("\n".join(lines), flush=True)
    if args.no_serve:
        return 0
    print("Ctrl-C stops the server.", flush=True)
    return serve(data, args.host, args.port, 8)

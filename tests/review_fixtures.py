"""A hub set up for the submission and review flow, through the CLI as an operator would:
a CSIRT with a submitter key and an NDA for CASE-1, a second CSIRT, a peer consumer, and the
operator's analyst and admin keys. Demo data: hub/demo (the victim strings tests look for)."""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import contextlib
import io

from conftest import ROOT
from hub.cli import main as hub_main


def hub(*args: str, data_dir: Path) -> dict:
    """The hub CLI in this process (the same code path as the console script, without a
    Python start-up per command), returning its --json output."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = hub_main([*args, "--data-dir", str(data_dir), "--json"])
    assert code == 0, f"hub {args[0]} exited {code}"
    return json.loads(out.getvalue())

DEMO = ROOT / "hub" / "demo"


def demo(name: str):
    return json.loads((DEMO / name).read_text(encoding="utf-8"))


def victim_strings() -> list[str]:
    """Every string of the demo victim profile (what must never appear in clear)."""
    profile = demo("profile.json")
    values = []
    for key, value in profile.items():
        if isinstance(value, list):
            values += [v for v in value if isinstance(v, str)]
    return [v for v in values if len(v) >= 4 and "/" not in v]  # CIDR ranges are checked as addresses


@dataclass
class Keys:
    data_dir: Path
    admin: dict        # operator admin
    analyst: dict      # operator analyst
    submitter: dict    # csirt-a submitter
    submitter_b: dict  # csirt-b submitter
    consumer: dict     # peer-b consumer
    csirt_consumer: dict  # csirt-a consumer (reads the feed)
    inbox_a: str       # csirt-a's TAXII inbox collection id


def setup_hub(data_dir: Path, database_url: str | None = None) -> Keys:
    init = hub("init", *(["--database-url", database_url] if database_url else []), data_dir=data_dir)
    org_a = hub("org", "add", "csirt-a", "--type", "csirt", "--sector", "manufacturing", "--region", "JP",
                data_dir=data_dir)
    hub("org", "add", "csirt-b", "--type", "csirt", "--sector", "finance", "--region", "JP", data_dir=data_dir)
    hub("org", "add", "peer-b", "--type", "peer", data_dir=data_dir)
    keys = Keys(
        data_dir=data_dir,
        admin=init["admin_key"],
        analyst=hub("key", "create", "--org", init["operator_org"], "--role", "analyst", data_dir=data_dir),
        submitter=hub("key", "create", "--org", "csirt-a", "--role", "submitter", data_dir=data_dir),
        submitter_b=hub("key", "create", "--org", "csirt-b", "--role", "submitter", data_dir=data_dir),
        consumer=hub("key", "create", "--org", "peer-b", "--role", "consumer", data_dir=data_dir),
        csirt_consumer=hub("key", "create", "--org", "csirt-a", "--role", "consumer", data_dir=data_dir),
        inbox_a=org_a["inbox"],
    )
    hub("agreement", "add", "--org", "csirt-a", "--victim-ref", "CASE-1", "--signed-on", "2025-01-01",
        data_dir=data_dir)
    return keys


def auth(key: dict) -> tuple[str, str]:
    """HTTP Basic credentials of a key (user = key id, password = the whole key)."""
    return key["key_id"], key["key"]


def submit_processed(ctx, **kwargs):
    """Submit through the service (queued, 202), then run the worker over the queue in this thread,
    as `hub serve`'s worker thread does at once: the submission as the worker left it."""
    from hub.services.submissions import submit
    from hub.worker import Worker

    sub = submit(ctx, **kwargs)
    assert sub.status == "queued"
    Worker(ctx).drain()
    return ctx.store.get_submission(sub.id)

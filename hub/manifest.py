"""A publication's manifest and its checks, shared by the hub (which signs) and a peer's
`hub verify` (which checks): canonical bytes, object digests, signature and content checks."""
from __future__ import annotations

import hashlib
import json
from typing import Callable

from .crypto import Signer, verify_signature
from .store.base import Publication

WITHDRAWAL = "hub-withdrawal"  # the manifest type of a withdrawal (hub.services.withdrawal)
CHECKPOINT = "hub-audit-checkpoint"  # a signed (seq, hash) of the audit log


def canonical(obj) -> bytes:
    """The bytes that are hashed and signed: sorted keys, no white space, UTF-8."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def object_digest(obj: dict) -> str:
    """SHA-256 of an object's canonical JSON."""
    return hashlib.sha256(canonical(obj)).hexdigest()


def checkpoint_body(seq: int, digest: str, at: str) -> bytes:
    """The signed bytes of an audit checkpoint (stored ones and `hub audit checkpoint --export`)."""
    return canonical({"type": CHECKPOINT, "seq": seq, "hash": digest, "at": at})


def checkpoint_signer(signer: Signer) -> Callable[[int, str, str], tuple[str, str, str]]:
    """The store's checkpointer: (seq, hash, at) -> (body, signature, public key)."""
    def sign(seq: int, digest: str, at: str) -> tuple[str, str, str]:
        body = checkpoint_body(seq, digest, at)
        return body.decode("utf-8"), signer.sign(body), signer.public_key_b64
    return sign


def checkpoint_fields(body: str, signature: str, public_key: str) -> tuple[int, str] | None:
    """(seq, hash) of a checkpoint whose signature by `public_key` is valid, else None."""
    try:
        point = json.loads(body)
        if point.get("type") != CHECKPOINT or not verify_signature(public_key, body.encode("utf-8"), signature):
            return None
        return int(point["seq"]), str(point["hash"])
    except (KeyError, TypeError, ValueError, AttributeError):
        return None


def withdrawn_ids(publications: list[Publication], trusted_key: str | None = None) -> set[str]:
    """Ids that validly signed withdrawal manifests removed (SCOs have no revoked version):
    verifying an earlier publication, those are accounted for, not missing."""
    out = set()
    for pub in publications:
        manifest = json.loads(pub.manifest)
        if manifest.get("type") != WITHDRAWAL:
            continue
        key = trusted_key or pub.public_key
        if verify_signature(key, pub.manifest.encode("utf-8"), pub.signature):
            out |= {w["id"] for w in manifest.get("withdrawn", []) if w.get("kind") == "removed"}
    return out


def verify_publication(publication: Publication, fetched: dict[tuple[str, str], dict] | None = None,
                       trusted_key: str | None = None, withdrawn: set[str] | frozenset = frozenset()) -> list[str]:
    """Problems found (empty = valid): signature over the manifest by the (trusted) key, and,
    when `fetched` ((id, version) -> object as received) is given, every listed object present
    and unchanged, or removed by a signed withdrawal (`withdrawn`)."""
    problems = []
    key = trusted_key or publication.public_key
    if trusted_key and publication.public_key != trusted_key:
        problems.append("signed by a key other than the hub's")
    if not verify_signature(key, publication.manifest.encode("utf-8"), publication.signature):
        problems.append("signature does not match the manifest")
    if fetched is not None:
        manifest = json.loads(publication.manifest)
        for item in manifest["objects"]:
            got = fetched.get((item["id"], item["version"]))
            if got is None and item["id"] in withdrawn:
                continue
            if got is None:
                problems.append(f"{item['id']} is missing")
            elif object_digest(got) != item["sha256"]:
                problems.append(f"{item['id']} differs from what was signed")
    return problems

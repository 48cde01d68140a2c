"""A publication's manifest and its checks, shared by the hub (which signs) and a peer's
`hub verify` (which checks): canonical bytes, object digests, signature and content checks."""
from __future__ import annotations

import hashlib
import json

from .crypto import verify_signature
from .store.base import Publication

WITHDRAWAL = "hub-withdrawal"  # the manifest type of a withdrawal (hub.services.withdrawal)


def canonical(obj) -> bytes:
    """The bytes that are hashed and signed: sorted keys, no white space, UTF-8."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def object_digest(obj: dict) -> str:
    """SHA-256 of an object's canonical JSON."""
    return hashlib.sha256(canonical(obj)).hexdigest()


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

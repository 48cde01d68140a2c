"""DI-02: the producer. Every `created_by_ref` becomes the hub's identity, unless the submitter
asked to be named (policy `attribution`) and the creator is not the victim."""
from __future__ import annotations

from ..policy import Policy
from .di13_ids import keyed_uuid

RULE_ID = "DI-02"
TITLE = "Producer (created_by_ref of the submitting CSIRT)"
ACTION = "replace with the hub's identity unless the submitter asked to be named"
HUB_IDENTITY_CREATED = "2025-01-01T00:00:00.000Z"


def hub_identity(policy: Policy, secret: bytes) -> dict:
    """The hub's own identity object (stable for one hub secret)."""
    return {
        "type": "identity", "spec_version": "2.1",
        "id": "identity--" + keyed_uuid(secret, "hub-identity"),
        "created": HUB_IDENTITY_CREATED, "modified": HUB_IDENTITY_CREATED,
        "name": policy.hub_name, "identity_class": "organization",
        "description": "攻撃技術情報の非特定化共有ハブ / De-identified attack-technique sharing hub",
    }


def producers(objects: list[dict]) -> set[str]:
    """Original ids of every identity used as created_by_ref."""
    return {o["created_by_ref"] for o in objects if isinstance(o.get("created_by_ref"), str)}

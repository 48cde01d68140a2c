"""Checks on what a caller sends: the shape of a submission request, a victim reference, a
profile, the tree of a JSON body. Messages name the field, never the value."""
from __future__ import annotations

from dataclasses import dataclass

from sanitizer import BadInput, VictimProfile

from ..domain import TLP_LEVELS
from ..errors import Invalid

INPUT_KINDS = ("bundle", "csv", "text")
FORMAT_OF = {"bundle": "stix", "csv": "csv", "text": "text"}
SUBMISSION_FIELDS = frozenset({*INPUT_KINDS, "victim_profile", "profile_id", "tlp", "victim_ref", "attribution"})
MAX_REF = 200
MAX_NAME = 200
# orjson re-serialises (sealing, storing) at most 254 levels; no STIX bundle needs a fraction of that.
MAX_DEPTH = 100


@dataclass(frozen=True)
class SubmissionRequest:
    """A checked submission request (the profile is given inline or by a registered id)."""

    source_input: dict  # {"format": stix|csv|text, "data": ...}
    profile: dict | None
    profile_id: str | None
    tlp: str | None
    victim_ref: str | None
    attribution: bool


def check_tree(body: object) -> None:
    """No NUL in any text (PostgreSQL refuses it) and no nesting beyond MAX_DEPTH; iterative,
    so a hostile body cannot exhaust the stack."""
    stack = [(body, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, str):
            if "\x00" in value:
                raise Invalid("text must not contain NUL characters")
            continue
        if not isinstance(value, (dict, list)):
            continue
        if depth > MAX_DEPTH:
            raise Invalid(f"the request body is nested more than {MAX_DEPTH} levels deep")
        if isinstance(value, dict):
            if any("\x00" in k for k in value):
                raise Invalid("text must not contain NUL characters")
            value = value.values()
        stack.extend((v, depth + 1) for v in value)


def victim_ref(value: object, field: str = "'victim_ref'") -> str | None:
    """A case reference: None, or 1 to MAX_REF characters (stripped)."""
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip() or len(value) > MAX_REF:
        raise Invalid(f"{field} must be a non-empty string of at most {MAX_REF} characters")
    return value.strip()


def name(value: object, field: str = "name") -> str:
    """A display name: 1 to MAX_NAME characters (stripped)."""
    if not isinstance(value, str) or not value.strip() or len(value) > MAX_NAME:
        raise Invalid(f"{field} must be a non-empty string of at most {MAX_NAME} characters")
    return value.strip()


def flag(value: object, field: str) -> bool:
    """true or false."""
    if not isinstance(value, bool):
        raise Invalid(f"{field} must be true or false")
    return value


def tlp(value: object, field: str = "'tlp'") -> str:
    """One of the shareable TLP levels."""
    if value not in TLP_LEVELS:
        raise Invalid(f"{field} must be one of {', '.join(TLP_LEVELS)} (TLP:RED is never shared)")
    return value


def profile(document: object, field: str = "profile") -> VictimProfile:
    """A victim profile; the sanitiser's message names the field (as `field`), never the value."""
    try:
        return VictimProfile.from_dict(document)
    except BadInput as exc:
        message = str(exc)
        if field != "profile" and message.startswith("profile:"):
            message = field + ":" + message[len("profile:"):]
        raise Invalid(message) from None


def submission_request(body: object) -> SubmissionRequest:
    """The shape of a submission request (the profile document itself is checked later)."""
    if not isinstance(body, dict):
        raise Invalid("the request body must be a JSON object")
    unknown = sorted(set(body) - SUBMISSION_FIELDS)
    if unknown:
        # Never the key: it is input, and a victim's name fits in it.
        raise Invalid(f"the body has a field that is not allowed (allowed: {', '.join(sorted(SUBMISSION_FIELDS))})")
    kinds = [k for k in INPUT_KINDS if k in body]
    if len(kinds) != 1:
        raise Invalid("give exactly one of 'bundle', 'csv' or 'text'")
    kind = kinds[0]
    data = body[kind]
    if kind == "bundle" and not isinstance(data, dict):
        raise Invalid("'bundle' must be a STIX 2.1 bundle object")
    if kind != "bundle" and not isinstance(data, str):
        raise Invalid(f"'{kind}' must be a string")
    if ("victim_profile" in body) == ("profile_id" in body):
        raise Invalid("give exactly one of 'victim_profile' or 'profile_id'")
    if "profile_id" in body and not isinstance(body["profile_id"], str):
        raise Invalid("'profile_id' must be a string")
    return SubmissionRequest(
        source_input={"format": FORMAT_OF[kind], "data": data}, profile=body.get("victim_profile"),
        profile_id=body.get("profile_id"), tlp=body.get("tlp"), victim_ref=body.get("victim_ref"),
        attribution=body.get("attribution", False))

"""Who may do what: every role rule of the hub, in one place (like OpenTAXII's manager).

Services call these before they change anything; entry points never check a role themselves.
"""
from __future__ import annotations

from dataclasses import replace

from ..context import HubContext
from ..domain import OPERATOR_ORG, REVIEW_ROLES
from ..errors import Forbidden, Invalid, Missing
from ..store.base import Principal, Submission

# The hub itself: the sanitising pipeline, auto-publish and the scheduled purge.
HUB = Principal(key_id="hub", org=OPERATOR_ORG, role="admin", org_type="operator")


def cli_operator(org: str = OPERATOR_ORG) -> Principal:
    """Whoever runs the `hub` CLI on the data directory: the operator's administrator."""
    return Principal(key_id="cli", org=org, role="admin", org_type="operator")


def is_reviewer(principal: Principal | None) -> bool:
    """The hub's analysts and administrators (operator organisation) review submissions."""
    return principal is not None and principal.org_type == "operator" and principal.role in REVIEW_ROLES


def require_key(principal: Principal | None) -> Principal:
    """Any valid key."""
    if principal is None:
        raise Forbidden("a key is required")
    return principal


def require_submitter(principal: Principal | None) -> Principal:
    """A CSIRT's submitter key: submits and manages its own registered profiles."""
    if principal is None:
        raise Forbidden("a submitter key is required")
    if principal.role != "submitter" or principal.org_type != "csirt":
        raise Forbidden("only a CSIRT's submitter key may submit")
    return principal


def require_reviewer(principal: Principal | None) -> Principal:
    """The hub's analysts and administrators."""
    if not is_reviewer(principal):
        raise Forbidden("only the hub's analysts may review submissions")
    return principal


def require_admin(principal: Principal | None) -> Principal:
    """The hub's administrators (the operator organisation's admin keys, and the CLI)."""
    if principal is None or not (principal.org_type == "operator" and principal.role == "admin"):
        raise Forbidden("only the hub's administrators may do this")
    return principal


def require_list_scope(principal: Principal | None, org: str | None) -> str | None:
    """The organisation whose submissions the caller may list (None: all, for reviewers)."""
    if is_reviewer(principal):
        return org
    require_submitter(principal)
    if org is not None and org != principal.org:
        raise Forbidden("a submitter sees only its own organisation's submissions")
    return principal.org


def require_visible(principal: Principal | None, sub: Submission | None) -> Submission:
    """A submission the caller may see: its own organisation's, or any for the hub's analysts.
    Another CSIRT's submission is not even confirmed to exist."""
    require_key(principal)
    if sub is None or not (is_reviewer(principal) or (principal.role == "submitter" and principal.org == sub.org)):
        raise Missing("no such submission")
    return sub


def visible_submission(ctx: HubContext, *, principal: Principal | None, submission_id: object,
                       light: bool = False) -> Submission:
    """The submission `submission_id` if the caller may see it (Missing otherwise); `light`: as
    `Store.get_submission` reads it for a status (no sealed data, no draft)."""
    require_key(principal)
    sub = ctx.store.get_submission(submission_id, light=light) if isinstance(submission_id, str) else None
    return require_visible(principal, sub)


# TLP collections are written only by publication (issue 12): approval, the operator's
# `hub publish` and withdrawals. Said to whoever tries to write one over TAXII.
PUBLICATION_ONLY = ("TLP collections are written only by publication: a CSIRT submits through its "
                    "TAXII inbox (INBOX:<organisation>) or POST /api/v1/submissions. "
                    "TLP コレクションへの書き込みは公開手続きのみです。CSIRT は自組織の TAXII 受付"
                    "（INBOX:<組織名>）または POST /api/v1/submissions から提出してください。")


def refuse_write_to_published(collection) -> None:
    """Nobody adds objects to a TLP collection directly (Forbidden)."""
    if collection.tlp is not None:
        raise Forbidden(PUBLICATION_ONLY)


def check_write_grant(org_type: str, collection) -> None:
    """A member organisation may not hold a write grant on a TLP collection (Invalid, exit 2)."""
    if collection.tlp is not None and org_type != "operator":
        raise Invalid("a member organisation may not write a TLP collection: TLP collections are written "
                      "only by publication (approval, `hub publish`); CSIRTs submit through their inbox / "
                      "TLP コレクションへの書き込み権限は付与できません（公開手続きのみ）")


def require_confirmer(principal: Principal | None) -> Principal:
    """A member organisation's submitter or consumer key confirms a published indicator (issue 15);
    it counts for the organisation, which must read the indicator's collection (checked as its
    consumer would be). The hub's own keys confirm nothing."""
    require_key(principal)
    if principal.org_type == "operator" or principal.role not in ("submitter", "consumer"):
        raise Forbidden("confirmations come from member organisations' submitter or consumer keys")
    return replace(principal, role="consumer")

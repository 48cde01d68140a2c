"""Consent-gated sharing: a CSIRT may publish a victim's de-identified attack-technique
information only while an NDA with that victim allows it ([NDA] sharing clause), and not after
the victim objected. `publication_gate` answers for one (CSIRT, victim reference) on a day.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from ..errors import Invalid, Missing, WrongState
from ..store.base import Agreement, Conflict, NotFound, Principal, Store
from . import audit, permissions

# The clause that permits sharing de-identified attack-technique information without per-case
# consent; an agreement without it does not cover publication.
SHARING_CLAUSE = "NDA-03"
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_CLAUSE = re.compile(r"^NDA-\d{2}$")


@dataclass(frozen=True)
class GateDecision:
    """Whether publication may go ahead, the agreement status, and a message for the analyst."""

    allowed: bool
    status: str  # active | none | not-yet-valid | expired | withdrawn | missing-clause
    message: str


def parse_date(value: str, what: str) -> str:
    """A YYYY-MM-DD date, or Invalid naming the option."""
    if not _DATE.match(value or ""):
        raise Invalid(f"{what} must be a date like 2025-04-01")
    try:
        date.fromisoformat(value)
    except ValueError:
        raise Invalid(f"{what} is not a valid date") from None
    return value


def publication_gate(store: Store, org: str, victim_ref: str | None, today: date) -> GateDecision:
    """May `org` publish what it submitted for `victim_ref` today?"""
    if not victim_ref:
        return GateDecision(False, "none", "the submission names no victim_ref, so no agreement can cover it")
    agreement = store.get_agreement(org, victim_ref)
    day = today.isoformat()
    if agreement is None:
        return GateDecision(False, "none", "no agreement of this CSIRT covers this victim reference")
    if agreement.withdrawn_on and agreement.withdrawn_on <= day:
        return GateDecision(False, "withdrawn", f"the victim objected to sharing from {agreement.withdrawn_on}")
    if agreement.signed_on > day:
        return GateDecision(False, "not-yet-valid", f"the agreement takes effect on {agreement.signed_on}")
    if agreement.expires and agreement.expires < day:
        return GateDecision(False, "expired", f"the agreement expired on {agreement.expires}")
    if SHARING_CLAUSE not in agreement.clauses:
        return GateDecision(False, "missing-clause", f"the agreement does not include {SHARING_CLAUSE} (sharing)")
    return GateDecision(True, "active", "an active agreement covers sharing")


# -- actions -----------------------------------------------------------------------------------

def add_agreement(store: Store, *, principal: Principal, org: str, victim_ref: str, signed_on: str,
                  expires: str | None, clauses: str | None, all_clauses: tuple[str, ...]) -> dict:
    """Register an NDA agreement between a CSIRT and a victim (named by the CSIRT's reference)."""
    permissions.require_admin(principal)
    signed = parse_date(signed_on, "--signed-on")
    ends = parse_date(expires, "--expires") if expires else None
    if ends and ends < signed:
        raise Invalid("--expires is before --signed-on")
    chosen = tuple(c.strip().upper() for c in clauses.split(",") if c.strip()) if clauses else all_clauses
    unknown = [c for c in chosen if not _CLAUSE.match(c) or c not in all_clauses]
    if unknown:
        raise Invalid(f"--clauses: unknown clause id {unknown[0]} (known: {', '.join(all_clauses)})")
    if not victim_ref.strip() or len(victim_ref) > 200:
        raise Invalid("--victim-ref must be 1 to 200 characters")
    try:
        with store.transaction():
            a = store.add_agreement(Agreement(org, victim_ref.strip(), signed, ends, chosen))
            audit.record(store, principal, "agreement-add", org, {"signed_on": signed, "expires": ends,
                                                                  "clauses": list(chosen)})
    except NotFound:
        raise Missing(f"unknown organisation {org!r}") from None
    except Conflict:
        raise WrongState("this organisation already has an agreement for that victim reference") from None
    return {"agreement": a.__dict__}


def list_agreements(store: Store, *, principal: Principal, org: str | None) -> dict:
    """Agreements, of one organisation or all."""
    permissions.require_admin(principal)
    return {"agreements": [a.__dict__ for a in store.list_agreements(org)]}


def withdraw_agreement(store: Store, *, principal: Principal, victim_ref: str, org: str | None, on: str | None,
                       today: date) -> dict:
    """The victim objects to sharing from `on` (default today) on."""
    permissions.require_admin(principal)
    day = parse_date(on, "--on") if on else today.isoformat()
    matches = [a for a in store.list_agreements(org) if a.victim_ref == victim_ref]
    if not matches:
        raise Missing("no agreement with that victim reference")
    if len(matches) > 1:
        raise Invalid("several organisations use that victim reference: say which with --org")
    with store.transaction():
        a = store.withdraw_agreement(matches[0].org, victim_ref, day)
        audit.record(store, principal, "agreement-withdraw", a.org, {"on": day})
    return {"agreement": a.__dict__}

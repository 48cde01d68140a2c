"""The services' and the sanitiser's canonical English, in the page's language: refusals
(hub.errors), agreement-gate messages, hold reasons and redaction actions. Each known form is a
pattern and a key of the one catalogue (`catalogue.json`); a form it does not know is shown as
written (a test renders every page in Japanese and fails on English left over)."""
from __future__ import annotations

import re

from .i18n import translate

# Service refusals (hub.errors, canonical English) as catalogue keys: the pattern and its key.
_SERVICE = [
    (r"release or resolve every hold .*", "svc.holds_open"),
    (r"the submission is (?P<status>\w+); only drafts in review can be (changed|approved)", "svc.wrong_state"),
    (r"the submission changed meanwhile.*", "svc.changed"),
    (r"no open hold on that object", "svc.no_hold"),
    (r"no open hold on this submission", "svc.no_holds"),
    (r"a written justification of .*", "svc.justification"),
    (r"a reason \(.*\) is required to reject", "svc.reason"),
    (r"refused by the leak gate \((?P<where>.*)\); the draft is unchanged", "svc.leak_gate"),
    (r"refused by the leak gate \((?P<where>.*)\); nothing was published", "svc.leak_gate_publish"),
    (r"publication refused: (?P<message>.*) \(agreement status: (?P<status>[\w-]+)\); the draft is kept",
     "svc.agreement"),
    (r"'(value|field)' (must be|is not a valid).*", "svc.bad_value"),
    (r"no such redaction in this draft", "svc.no_redaction"),
    (r"that redaction is already undone", "svc.already_undone"),
    (r"this redaction removed an object .*", "svc.not_undoable"),
    (r"no such submission", "svc.no_such_submission"),
]
_SERVICE_RE = [(re.compile(p, re.S), key) for p, key in _SERVICE]


def service_message(lang: str, message: str) -> str:
    """A service's refusal in the page's language (a refusal the catalogue does not know stays as written)."""
    for pattern, key in _SERVICE_RE:
        found = pattern.fullmatch(message)
        if found:
            values = found.groupdict()
            if "status" in values and key == "svc.wrong_state":
                values["status"] = translate(lang, "status." + values["status"])
            if key == "svc.agreement":
                values["message"] = gate_message(lang, values["message"])
            return translate(lang, key, **values)
    return message


_ACTIONS = [(re.compile(p, re.S), key) for p, key in [
    (r"replaced with (?P<r>.+)", "rx.replaced"),
    (r"object dropped: (?P<why>.+)", "rx.dropped"),
    (r"property dropped: wrong type", "rx.prop_wrong_type"),
    (r"property dropped \(names people\)", "rx.prop_people"),
    (r"property dropped", "rx.prop_dropped"),
    (r"(?P<n>\d+) older versions dropped", "rx.versions"),
    (r"victim (?P<what>[\w-]+) generalised", "rx.victim_generalised"),
    (r"producer replaced by the hub identity", "rx.producer"),
    (r"location generalised to region/country", "rx.location"),
    (r"coarsened", "rx.coarsened"),
    (r"recipients removed", "rx.recipients"),
    (r"e-mail body dropped", "rx.body"),
    (r"extension dropped", "rx.extension"),
    (r"reference dropped", "rx.reference"),
    (r"operand removed", "rx.operand"),
    (r"list value removed", "rx.list_value"),
    (r"timestamp comparison removed", "rx.ts_comparison"),
    (r"comparison removed", "rx.comparison"),
    (r"value generalised to LIKE", "rx.like"),
]]
_WHY = [(re.compile(p), key) for p, key in [
    (r"custom or unsupported object type", "why.custom"),
    (r"translation of a victim object", "why.translation"),
    (r"location finer than a country", "why.location"),
    (r"victim account", "why.account"),
    (r"attacker host embeds a victim token", "why.lookalike"),
    (r"recipient address", "why.recipient"),
    (r"artifact payload", "why.payload"),
    (r"no attacker comparison left in the pattern", "why.no_comparison"),
    (r"marked TLP:RED; never shared", "why.red"),
    (r"victim value \((?P<kind>[\w -]+)\)", "why.victim_value"),
    (r"victim (?P<what>[\w-]+)", "why.victim"),
    (r"(?P<what>[\w-]+) objects are not shared \(policy\)", "why.policy"),
    (r"not valid STIX 2\.1: required property (?P<prop>\S+) missing", "why.invalid"),
]]
_GATE = [(re.compile(p), key) for p, key in [
    (r"the submission names no victim_ref, so no agreement can cover it", "gate.no_ref"),
    (r"no agreement of this CSIRT covers this victim reference", "gate.none"),
    (r"the victim objected to sharing from (?P<day>\S+)", "gate.withdrawn"),
    (r"the agreement takes effect on (?P<day>\S+)", "gate.not_yet"),
    (r"the agreement expired on (?P<day>\S+)", "gate.expired"),
    (r"the agreement does not include (?P<clause>\S+) \(sharing\)", "gate.missing_clause"),
    (r"an active agreement covers sharing", "gate.active"),
]]
# A hold's reason starts with its rule id; the sanitiser's wording after it may change, the
# rule's translation does not depend on it.
_HOLDS = {"DI-17": "hold.DI-17", "DI-04": "hold.DI-04", "DI-12": "hold.DI-12"}


def _first(table, lang: str, text: str) -> str | None:
    for pattern, key in table:
        found = pattern.fullmatch(text)
        if found:
            return translate(lang, key, **found.groupdict())
    return None


def action_text(lang: str, action: str) -> str:
    """A redaction report's `action` (the sanitiser's prose) in the page's language."""
    found = next(((p.fullmatch(action), key) for p, key in _ACTIONS if p.fullmatch(action)), None)
    if found is None:
        return action
    values = found[0].groupdict()
    if "why" in values:
        values["why"] = _first(_WHY, lang, values["why"]) or values["why"]
    return translate(lang, found[1], **values)


def gate_message(lang: str, message: str) -> str:
    """The agreement gate's message in the page's language."""
    return _first(_GATE, lang, message) or message


def hold_reason(lang: str, reason: str) -> str:
    """A hold's reason in the page's language."""
    key = _HOLDS.get(reason.split(" ", 1)[0])
    return translate(lang, key) if key else reason

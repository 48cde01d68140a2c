"""What happens to each input object: dropped, generalised, aliased, or kept with its pattern rebuilt.

A mixin of the engine's per-submission run (`engine._Run`): it reads and writes the run's state."""
from __future__ import annotations

from . import netviews
from .errors import BadInput
from .rules import (
    di06_email_addresses,
    di08_user_accounts,
    di09_timestamps,
    di12_patterns,
    di13_ids,
    di14_payloads,
    di15_custom_content,
    di17_unique_infrastructure,
)
from .rules.di12_patterns import Verdict
from .stixmeta import (
    ALLOWED,
    TLP2_IDS,
    TLP_LEVEL_OF_ID,
    tlp_level_of,
)
from .validate import missing_required

# SCOs whose whole identity is one value: any victim finding in it drops the object.
VALUE_SCOS = {"domain-name", "url", "email-addr", "ipv4-addr", "ipv6-addr", "mac-addr"}
# Objects that are meaningless once every reference they need is gone.
REQUIRED_REFS = {
    "relationship": ("source_ref", "target_ref"), "sighting": ("sighting_of_ref",),
    "language-content": ("object_ref",),
}
NONEMPTY_REFS = {"observed-data": "object_refs", "report": "object_refs", "grouping": "object_refs",
                 "note": "object_refs", "opinion": "object_refs"}
_TRIVIAL = {"type", "id", "spec_version", "object_marking_refs", "granular_markings", "defanged"}
LOOKALIKE = "DI-04 look-alike attacker host embeds a victim token"
_HOST_TYPES = {"domain-name", "url", "email-addr"}
_NAME_KINDS = {"org", "domain-label", "keyword", "person", "host"}


def _is_lookalike(stix_type: str, found) -> bool:
    """A host name that embeds a victim name but is not under a victim domain (typosquat)."""
    return stix_type in _HOST_TYPES and any(f.kind in _NAME_KINDS for f in found) and not any(
        f.kind in ("domain", "email") for f in found)


class DecisionsMixin:
    """What happens to each input object: dropped, generalised, aliased, or kept with its pattern rebuilt."""

    # ------------------------------------------------------------------ decisions
    def _drop(self, obj: dict, rule: str, why: str) -> None:
        self.dropped[obj["id"]] = rule
        self.report.add(rule, f"{obj['type']} (dropped)", "", f"object dropped: {why}", state="dropped",
                        original_id=obj["id"])

    def _decide(self, obj: dict) -> None:
        oid, t = obj["id"], obj["type"]
        self.input_tlps.extend(TLP_LEVEL_OF_ID[r] for r in obj.get("object_marking_refs") or []
                               if r in TLP_LEVEL_OF_ID)
        if t == "marking-definition":
            level = tlp_level_of(obj)
            if level:
                self.input_tlps.append(level)
                self.alias[oid] = None  # replaced by the submission's TLP 2.0 marking
            return
        if di15_custom_content.is_custom_type(t):
            return self._drop(obj, "DI-15", "custom or unsupported object type")
        if t == "language-content" and obj.get("object_ref") in self.victims:
            return self._drop(obj, "DI-01", "translation of a victim object")
        if t == "location" and oid not in self.victims and not (obj.get("country") or obj.get("region")):
            return self._drop(obj, "DI-16", "location finer than a country")
        missing = missing_required(obj)
        if missing:
            return self._drop(obj, "P1", f"not valid STIX 2.1: required property {missing} missing")
        if t in self.policy.drop_types:
            return self._drop(obj, "DI-10", f"{t} objects are not shared (policy)")
        if any(TLP2_IDS["red"] == r or r == "marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed"
               for r in obj.get("object_marking_refs") or []):
            return self._drop(obj, "P3", "marked TLP:RED; never shared")
        if oid in self.victims:
            if self.policy.victim_identity == "generalise":
                self.alias[oid] = self.victim_identity["id"]
                self.report.add("DI-01", self.victim_identity["id"], "", f"victim {t} generalised", state="replaced",
                                original_id=oid)
            else:
                self._drop(obj, "DI-01", f"victim {t}")
            return
        if oid in self.net_victims:
            return self._drop(obj, "DI-04", self.net_victims[oid])
        if t == "identity" and oid in self.producers and not self.policy.attribution:
            self.alias[oid] = self.hub["id"]
            self.report.add("DI-02", self.hub["id"], "", "producer replaced by the hub identity", original_id=oid,
                            state="replaced")
            return
        if di08_user_accounts.is_account(t):
            return self._drop(obj, "DI-08", "victim account")
        if t in VALUE_SCOS:
            value = obj.get("value")
            found = self.scrubber.findings(value) if isinstance(value, str) else []
            if found and t == "url" and self._url_without_query(obj, value, found):
                self.infra_values[oid] = [self.url_values[oid]]
                return
            if found:
                if _is_lookalike(t, found):
                    self.review.setdefault(oid, []).append(LOOKALIKE)
                    return self._drop(obj, "DI-04", "attacker host embeds a victim token")
                return self._drop(obj, found[0].rule, f"victim value ({found[0].kind})")
            if t == "email-addr" and self._recipient_only(oid):
                return self._drop(obj, di06_email_addresses.RULE_ID, "recipient address")
        if t == "artifact":  # an artifact without hashes: nothing of the sample's identity to keep
            return self._drop(obj, di14_payloads.RULE_ID, "artifact payload")
        if t == "indicator" and obj.get("pattern_type", "stix") == "stix" and isinstance(obj.get("pattern"), str):
            self._decide_pattern(obj)
        infra = di17_unique_infrastructure.values_of(obj)
        if infra:  # DI-17 v2: SCOs and infrastructure objects are held like indicator values
            self.infra_values[oid] = infra

    def _url_without_query(self, obj: dict, value: str, found) -> bool:
        """DI-14 v2: a URL whose victim data is only in its query keeps its host and path."""
        new = di14_payloads.url_without(value, [(f.start, f.end) for f in found])
        if new is None or self.scrubber.findings(new):
            return False
        self.url_values[obj["id"]] = new
        for f in found:
            self.report.add(f.rule, "(pending)", "value", "query parameter removed, URL kept", original_id=obj["id"],
                            original=value[f.start:f.end])
        return True

    def _recipient_only(self, oid: str) -> bool:
        return oid in self.recipients and oid not in self.senders

    def _decide_pattern(self, obj: dict) -> None:
        roots: set[str] = set()
        infra: list[str] = []

        def judge(obj_type: str, path: str, value: str) -> Verdict:
            prop = path.split(":", 1)[-1].split(".", 1)[0].split("[", 1)[0]
            if obj_type not in ALLOWED or obj_type not in di13_ids.SCO_TYPES or prop not in ALLOWED[obj_type]:
                return Verdict("drop", rule="DI-15")  # custom object types and properties (P1)
            if di08_user_accounts.is_account(obj_type):
                return Verdict("drop", rule=di08_user_accounts.RULE_ID)
            if obj_type == "email-message" and any(r in path for r in di06_email_addresses.RECIPIENT_REFS):
                return Verdict("drop", rule=di06_email_addresses.RULE_ID)
            if di14_payloads.secret_header_in_path(path):
                return Verdict("drop", rule=di14_payloads.RULE_ID)
            found = self.scrubber.findings(value) if value else []
            if (obj_type, prop) in netviews.VERSION_PROPS:  # P2: a version is no address
                found = [f for f in found if f.rule != "DI-05"]
            like = di14_payloads.url_like(value, [(f.start, f.end) for f in found]) if found and obj_type == "url" else None
            if like and not self.scrubber.findings(like):
                roots.add(obj_type)
                return Verdict("like", value=like, rule=di14_payloads.RULE_ID)
            if not found:
                roots.add(obj_type)
                if obj_type in di17_unique_infrastructure.INFRASTRUCTURE_TYPES and value:
                    infra.append(value)
                return Verdict("keep")
            if _is_lookalike(obj_type, found):
                self.review.setdefault(obj["id"], []).append(LOOKALIKE)
                return Verdict("drop", rule="DI-04")
            if all(f.kind == "home-user" for f in found):
                roots.add(obj_type)
                like = self._like_value(value, found)
                return Verdict("like", value=like, rule="DI-07")
            return Verdict("drop", rule=found[0].rule)

        try:
            result = di12_patterns.rewrite(obj["pattern"], judge, self.policy.time_granularity,
                                           self.index.matches_victim)
        except di12_patterns.PatternError:
            raise BadInput(f"object {self._position(obj)} (indicator): pattern is not a valid STIX 2.1 pattern") from None
        for rule, path, action in result.changes:
            self.report.add(rule, "(pending)", f"pattern {path}", action, original_id=obj["id"])
        if result.pattern is None:
            return self._drop(obj, "DI-12", "no attacker comparison left in the pattern")
        self.patterns[obj["id"]] = result.pattern
        self.pattern_roots[obj["id"]] = roots
        self.infra_values[obj["id"]] = infra

    @staticmethod
    def _like_value(value: str, found) -> str:
        parts, pos = [], 0
        for f in sorted(found, key=lambda f: f.start):
            parts.append(value[pos:f.start])
            parts.append("%")
            pos = f.end
        parts.append(value[pos:])
        return "".join(parts)

    def _position(self, obj: dict) -> str:
        return f"#{self.objects.index(obj) + 1}"

    def _cascade_drops(self) -> None:
        changed = True
        while changed:
            changed = False
            for obj in self.objects:
                oid, t = obj["id"], obj["type"]
                if oid in self.dropped or oid in self.alias:
                    continue
                reason = self._missing_refs(obj, t)
                if reason:
                    self._drop(obj, "DI-13", reason)
                    changed = True

    def _alive(self, ref) -> bool:
        if not isinstance(ref, str) or ref in self.dropped:
            return False
        if ref in self.alias:
            return self.alias[ref] is not None
        return ref in self.by_id or ref in TLP2_IDS.values()

    def _missing_refs(self, obj: dict, t: str) -> str | None:
        for prop in REQUIRED_REFS.get(t, ()):
            if not self._alive(obj.get(prop)):
                return f"dangling {prop}"
        if t in NONEMPTY_REFS and not any(self._alive(r) for r in obj.get(NONEMPTY_REFS[t]) or []):
            return f"no {NONEMPTY_REFS[t]} left"
        if t == "network-traffic" and not (self._alive(obj.get("src_ref")) or self._alive(obj.get("dst_ref"))):
            return "neither src_ref nor dst_ref left"
        if t in di13_ids.SCO_TYPES and not self._has_substance(obj, t):
            return "nothing but payload or timestamps left"
        if t == "malware-analysis" and not obj.get("result") and not any(
                self._alive(r) for r in obj.get("analysis_sco_refs") or []):
            return "no result and no analysis_sco_refs left"
        return None

    def _has_substance(self, obj: dict, t: str) -> bool:
        """An SCO must keep a property that says something (a process with only a time does not)."""
        allowed = ALLOWED.get(t, frozenset())
        for key, value in obj.items():
            if key not in allowed or key in _TRIVIAL or key in di09_timestamps.FLOOR_PROPS \
                    or key in di09_timestamps.CEIL_PROPS:
                continue
            if key.endswith("_ref"):
                if self._alive(value):
                    return True
            elif key.endswith("_refs"):
                if any(self._alive(r) for r in value):
                    return True
            else:
                return True
        return False

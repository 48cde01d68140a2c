"""The sanitiser engine: validate → decide drops → rewrite objects → regenerate ids → leak gate.

One `_Run` per submission. Detection lives in `rules/` (findings), actions in `operators` and
here; the leak gate (DI-18) re-reads the finished output on its own.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass

import orjson

from . import classify as classes, netviews
from .errors import BadInput, LeakRefused
from .matching import ProfileIndex
from .operators import replace
from .policy import Policy
from .profile import VictimProfile
from .report import Report, unparsed_lines
from .rules import (
    di01_victim_identity, di02_producer, di06_email_addresses, di08_user_accounts, di09_timestamps,
    di10_free_text, di11_external_references, di16_sector_region, di12_patterns, di13_ids, di14_payloads, di15_custom_content,
    di17_unique_infrastructure, di18_leak_gate, di19_victim_ids,
)
from .rules.di12_patterns import Verdict
from .scrub import Scrubber
from .stixmeta import (
    ALLOWED, EXTENSION_PROPS, TLP2_IDS, TLP_LEVEL_OF_ID, TLP_ORDER, iter_refs, tlp_level_of, tlp_marking,
    wrongly_typed,
)
from .validate import missing_required, validate_bundle

# SCOs whose whole identity is one value: any victim finding in it drops the object.
VALUE_SCOS = {"domain-name", "url", "email-addr", "ipv4-addr", "ipv6-addr", "mac-addr"}
# Objects that are meaningless once every reference they need is gone.
REQUIRED_REFS = {
    "relationship": ("source_ref", "target_ref"), "sighting": ("sighting_of_ref",),
    "language-content": ("object_ref",),
}
NONEMPTY_REFS = {"observed-data": "object_refs", "report": "object_refs", "grouping": "object_refs",
                 "note": "object_refs", "opinion": "object_refs"}
_NOT_TEXT = {"id", "type", "spec_version", "pattern", "pattern_type", "pattern_version", "created_by_ref",
             "object_marking_refs", "external_references", "lang"}
_TRIVIAL = {"type", "id", "spec_version", "object_marking_refs", "granular_markings", "defanged"}


LOOKALIKE = "DI-04 look-alike attacker host embeds a victim token"
_HOST_TYPES = {"domain-name", "url", "email-addr"}
_NAME_KINDS = {"org", "domain-label", "keyword", "person", "host"}


def _is_lookalike(stix_type: str, found) -> bool:
    """A host name that embeds a victim name but is not under a victim domain (typosquat)."""
    return stix_type in _HOST_TYPES and any(f.kind in _NAME_KINDS for f in found) and not any(
        f.kind in ("domain", "email") for f in found)


@dataclass
class Result:
    """A sanitised bundle and its report."""

    bundle: dict
    report: Report

    def to_json(self) -> bytes:
        """Deterministic serialisation (sorted keys, two-space indent, UTF-8)."""
        return orjson.dumps(self.bundle, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS) + b"\n"


def sanitize(bundle: object, profile: VictimProfile, policy: Policy | None = None, *,
             secret: bytes) -> Result:
    """De-identify a STIX 2.1 bundle. Raises BadInput (exit 2) or LeakRefused (exit 3)."""
    if not isinstance(secret, bytes) or len(secret) < 16:
        raise BadInput("hub secret: at least 16 bytes are required")
    return _Run(bundle, profile, policy or Policy(), secret).run()


def recheck(output: dict, original: dict, profile: VictimProfile) -> list:
    """The leak gate (DI-18) again over an output that was edited after sanitising (an analyst
    restored a value): the same profile tokens, and no original SDO/SRO id. Empty list = pass."""
    objects = [o for o in original.get("objects") or [] if isinstance(o, dict)
               and isinstance(o.get("id"), str) and "--" in o["id"]]
    index = ProfileIndex(profile.expanded())
    victims = di01_victim_identity.find_victims(objects, Scrubber(index, "day").names_victim)
    inhouse = di02_producer.inhouse_tokens(objects, victims)
    if any(inhouse):  # the in-house team's tokens found at sanitising time count here too
        index = ProfileIndex(profile.expanded(*inhouse))
    return di18_leak_gate.scan(output, index, _forbidden_uuids(objects, original.get("id")))


def _forbidden_uuids(objects, bundle_id) -> frozenset[str]:
    """The UUIDs of the input's SDO/SRO ids and its bundle id, which DI-13 regenerates and the
    leak gate must not find (SCO ids are recomputed from values; TLP marking ids are kept)."""
    forbidden = {o["id"].split("--", 1)[1].lower() for o in objects
                 if o.get("type") not in di13_ids.SCO_TYPES
                 and not (o.get("type") == "marking-definition" and tlp_level_of(o))}
    if isinstance(bundle_id, str) and "--" in bundle_id:
        forbidden.add(bundle_id.split("--", 1)[1].lower())
    return frozenset(forbidden)


class _Run:
    def __init__(self, bundle, profile: VictimProfile, policy: Policy, secret: bytes):
        self.objects = validate_bundle(bundle)
        self.bundle_id = bundle["id"]
        self.profile, self.policy, self.secret = profile.expanded(), policy, secret
        self.index = ProfileIndex(self.profile)
        self.scrubber = Scrubber(self.index, policy.time_granularity)
        self.report = Report(unparsed=unparsed_lines(bundle))
        self.dropped: dict[str, str] = {}  # original id -> rule
        self.alias: dict[str, str | None] = {}  # original id -> replacement id
        self.patterns: dict[str, str] = {}
        self.hash_files: set[str] = set()  # artifacts whose hashes travel as a file (DI-14)
        self.url_values: dict[str, str] = {}  # url SCOs that lost a victim query parameter (DI-14)
        self.pattern_roots: dict[str, set[str]] = {}
        self.infra_values: dict[str, list[str]] = {}
        self.review: dict[str, list[str]] = {}  # original id -> reasons
        self.input_tlps: list[str] = []
        self.new_ids: dict[str, str | None] = {}
        self.rewritten: dict[str, dict] = {}
        self._in_progress: set[str] = set()

    # ------------------------------------------------------------------ phases
    def run(self) -> Result:
        self.objects = self._latest_versions([self._well_typed(o) for o in self.objects])
        self.objects = [self._artifact_hashes(o) if o["type"] == "artifact" else o for o in self.objects]
        self.by_id = {o["id"]: o for o in self.objects}
        self.input_uuids = {oid.split("--", 1)[1].lower() for oid in self.by_id}
        self.recipients, self.senders = set(), set()
        for o in self.objects:
            if o["type"] == "email-message":
                for k in di06_email_addresses.RECIPIENT_REFS:
                    self.recipients.update(o.get(k) or [])
                self.senders.update(r for r in (o.get("from_ref"), o.get("sender_ref")) if r)
        self.victims = di01_victim_identity.find_victims(self.objects, self.scrubber.names_victim)
        inhouse = di02_producer.inhouse_tokens(self.objects, self.victims)
        if any(inhouse):  # DI-02 v2: the submitter is the victim's own team: its tokens are victim tokens
            self.profile = self.profile.expanded(*inhouse)
            self.index = ProfileIndex(self.profile)
            self.scrubber = Scrubber(self.index, self.policy.time_granularity)
            self.victims = di01_victim_identity.find_victims(self.objects, self.scrubber.names_victim)
        self.net_victims, derived = di19_victim_ids.derive(self.objects, self.index, self.victims,
                                                           self.scrubber.names_victim)
        if derived is not None:  # DI-04/DI-19: every victim identifier found is removed everywhere
            self.index, self.scrubber = derived, Scrubber(derived, self.policy.time_granularity)
        self.producers = di02_producer.producers(self.objects) - self.victims
        self.hub = di02_producer.hub_identity(self.policy, self.secret)
        self.created = self._generalised_created()
        self.victim_identity = di01_victim_identity.generalised_identity(
            self.profile, self.policy, self.secret, ",".join(sorted(self.victims)) or self.bundle_id, self.created)
        for obj in self.objects:
            self._decide(obj)
        self._cascade_drops()
        self.tlp = self._output_tlp()
        for obj in self.objects:
            if obj["id"] not in self.dropped and obj["id"] not in self.alias:
                self.rewritten[obj["id"]] = self._rewrite(obj)
        out = self._assemble()
        if self.policy.ner:
            self._ner_holds(out["objects"])
        self._gate(out)
        return Result(out, self.report)

    def _well_typed(self, obj: dict) -> dict:
        """Drop spec-defined properties whose JSON type is wrong (P1): they cannot be trusted."""
        bad = wrongly_typed(obj)
        if not bad:
            return obj
        obj = copy.deepcopy(obj)
        for path in bad:
            parts = path.split(".")
            if len(parts) == 3:
                obj["extensions"][parts[1]].pop(parts[2], None)
            elif len(parts) == 2:
                obj["extensions"].pop(parts[1], None)
            else:
                obj.pop(path, None)
            self.report.add("P1", "(pending)", path, "property dropped: wrong type", original_id=obj["id"])
        return obj

    def _artifact_hashes(self, obj: dict) -> dict:
        """DI-14 v2: an artifact's payload and url go, its hashes stay (as a `file`; see di14)."""
        as_file = di14_payloads.artifact_as_file(obj)
        if as_file is not None:
            self.hash_files.add(obj["id"])
            self.report.add("DI-14", "(pending)", "payload_bin/url", "artifact payload dropped; hashes kept as file",
                            original_id=obj["id"])
            return as_file
        return obj

    def _latest_versions(self, objects: list[dict]) -> list[dict]:
        latest: dict[str, dict] = {}
        for o in objects:
            cur = latest.get(o["id"])
            if cur is None or str(o.get("modified", "")) > str(cur.get("modified", "")):
                latest[o["id"]] = o
        kept = [o for o in objects if latest[o["id"]] is o]
        if len(kept) < len(objects):
            self.report.add("DI-13", "(bundle)", "objects", f"{len(objects) - len(kept)} older versions dropped")
        return kept

    def _generalised_created(self) -> str:
        stamps = [di09_timestamps.coarsen_property("created", o["created"], self.policy.time_granularity)
                  for o in self.objects if isinstance(o.get("created"), str)]
        stamps = [s for s in stamps if s]
        return min(stamps) if stamps else di02_producer.HUB_IDENTITY_CREATED

    # ------------------------------------------------------------------ decisions
    def _drop(self, obj: dict, rule: str, why: str) -> None:
        self.dropped[obj["id"]] = rule
        self.report.add(rule, f"{obj['type']} (dropped)", "", f"object dropped: {why}",
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
                self.report.add("DI-01", self.victim_identity["id"], "", f"victim {t} generalised",
                                original_id=oid)
            else:
                self._drop(obj, "DI-01", f"victim {t}")
            return
        if oid in self.net_victims:
            return self._drop(obj, "DI-04", self.net_victims[oid])
        if t == "identity" and oid in self.producers and not self.policy.attribution:
            self.alias[oid] = self.hub["id"]
            self.report.add("DI-02", self.hub["id"], "", "producer replaced by the hub identity", original_id=oid)
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

    def _output_tlp(self) -> str:
        if self.policy.tlp:
            tlp = self.policy.tlp
        else:
            found = [lv for lv in self.input_tlps if lv in TLP_ORDER and lv != "red"]
            tlp = max(found, key=TLP_ORDER.index) if found else self.policy.default_tlp
        self.report.tlp = tlp
        return tlp

    # ------------------------------------------------------------------ rewriting
    def _rewrite(self, obj: dict) -> dict:
        """Allow-listed, scrubbed, coarsened copy of one object (references still original)."""
        t, oid = obj["type"], obj["id"]
        allowed = ALLOWED.get(t, frozenset())
        out: dict = {}
        for key, value in obj.items():
            if key not in allowed:
                rule = (di14_payloads.RULE_ID if key in di14_payloads.DROPPED.get(t, ())
                        else "DI-15" if di15_custom_content.is_custom_property(key) else "DI-15")
                self.report.add(rule, "(pending)", key, "property dropped", original_id=oid)
                continue
            out[key] = value
        if t == "email-message":
            self._email(out, oid)
        if t == "location":
            for prop in di16_sector_region.generalise_location(out):
                self.report.add("DI-16", "(pending)", prop, "location generalised to region/country",
                                original_id=oid, original=str(obj[prop]))
        if isinstance(out.get("sectors"), list):  # DI-16 v2: top-level sectors only
            top = di16_sector_region.generalise_sectors(out["sectors"])
            if top != out["sectors"]:
                self.report.add("DI-16", "(pending)", "sectors", "sector generalised to its top level",
                                original_id=oid, original=",".join(map(str, out["sectors"])))
            if top:
                out["sectors"] = top
            else:
                del out["sectors"]
        for prop in di10_free_text.DROPPED_PROPS.get(t, ()):
            if out.pop(prop, None) is not None:
                self.report.add("DI-10", "(pending)", prop, "property dropped (names people)", original_id=oid)
        if "extensions" in out:
            self._extensions(out, oid)
        if "external_references" in out:
            self._external_references(out, oid)
        if oid in self.url_values:
            out["value"] = self.url_values[oid]
        if oid in self.patterns:
            out["pattern"] = self.patterns[oid]
        elif t == "indicator" and isinstance(out.get("pattern"), str):
            new, found = self.scrubber.scrub(out["pattern"])  # YARA / Sigma / Snort: text rules
            if found:
                out["pattern"] = new
                self.review.setdefault(oid, []).append("DI-12 non-STIX pattern rewritten as text")
                self._report_findings(oid, "pattern", obj["pattern"], found)
        for key in list(out):
            value = out[key]
            if key in di09_timestamps.FLOOR_PROPS or key in di09_timestamps.CEIL_PROPS:
                if isinstance(value, str):
                    new = di09_timestamps.coarsen_property(key, value, self.policy.time_granularity)
                    if new and new != value:
                        out[key] = new
                        if key not in ("created", "modified"):
                            self.report.add("DI-09", "(pending)", key, "coarsened", original_id=oid, original=value)
                continue
            if key in _NOT_TEXT or key.endswith("_ref") or key.endswith("_refs"):
                continue
            if (t, key) in netviews.VERSION_PROPS and isinstance(value, str):  # P2: a version is no address
                found = [f for f in self.scrubber.findings(value) if f.rule != "DI-05"]
                self._report_findings(oid, key, value, found)
                out[key] = replace(value, found)
                continue
            out[key] = self._scrub_value(value, oid, key, top=True)
        return out

    def _email(self, out: dict, oid: str) -> None:
        for key in di06_email_addresses.RECIPIENT_REFS:
            if out.pop(key, None):
                self.report.add("DI-06", "(pending)", key, "recipients removed", original_id=oid)
        parts = []
        for i, part in enumerate(out.get("body_multipart") or []):
            if not isinstance(part, dict):
                continue
            part = {k: v for k, v in part.items() if k not in di14_payloads.MIME_PART_DROPPED}
            if len(part) < len(out["body_multipart"][i]):
                self.report.add("DI-14", "(pending)", f"body_multipart[{i}].body", "e-mail body dropped",
                                original_id=oid)
            if part.get("body_raw_ref"):
                parts.append(part)
        if parts:
            out["body_multipart"] = parts
        else:
            out.pop("body_multipart", None)
            out["is_multipart"] = False

    def _extensions(self, out: dict, oid: str) -> None:
        kept = {}
        for name, ext in out["extensions"].items():
            props = EXTENSION_PROPS.get(name)
            if props is None or not isinstance(ext, dict):
                self.report.add("DI-15", "(pending)", f"extensions.{name}", "extension dropped", original_id=oid)
                continue
            dropped = set(di14_payloads.EXTENSION_DROPPED.get(name, ()))
            clean = {k: v for k, v in ext.items() if k in props and k not in dropped}
            if name == "http-request-ext":
                clean = copy.deepcopy(clean)
                for header in di14_payloads.clean_headers(clean):
                    self.report.add("DI-14", "(pending)", f"extensions.{name}.request_header",
                                    "credential header dropped", original_id=oid, original=header)
            if clean:
                kept[name] = clean
        if kept:
            out["extensions"] = kept
        else:
            del out["extensions"]

    def _external_references(self, out: dict, oid: str) -> None:
        kept = []
        for i, ref in enumerate(out["external_references"]):
            if not isinstance(ref, dict):
                continue
            ref = {k: v for k, v in ref.items() if not di15_custom_content.is_custom_property(k)}
            shared = di11_external_references.decide(ref)
            if shared is not None and shared is not ref and ref.get("external_id"):
                self.report.add("DI-11", "(pending)", f"external_references[{i}].external_id",
                                "internal case/ticket id removed", original_id=oid, original=ref["external_id"])
            texts = [v for v in (shared or {}).values() if isinstance(v, str)]
            if shared is None or any(self.scrubber.findings(v) for v in texts):
                self.report.add("DI-11", "(pending)", f"external_references[{i}]", "reference dropped",
                                original_id=oid, original=ref.get("url") or ref.get("external_id"))
                continue
            kept.append(shared)
        if kept:
            out["external_references"] = kept
        else:
            del out["external_references"]

    def _scrub_value(self, value, oid: str, path: str, top: bool = False):
        if isinstance(value, str) and not top:
            stamp = di09_timestamps.coarsen_nested(path, value, self.policy.time_granularity)
            if stamp is not None:  # a timestamp inside an extension stays a STIX timestamp (DI-09 v2)
                if stamp != value:
                    self.report.add("DI-09", "(pending)", path, "coarsened", original_id=oid, original=value)
                return stamp
        if isinstance(value, str):
            new, found = self.scrubber.scrub(value)
            if found:
                self._report_findings(oid, path, value, found)
            return new
        if isinstance(value, list):
            return [self._scrub_value(v, oid, f"{path}[{i}]") for i, v in enumerate(value)]
        if isinstance(value, dict):
            result = {}
            for k, v in value.items():
                if di15_custom_content.is_custom_property(k):
                    self.report.add("DI-15", "(pending)", f"{path}.{k}", "property dropped", original_id=oid)
                    continue
                if k.endswith("_ref") or k.endswith("_refs"):
                    result[k] = v
                    continue
                new_key, found = self.scrubber.scrub(k)
                if found:
                    self._report_findings(oid, f"{path} (key)", k, found)
                result[new_key] = self._scrub_value(v, oid, f"{path}.{k}")
            return result
        return value

    def _report_findings(self, oid: str, path: str, original: str, found) -> None:
        for f in found:
            self.report.add(f.rule, "(pending)", path, f"replaced with {f.replacement}", original_id=oid,
                            original=original[f.start:f.end])

    # ------------------------------------------------------------------ ids
    def resolve(self, ref: str) -> str | None:
        """The output id for an original reference (None: it points at something dropped)."""
        if ref in self.new_ids:
            return self.new_ids[ref]
        if ref in self.alias:
            new = self.alias[ref]
            if new is None and tlp_level_of(self.by_id.get(ref, {"id": ref})):
                new = TLP2_IDS[self.tlp]
        elif ref in self.dropped or ref not in self.rewritten:
            new = TLP2_IDS[self.tlp] if ref in TLP2_IDS.values() else None
        elif ref in self.hash_files:  # the UUIDv5 of the hashes would repeat the artifact's own id
            hashes = orjson.dumps(self.rewritten[ref].get("hashes"), option=orjson.OPT_SORT_KEYS).decode()
            new = "file--" + di13_ids.keyed_uuid(self.secret, "artifact-hashes:" + hashes)
        elif self.rewritten[ref]["type"] in di13_ids.SCO_TYPES:
            new = self._sco_id(ref)
        else:
            new = di13_ids.keyed_id(self.secret, self.rewritten[ref]["type"], ref)
        self.new_ids[ref] = new
        return new

    def _sco_id(self, ref: str) -> str:
        obj = self.rewritten[ref]
        if ref in self._in_progress:  # a reference cycle: fall back to a keyed id
            return di13_ids.keyed_id(self.secret, obj["type"], ref)
        self._in_progress.add(ref)
        try:
            contributing = {k: obj[k] for k in di13_ids.ID_CONTRIBUTING.get(obj["type"], ()) if k in obj}
            probe = {"type": obj["type"], **self._resolve_refs(contributing)}
            return di13_ids.sco_id(probe) or di13_ids.keyed_id(self.secret, obj["type"], ref)
        finally:
            self._in_progress.discard(ref)

    def _resolve_refs(self, node):
        if isinstance(node, dict):
            out = {}
            for k, v in node.items():
                if k.endswith("_ref") and isinstance(v, str):
                    new = self.resolve(v)
                    if new:
                        out[k] = new
                elif k.endswith("_refs") and isinstance(v, list):
                    new_list = []
                    for r in v:
                        n = self.resolve(r) if isinstance(r, str) else None
                        if n and n not in new_list:
                            new_list.append(n)
                    if new_list:
                        out[k] = new_list
                else:
                    out[k] = self._resolve_refs(v)
            return out
        if isinstance(node, list):
            return [self._resolve_refs(v) for v in node]
        return node

    # ------------------------------------------------------------------ output
    def _assemble(self) -> dict:
        uuid_map = {}
        objects: list[dict] = [tlp_marking(self.tlp)]
        body: list[dict] = []
        emitted: set[str] = set()
        for oid, obj in self.rewritten.items():
            new_id = self.resolve(oid)
            if new_id is None or new_id in emitted:  # two SCOs that now say the same thing are one
                continue
            emitted.add(new_id)
            out = self._resolve_refs(obj)
            out["id"] = new_id
            if "created_by_ref" in obj:
                creator = obj["created_by_ref"]
                keep_creator = self.policy.attribution and creator in self.rewritten
                out["created_by_ref"] = self.resolve(creator) if keep_creator else self.hub["id"]
            self._markings(out, obj)
            body.append(out)
            uuid_map[oid.split("--", 1)[1].lower()] = new_id.split("--", 1)[1]
        body = [self._rewrite_ids_in_text(o, uuid_map) for o in body]
        referenced = {r for o in body for _p, _k, v, _c in iter_refs(o) for r in ([v] if isinstance(v, str) else v)}
        if self.hub["id"] in referenced:
            objects.append(self._marked(self.hub))
        if self.victim_identity["id"] in referenced:
            objects.append(self._marked(self.victim_identity))
        objects.extend(body)
        self._finish_report(objects)
        return {"type": "bundle", "id": "bundle--" + di13_ids.keyed_uuid(self.secret, "bundle:" + self.bundle_id),
                "objects": objects}

    def _marked(self, obj: dict) -> dict:
        return {**obj, "object_marking_refs": [TLP2_IDS[self.tlp]]}

    def _markings(self, out: dict, original: dict) -> None:
        refs = [TLP2_IDS[self.tlp]]
        for r in original.get("object_marking_refs") or []:
            if r in self.rewritten and self.rewritten[r]["type"] == "marking-definition":
                new = self.resolve(r)
                if new and new not in refs:
                    refs.append(new)
        if original["type"] == "marking-definition":
            out.pop("object_marking_refs", None)
        else:
            out["object_marking_refs"] = refs

    def _rewrite_ids_in_text(self, obj: dict, uuid_map: dict[str, str]) -> dict:
        """Original ids quoted in text (descriptions, notes) are swapped for their new ids."""
        input_uuids = self.input_uuids

        def fix(node, key=""):
            if isinstance(node, str):
                if key == "id" or key.endswith("_ref") or key.endswith("_refs"):
                    return node
                if len(node) < 36:
                    return node
                return di13_ids.UUID_IN_TEXT.sub(
                    lambda m: uuid_map.get(m.group(0).lower(), "[REF]") if m.group(0).lower() in input_uuids
                    else m.group(0), node)
            if isinstance(node, list):
                return [fix(v, key) for v in node]
            if isinstance(node, dict):
                return {k: fix(v, k) for k, v in node.items()}
            return node

        return fix(obj)

    def _finish_report(self, objects: list[dict]) -> None:
        by_new = {o["id"]: o for o in objects}
        for e_i, e in enumerate(self.report.entries):
            if e.object == "(pending)":
                new = self.new_ids.get(e.original_id) if e.original_id else None
                self.report.entries[e_i] = type(e)(e.rule, new or f"{self.by_id[e.original_id]['type']} (dropped)",
                                                   e.path, e.action, e.cls, e.original_id, e.original)
        cls_by_id: dict[str, str] = {}
        orig_of = {v: k for k, v in self.new_ids.items() if v}
        for _round in range(2):  # containers take the class of what they contain
            for o in objects:
                cls_by_id[o["id"]] = classes.classify(o, cls_by_id, self.pattern_roots.get(orig_of.get(o["id"], "")))
        self.report.classes = cls_by_id
        for i, e in enumerate(self.report.entries):
            if e.object in cls_by_id:
                self.report.entries[i] = type(e)(e.rule, e.object, e.path, e.action, cls_by_id[e.object],
                                                 e.original_id, e.original)
        for orig, values in sorted(self.infra_values.items()):
            new = self.new_ids.get(orig)
            if new and new in by_new and di17_unique_infrastructure.needs_review(values, self.policy):
                self.review.setdefault(orig, []).append(di17_unique_infrastructure.REASON)
        for orig, reasons in sorted(self.review.items()):
            new = self.new_ids.get(orig)
            self.report.holds.append({"object": new or f"{self.by_id[orig]['type']} (dropped)",
                                      "rules": sorted({r.split()[0] for r in reasons}),
                                      "reasons": sorted(set(reasons)), "original": orig})

    def _ner_holds(self, objects: list[dict]) -> None:
        """DI-10b: names the NER model finds become holds (value in the private report only)."""
        from . import ner  # noqa: PLC0415 - GiNZA is an optional extra, loaded only when enabled

        hits = ner.find(objects)
        if hits is None:
            self.report.ner_note = "GiNZA (ja-ginza) not installed: pip install -e '.[ner]'"
            return
        self.report.ner, self.report.ner_note = "ran", f"{len(hits)} name(s) held"
        orig_of = {v: k for k, v in self.new_ids.items() if v}
        for h in hits:
            self.report.holds.append({
                "object": h.object_id, "rules": [ner.RULE_ID], "kind": "ner",
                "reasons": [f"{ner.RULE_ID} ner: {h.label} name not in the profile ({h.path})"],
                "original": f"{orig_of.get(h.object_id, h.object_id)}: {h.value}"})

    def _gate(self, bundle: dict) -> None:
        forbidden = _forbidden_uuids(self.by_id.values(), self.bundle_id)
        hits = di18_leak_gate.scan(bundle, self.index, forbidden)
        hits += di18_leak_gate.scan_report(self.report.public(), self.index, forbidden)
        if hits:
            self.report.refused = [{"rule": h.rule, "what": h.what, "where": h.where} for h in hits]
            raise LeakRefused(hits)

"""The sanitiser engine: validate → decide drops → rewrite objects → regenerate ids → leak gate.

One `_Run` per submission, built from one mixin per phase: `decisions` (what happens to each
input object), `rewriting` (each kept object rebuilt from its allow-listed properties and
scrubbed) and `assembly` (new ids, the output bundle, the report). Detection lives in `rules/`
(findings), actions in `operators` and the phases; the leak gate (DI-18) re-reads the finished
output and the public report on its own.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass

import orjson

from .assembly import AssemblyMixin
from .decisions import DecisionsMixin
from .errors import BadInput, LeakRefused
from .matching import ProfileIndex
from .policy import Policy
from .profile import VictimProfile
from .report import Report, unparsed_lines
from .rewriting import RewritingMixin
from .rules import (
    di01_victim_identity,
    di02_producer,
    di06_email_addresses,
    di09_timestamps,
    di13_ids,
    di14_payloads,
    di18_leak_gate,
    di19_victim_ids,
)
from .scrub import Scrubber
from .stixmeta import (
    TLP_ORDER,
    tlp_level_of,
    wrongly_typed,
)
from .validate import validate_bundle


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


class _Run(DecisionsMixin, RewritingMixin, AssemblyMixin):
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
            self.report.add("DI-13", "(bundle)", "objects", f"{len(objects) - len(kept)} older versions dropped",
                            state="dropped")
        return kept

    def _generalised_created(self) -> str:
        stamps = [di09_timestamps.coarsen_property("created", o["created"], self.policy.time_granularity)
                  for o in self.objects if isinstance(o.get("created"), str)]
        stamps = [s for s in stamps if s]
        return min(stamps) if stamps else di02_producer.HUB_IDENTITY_CREATED


    def _output_tlp(self) -> str:
        if self.policy.tlp:
            tlp = self.policy.tlp
        else:
            found = [lv for lv in self.input_tlps if lv in TLP_ORDER and lv != "red"]
            tlp = max(found, key=TLP_ORDER.index) if found else self.policy.default_tlp
        self.report.tlp = tlp
        return tlp


    def _gate(self, bundle: dict) -> None:
        forbidden = _forbidden_uuids(self.by_id.values(), self.bundle_id)
        hits = di18_leak_gate.scan(bundle, self.index, forbidden)
        hits += di18_leak_gate.scan_report(self.report.public(), self.index, forbidden)
        if hits:
            self.report.refused = [{"rule": h.rule, "what": h.what, "where": h.where} for h in hits]
            raise LeakRefused(hits)

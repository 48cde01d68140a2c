"""Hub policy: the knobs of the sanitiser, each with a safe default."""
from __future__ import annotations

from dataclasses import dataclass, field, fields

from .errors import BadInput

TLP_LEVELS = ("clear", "green", "amber", "amber+strict")
GRANULARITIES = ("day", "month")


@dataclass(frozen=True)
class Policy:
    """What the hub does with a submission. Defaults are the conservative choice."""

    # TLP of the output; None = strictest TLP found on the input, else `default_tlp`.
    tlp: str | None = None
    default_tlp: str = "amber"
    # DI-09: how coarse victim-derived times become (UTC).
    time_granularity: str = "day"
    # DI-16: a sector is named only if at least k member organisations share it. The counts come
    # from the hub's membership; unknown counts mean the sector is omitted (fail closed).
    k: int = 3
    sector_member_counts: dict[str, int] | None = None
    # DI-16 v2: members per prefecture group (kanto, chubu, …); the group is named only if >= k.
    region_member_counts: dict[str, int] | None = None
    # DI-01: "generalise" the victim identity, or "drop" it.
    victim_identity: str = "generalise"
    # DI-02: name the submitting CSIRT as producer (only if it asked to be named).
    attribution: bool = False
    hub_name: str = "De-identified attack-technique sharing hub"
    # DI-10: object types dropped whole (notes and opinions carry the responder's narrative).
    drop_types: tuple[str, ...] = ("note", "opinion")
    # DI-17: indicator values already reported by enough other victims (value -> reporter count).
    known_reporter_counts: dict[str, int] = field(default_factory=dict)
    # DI-10b: run the optional NER pass (GiNZA, extra `ner`); its findings are holds, never changes.
    ner: bool = False

    @classmethod
    def from_dict(cls, data: object) -> "Policy":
        """Build a policy from a JSON object; unknown keys and bad values raise BadInput."""
        if data is None:
            return cls()
        if not isinstance(data, dict):
            raise BadInput("policy: must be a JSON object")
        names = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - names)
        if unknown:
            raise BadInput(f"policy: unknown setting (allowed: {', '.join(sorted(names))})")
        values = dict(data)
        if "drop_types" in values:
            if not isinstance(values["drop_types"], list) or not all(isinstance(x, str) for x in values["drop_types"]):
                raise BadInput("policy: drop_types must be a list of STIX type names")
            values["drop_types"] = tuple(values["drop_types"])
        policy = cls(**values)
        policy.validate()
        return policy

    def validate(self) -> None:
        """Raise BadInput if a setting is out of range."""
        if self.tlp is not None and self.tlp not in TLP_LEVELS:
            raise BadInput(f"policy: tlp must be one of {', '.join(TLP_LEVELS)} (TLP:RED is never shared)")
        if self.default_tlp not in TLP_LEVELS:
            raise BadInput(f"policy: default_tlp must be one of {', '.join(TLP_LEVELS)}")
        if self.time_granularity not in GRANULARITIES:
            raise BadInput(f"policy: time_granularity must be one of {', '.join(GRANULARITIES)}")
        if not isinstance(self.k, int) or isinstance(self.k, bool) or self.k < 1:
            raise BadInput("policy: k must be a positive integer")
        if self.sector_member_counts is not None and not (
                isinstance(self.sector_member_counts, dict)
                and all(isinstance(v, int) and not isinstance(v, bool) for v in self.sector_member_counts.values())):
            raise BadInput("policy: sector_member_counts must map sector names to integers")
        if self.region_member_counts is not None and not (
                isinstance(self.region_member_counts, dict)
                and all(isinstance(v, int) and not isinstance(v, bool) for v in self.region_member_counts.values())):
            raise BadInput("policy: region_member_counts must map prefecture groups to integers")
        if self.victim_identity not in ("generalise", "drop"):
            raise BadInput("policy: victim_identity must be 'generalise' or 'drop'")
        if not isinstance(self.attribution, bool):
            raise BadInput("policy: attribution must be true or false")
        if not isinstance(self.hub_name, str) or not self.hub_name.strip():
            raise BadInput("policy: hub_name must be a non-empty string")
        if not isinstance(self.ner, bool):
            raise BadInput("policy: ner must be true or false")
        if not isinstance(self.known_reporter_counts, dict):
            raise BadInput("policy: known_reporter_counts must be an object")

    def with_tlp(self, tlp: str | None) -> "Policy":
        """A copy with the output TLP set (CLI --tlp)."""
        from dataclasses import replace
        policy = replace(self, tlp=tlp)
        policy.validate()
        return policy

"""The four classes of attack-technique information, for every kept object."""
from __future__ import annotations

COMMUNICATION = "communication-destination"  # 通信先情報
MALWARE = "malware"  # マルウェア情報
VULNERABILITY = "vulnerability"  # 脆弱性関連情報
TTP = "ttp"  # 攻撃手法
CONTEXT = "context"  # identities, markings, containers: carry no technique of their own

CLASS_LABELS = {
    COMMUNICATION: "通信先情報 / communication destinations",
    MALWARE: "マルウェア情報 / malware information",
    VULNERABILITY: "脆弱性関連情報 / vulnerability information",
    TTP: "攻撃手法 / TTPs",
    CONTEXT: "文脈 / context",
}

_BY_TYPE = {
    COMMUNICATION: {"ipv4-addr", "ipv6-addr", "domain-name", "url", "network-traffic", "x509-certificate",
                    "infrastructure", "autonomous-system", "email-addr", "email-message", "mac-addr"},
    MALWARE: {"file", "artifact", "mutex", "windows-registry-key", "process", "directory", "malware",
              "malware-analysis"},
    VULNERABILITY: {"vulnerability", "software"},
    TTP: {"attack-pattern", "tool", "campaign", "intrusion-set", "threat-actor", "course-of-action"},
}
TYPE_CLASS = {t: cls for cls, types in _BY_TYPE.items() for t in types}
_RULE_PATTERNS = {"yara", "sigma", "snort", "suricata", "pcre"}


def classify(obj: dict, classes_by_id: dict[str, str], pattern_roots: set[str] | None = None) -> str:
    """Class of one output object; relationships and sightings take the class of what they link."""
    t = obj["type"]
    if t in TYPE_CLASS:
        return TYPE_CLASS[t]
    if t == "indicator":
        if obj.get("pattern_type") in _RULE_PATTERNS:
            return MALWARE
        roots = pattern_roots or set()
        if roots & _BY_TYPE[COMMUNICATION]:
            return COMMUNICATION
        if roots & _BY_TYPE[VULNERABILITY]:
            return VULNERABILITY
        return MALWARE
    linked = []
    if t == "relationship":
        linked = [obj.get("target_ref"), obj.get("source_ref")]
    elif t == "sighting":
        linked = [obj.get("sighting_of_ref")]
    elif t in ("observed-data", "report", "grouping"):
        linked = list(obj.get("object_refs", []))
    for ref in linked:
        cls = classes_by_id.get(ref)
        if cls and cls != CONTEXT:
            return cls
    return CONTEXT

"""DI-10b: optional NER pass (GiNZA, `pip install -e '.[ner]'`) over the sanitised output.

Japanese person and organisation names that the profile does not list and that are not attacker
or public entities (malware, tools, intrusion sets, threat actors, campaigns, vendors and
products named in the bundle, a short list of public bodies) become **holds** for the analyst:
never silent changes. The value is kept only in the private report. Without GiNZA, or with the
policy switch off, the pass does not run and the report says so.
"""
from __future__ import annotations

import functools
import re
import unicodedata
from dataclasses import dataclass

RULE_ID = "DI-10b"
PERSON_LABELS = frozenset({"Person"})
ORG_LABELS = frozenset({
    "Company", "Company_Group", "Corporation_Other", "Organization_Other", "Government", "Political_Organization",
    "Political_Party", "Public_Institution", "International_Organization", "Military", "School",
    "Research_Institute", "Sports_Organization", "Group_Other",
})
# Public bodies and vendors a report may name without pointing at the victim.
PUBLIC_NAMES = frozenset(unicodedata.normalize("NFKC", n).casefold() for n in (
    "JPCERT/CC", "JPCERT", "IPA", "情報処理推進機構", "NISC", "内閣サイバーセキュリティセンター", "警察庁", "総務省",
    "経済産業省", "NICT", "MITRE", "CISA", "FBI", "NCSC", "Microsoft", "マイクロソフト", "Google", "Apple", "Adobe",
    "Cisco", "Fortinet", "Palo Alto Networks", "Ivanti", "VMware", "Citrix", "トレンドマイクロ", "Trend Micro",
    "CrowdStrike", "Mandiant", "Kaspersky", "ESET", "Sophos", "Amazon", "AWS", "Cloudflare", "GitHub",
))
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uff66-\uff9f]")
_PLACEHOLDER = re.compile(r"\[[A-Z-]+\]")
_SKIP_KEYS = {"id", "type", "spec_version", "pattern", "pattern_type", "pattern_version", "hashes", "lang",
              "created", "modified", "value", "key"}
_NAMED_TYPES = {"malware", "tool", "intrusion-set", "threat-actor", "campaign", "attack-pattern", "infrastructure",
                "vulnerability", "course-of-action", "software"}


@dataclass(frozen=True)
class NerHit:
    """A name the NER model found in an output string."""

    object_id: str
    path: str
    label: str  # "person" | "organization"
    value: str


@functools.lru_cache(maxsize=1)
def _model():
    try:
        import spacy  # noqa: PLC0415 - the optional extra is loaded only when the pass runs

        return spacy.load("ja_ginza", exclude=["compound_splitter", "bunsetu_recognizer"])
    except Exception:  # not installed, or its model is missing / broken: the pass does not run
        return None


def available() -> bool:
    """True if GiNZA and its Japanese model can be loaded."""
    return _model() is not None


def _fold(text: str) -> str:
    return unicodedata.normalize("NFKC", text).casefold().strip()


def public_names(objects: list[dict]) -> set[str]:
    """Folded names of attacker and public entities in the bundle (and the fixed public list)."""
    names = set(PUBLIC_NAMES)
    for o in objects:
        if o.get("type") in _NAMED_TYPES or (o.get("type") == "identity" and o.get("identity_class") == "class"):
            for prop in ("name", "vendor"):
                if isinstance(o.get(prop), str):
                    names.add(_fold(o[prop]))
            for alias in (o.get("aliases") or []) + (o.get("x_mitre_aliases") or []):
                if isinstance(alias, str):
                    names.add(_fold(alias))
    return {n for n in names if n}


def _texts(obj: dict, path: str = ""):
    if isinstance(obj, str):
        if _CJK.search(obj):
            yield path, obj
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            yield from _texts(v, f"{path}[{i}]")
    elif isinstance(obj, dict):
        for k, v in obj.items():
            if k in _SKIP_KEYS or k.endswith("_ref") or k.endswith("_refs"):
                continue
            yield from _texts(v, f"{path}.{k}" if path else k)


def _is_public(value: str, public: set[str]) -> bool:
    folded = _fold(value)
    return any(p == folded or (len(p) >= 3 and (p in folded or folded in p)) for p in public)


def find(objects: list[dict]) -> list[NerHit] | None:
    """Person / organisation names in the output's Japanese text that are neither placeholders nor
    public or attacker entities; None when GiNZA is not installed (the pass did not run)."""
    nlp = _model()
    if nlp is None:
        return None
    public = public_names(objects)
    where: dict[str, list[tuple[str, str]]] = {}
    for o in objects:
        for path, text in _texts(o):
            where.setdefault(text, []).append((o.get("id", "?"), path))
    hits: list[NerHit] = []
    for text, doc in zip(where, nlp.pipe(list(where), batch_size=64)):
        for ent in doc.ents:
            label = "person" if ent.label_ in PERSON_LABELS else "organization" if ent.label_ in ORG_LABELS else None
            value = ent.text.strip()
            if not label or len(value) < 2 or _PLACEHOLDER.search(value) or _is_public(value, public):
                continue
            hits.extend(NerHit(oid, path, label, value) for oid, path in where[text])
    return hits

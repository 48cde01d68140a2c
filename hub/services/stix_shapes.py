"""The fast half of strict STIX 2.1 (issue 12): `certainly_valid(obj)` is True only when
stix2-validator (STIX 2.1, SHOULDs off) certainly reports no error for the object; False means
"ask the validator" (hub/services/stix_fast.py), never "invalid".

It knows the dominant simple shapes — indicator, relationship, identity, attack-pattern,
malware, course-of-action, vulnerability, campaign, intrusion-set, threat-actor, tool,
infrastructure and the ipv4-addr, ipv6-addr, domain-name, url, email-addr and file SCOs — with every
property known (or a plain `x_` custom property) and of a form the validator accepts, written
as the same or a stricter regular expression than its schemas, so that timestamps also read
with dateutil and strptime. Per key layout (type and property order) one regular expression
checks every string-valued property at once; STIX patterns are parsed once per *shape*
(`pattern_shape`) with the validator's own pattern check."""
from __future__ import annotations

import calendar
import functools
import operator
import re

from jsonschema import Draft202012Validator
from stix2validator import ValidationOptions
from stix2validator.v21 import enums as _enums
from stix2validator.v21 import musts as _musts

OPTIONS = ValidationOptions(version="2.1", disabled=["all"])
_FORMAT = Draft202012Validator.FORMAT_CHECKER
_MAX_CACHED = 20_000  # pattern shapes are at most _MAX_PATTERN characters: a few tens of MB at worst
_MAX_PATTERN, _MAX_QUOTES = 2_000, 40

# ------------------------------------------------------------------ STIX patterns by shape
_LITERAL = re.compile(r"'[^']*'")
_HEX = re.compile(r"[0-9a-fA-F]*\Z")
_SIMPLE_PATTERN = re.compile(r"\[([a-z0-9-]+:[a-z_][a-z0-9_]*) (=|!=) '[^'\\]*'\]\Z")
_PATTERN_VERDICTS: dict[str, bool] = {}
_SIMPLE_VERDICTS: dict[tuple[str, str], bool] = {}


def _value_position(pattern: str, start: int) -> bool:
    """Is the literal at `start` a comparison value (not a path component, not t'', b'', h'')?"""
    i = start - 1
    while i >= 0 and pattern[i] in " \t\r\n":
        i -= 1
    if i < 0:
        return False
    if pattern[i] in "=<>(,":
        return True
    return pattern.endswith("LIKE", 0, i + 1) and i >= 4 and pattern[i - 4] in " \t\r\n"


def pattern_shape(pattern: str) -> str | None:
    """The pattern with comparison string values replaced by a placeholder; None when it has a
    backslash (then quotes may not pair as the lexer pairs them). In a pattern that mentions
    hashes, hexadecimal values keep their length (as zeros: the hash checks look only at length
    and alphabet) and other values are kept verbatim."""
    if "\\" in pattern:
        return None
    hashes = "hashes" in pattern
    out, last = [], 0
    for m in _LITERAL.finditer(pattern):
        if not _value_position(pattern, m.start()):
            continue
        body = m.group()[1:-1]
        if hashes:
            if not _HEX.match(body):
                continue
            placeholder = "'" + "0" * len(body) + "'"
        else:
            placeholder = "'x'"
        out += [pattern[last:m.start()], placeholder]
        last = m.end()
    out.append(pattern[last:])
    return "".join(out)


def pattern_ok(pattern: str) -> bool:
    """Does the validator's pattern check (`musts.patterns`, STIX 2.1) pass? False for long
    patterns: the parse-tree walk recurses per comparison and the validator's RecursionError
    depends on its caller's depth."""
    if len(pattern) > _MAX_PATTERN or pattern.count("'") > _MAX_QUOTES:
        return False
    shape = pattern_shape(pattern)
    key = shape if shape is not None else pattern
    verdict = _PATTERN_VERDICTS.get(key)
    if verdict is None:
        probe = {"type": "indicator", "id": "indicator--probe", "pattern_type": "stix", "pattern": key,
                 "spec_version": "2.1"}
        try:
            verdict = not any(True for _e in _musts.patterns(probe, OPTIONS))
        except Exception:  # noqa: BLE001  (anything odd is left to the validator itself)
            verdict = False
        if len(_PATTERN_VERDICTS) >= _MAX_CACHED:
            _PATTERN_VERDICTS.clear()
        _PATTERN_VERDICTS[key] = verdict
    return verdict


def _pattern_ok_fast(pattern: str) -> bool:
    m = _SIMPLE_PATTERN.match(pattern)
    if m is None or "hashes" in pattern:
        return pattern_ok(pattern)
    key = m.group(1, 2)
    verdict = _SIMPLE_VERDICTS.get(key)
    if verdict is None:
        if len(_SIMPLE_VERDICTS) >= _MAX_CACHED:
            _SIMPLE_VERDICTS.clear()
        verdict = _SIMPLE_VERDICTS[key] = pattern_ok(f"[{key[0]} {key[1]} 'x']")
    return verdict


# ------------------------------------------------------------------ property forms
# String forms are regular-expression sources (no anchors, never matching "\x00": the layout
# expression joins them with it); other forms are functions of the value.
_UUID = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[1-5][0-9a-fA-F]{3}-[89abAB][0-9a-fA-F]{3}-[0-9a-fA-F]{12}"
_TYPE = r"[a-z][a-z0-9]*(?:-[a-z0-9]+)*"
STR = r"[^\x00]*"
REF = _TYPE + "--" + _UUID
REL_END = r"(?!(?:relationship|sighting|bundle|marking-definition|language-content)--)" + REF
_DATE_TIME = r"[1-9][0-9]{3}-(?:0[1-9]|1[012])-(?:0[1-9]|[12][0-9]|3[01])T(?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]"
TS = _DATE_TIME + r"(?:\.[0-9]{1,6})?Z"
TS_MILLIS = _DATE_TIME + r"\.[0-9]{3,6}Z"
_IPV4_PART = r"(?:[0-9]|[1-9][0-9]|1[0-9]{2}|2[0-4][0-9]|25[0-5])"
IPV4 = rf"(?:{_IPV4_PART}\.){{3}}{_IPV4_PART}(?:/(?:3[0-2]|[1-2][0-9]|[0-9]))?"
IPV6 = r"[0-9A-Fa-f]{1,4}(?::[0-9A-Fa-f]{1,4}){7}(?:/(?:12[0-8]|1[0-1][0-9]|[1-9][0-9]|[0-9]))?"
EMAIL = r"[a-zA-Z0-9_.+-]+@[a-zA-Z0-9-]+\.[a-zA-Z0-9-.]+"
_TIMESTAMPS = (TS, TS_MILLIS)

_ID_RX = re.compile(REF + r"\Z")
_CVE = re.compile(r"CVE-[0-9]{4}-(0[0-9]{3}|[1-9][0-9]{3,})\Z")
_CAPEC = re.compile(r"CAPEC-[0-9]+\Z")
_CVE_OR_CAPEC = re.compile(r"^((CVE-\d{4}-(0\d{3}|[1-9]\d{3,}))|(CAPEC-\d+))$")  # the schema's, re.search
_HASHES = {"MD5": re.compile(r"[a-fA-F0-9]{32}\Z"), "SHA-1": re.compile(r"[a-fA-F0-9]{40}\Z"),
           "SHA-256": re.compile(r"[a-fA-F0-9]{64}\Z"), "SHA-512": re.compile(r"[a-fA-F0-9]{128}\Z"),
           "SHA3-256": re.compile(r"[a-fA-F0-9]{64}\Z"), "SHA3-512": re.compile(r"[a-fA-F0-9]{128}\Z"),
           "SSDEEP": re.compile(r"[a-zA-Z0-9/+:.]{1,128}\Z"), "TLSH": re.compile(r"[a-zA-Z0-9]{70}\Z")}
_CUSTOM_KEY = re.compile(r"x_[a-z0-9_]{1,240}\Z")


def _str(v: object) -> bool:
    return type(v) is str


def _strs(v: object) -> bool:
    return type(v) is list and bool(v) and all(type(x) is str for x in v)


def _bool(v: object) -> bool:
    return type(v) is bool


def _refs(v: object) -> bool:
    return type(v) is list and bool(v) and all(type(x) is str and _ID_RX.match(x) for x in v)


def _confidence(v: object) -> bool:
    return type(v) is int and 0 <= v <= 100


def _lang(v: object) -> bool:
    return type(v) is str and v in _enums.LANG_CODES


def _size(v: object) -> bool:
    return type(v) is int and v >= 0


def _kill_chain(v: object) -> bool:
    return type(v) is list and bool(v) and all(
        type(p) is dict and len(p) == 2 and _str(p.get("kill_chain_name")) and _str(p.get("phase_name"))
        for p in v)


def _external_reference(r: object) -> bool:
    if type(r) is not dict or not r.keys() <= {"source_name", "description", "url", "external_id"}:
        return False
    source, ext = r.get("source_name"), r.get("external_id")
    if type(source) is not str or ("description" in r and not _str(r["description"])):
        return False
    if "url" in r and not (_str(r["url"]) and _FORMAT.conforms(r["url"], "uri")):
        return False
    if source == "cve":
        return type(ext) is str and _CVE.match(ext) is not None
    if source == "capec":
        return type(ext) is str and _CAPEC.match(ext) is not None
    if "\n" in source or ("external_id" in r and not (_str(ext) and not _CVE_OR_CAPEC.search(ext))):
        return False
    return len(r) > 1  # one of external_id, description, url


def _external_references(v: object) -> bool:
    return type(v) is list and bool(v) and all(_external_reference(r) for r in v)


def _hashes(v: object) -> bool:
    return type(v) is dict and bool(v) and all(
        k in _HASHES and type(h) is str and _HASHES[k].match(h) is not None for k, h in v.items())


def _custom(v: object) -> bool:
    """A plain custom value: the schema wants a non-empty list, a string, a number, a boolean or an object."""
    return type(v) in (str, bool, int) or _strs(v)


def _format(fmt: str):
    return lambda v: type(v) is str and _FORMAT.conforms(v, fmt)


_SDO = {"type": None, "spec_version": None, "id": None, "created_by_ref": REF, "labels": _strs,
        "created": TS_MILLIS, "modified": TS_MILLIS, "revoked": _bool, "confidence": _confidence,
        "lang": _lang, "external_references": _external_references, "object_marking_refs": _refs,
        "name": STR, "description": STR}
_SCO = {"type": None, "spec_version": None, "id": None, "object_marking_refs": _refs, "defanged": _bool}
_CORE = frozenset(("type", "spec_version", "id", "created", "modified"))
_SCO_CORE = frozenset(("type", "spec_version", "id", "value"))
SPECS = {
    "indicator": (_SDO | {"indicator_types": _strs, "pattern": STR, "pattern_type": STR, "pattern_version": STR,
                          "valid_from": TS, "valid_until": TS, "kill_chain_phases": _kill_chain},
                  _CORE | {"pattern", "pattern_type", "valid_from"}),
    "relationship": (_SDO | {"relationship_type": r"[a-z0-9\-]+", "source_ref": REL_END, "target_ref": REL_END,
                             "start_time": TS, "stop_time": TS},
                     _CORE | {"relationship_type", "source_ref", "target_ref"}),
    "identity": (_SDO | {"roles": _strs, "identity_class": STR, "sectors": _strs, "contact_information": STR},
                 _CORE | {"name"}),
    "attack-pattern": (_SDO | {"aliases": _strs, "kill_chain_phases": _kill_chain}, _CORE | {"name"}),
    "malware": (_SDO | {"is_family": _bool, "aliases": _strs, "malware_types": _strs, "kill_chain_phases": _kill_chain,
                        "first_seen": TS, "last_seen": TS, "architecture_execution_envs": _strs,
                        "implementation_languages": _strs, "capabilities": _strs},
                _CORE | {"is_family"}),
    "course-of-action": (_SDO, _CORE | {"name"}),
    "vulnerability": (_SDO, _CORE | {"name"}),
    "campaign": (_SDO | {"aliases": _strs, "first_seen": TS, "last_seen": TS, "objective": STR}, _CORE | {"name"}),
    "intrusion-set": (_SDO | {"aliases": _strs, "first_seen": TS, "last_seen": TS, "goals": _strs,
                              "resource_level": STR, "primary_motivation": STR, "secondary_motivations": _strs},
                      _CORE | {"name"}),
    "threat-actor": (_SDO | {"threat_actor_types": _strs, "aliases": _strs, "roles": _strs, "goals": _strs,
                             "first_seen": TS, "last_seen": TS, "sophistication": STR, "resource_level": STR,
                             "primary_motivation": STR, "secondary_motivations": _strs,
                             "personal_motivations": _strs},
                     _CORE | {"name"}),
    "tool": (_SDO | {"aliases": _strs, "tool_types": _strs, "tool_version": STR, "kill_chain_phases": _kill_chain},
             _CORE | {"name"}),
    "infrastructure": (_SDO | {"infrastructure_types": _strs, "aliases": _strs, "kill_chain_phases": _kill_chain,
                               "first_seen": TS, "last_seen": TS},
                       _CORE | {"name"}),
    "ipv4-addr": (_SCO | {"value": IPV4}, _SCO_CORE),
    "ipv6-addr": (_SCO | {"value": IPV6}, _SCO_CORE),
    "domain-name": (_SCO | {"value": _format("idn-hostname")}, _SCO_CORE),
    "url": (_SCO | {"value": _format("uri")}, _SCO_CORE),
    "email-addr": (_SCO | {"value": EMAIL, "display_name": STR}, _SCO_CORE),
    "file": (_SCO | {"hashes": _hashes, "name": STR, "size": _size}, _SCO_CORE - {"value"}),
}


# ------------------------------------------------------------------ layouts
class _Layout:
    """What to check for objects of one type with one key order."""

    __slots__ = ("strings", "expression", "others", "timestamps", "compares", "kind")

    def __init__(self, kind: str, keys: tuple[str, ...]):
        props = SPECS[kind][0]
        strings, sources, others, timestamps = [], [], [], []
        for key in keys:
            form = props.get(key, _custom if key[:2] == "x_" else False)
            if form is None:
                form = {"type": re.escape(kind), "spec_version": r"2\.1", "id": re.escape(kind) + "--" + _UUID}[key]
            if isinstance(form, str):
                strings.append(key)
                sources.append(form)
                if form in _TIMESTAMPS:
                    timestamps.append(key)
            else:
                others.append((key, form))
        self.kind = kind
        self.strings = operator.itemgetter(*strings)
        self.expression = re.compile("\x00".join(sources) + r"\Z")
        self.others = tuple(others)
        self.timestamps = tuple(timestamps)
        pairs = [("modified", "ge", "created")] + list(_enums.TIMESTAMP_COMPARE.get(kind, ()))
        self.compares = tuple(p for p in pairs if p[0] in keys and p[2] in keys)


_LAYOUTS: dict[tuple, _Layout | None] = {}


def _layout(kind: str, keys: tuple) -> _Layout | None:
    spec = SPECS.get(kind)
    if spec is None or not spec[1] <= set(keys):
        return None
    props = spec[0]
    if any(type(k) is not str or k not in props and not (k[:2] == "x_" and _CUSTOM_KEY.match(k) and not k.endswith(("_bin", "_hex")))
           for k in keys):
        return None
    return _Layout(kind, keys)


@functools.lru_cache(maxsize=4096)
def _real_date(day: str) -> bool:
    year, month, date = int(day[:4]), int(day[5:7]), int(day[8:10])
    return date <= calendar.monthrange(year, month)[1]


def _sort_key(ts: str) -> str:
    """Timestamps of the TS form compare as their datetimes when the fraction is padded."""
    return ts[:19] + ts[20:-1].ljust(6, "0")


def certainly_valid(obj: object) -> bool:
    """True only when stix2-validator (STIX 2.1, SHOULDs off) certainly reports no error."""
    if type(obj) is not dict:
        return False
    kind = obj.get("type")
    if type(kind) is not str:
        return False
    key = (kind, *obj)
    layout = _LAYOUTS.get(key, False)
    if layout is False:
        layout = _layout(kind, key[1:])
        if len(_LAYOUTS) >= 10_000:
            _LAYOUTS.clear()
        _LAYOUTS[key] = layout
    if layout is None:
        return False
    try:
        joined = "\x00".join(layout.strings(obj))
    except TypeError:  # a value that should be a string is not
        return False
    if layout.expression.match(joined) is None:
        return False
    for prop, form in layout.others:
        if not form(obj[prop]):
            return False
    for prop in layout.timestamps:
        value = obj[prop]
        if value[8:10] > "28" and not _real_date(value[:10]):
            return False
    for first, op, second in layout.compares:
        a, b = obj[first], obj[second]
        if a != b or op == "gt":
            a, b = _sort_key(a), _sort_key(b)
            if not (a > b if op == "gt" else a >= b):
                return False
    if kind == "indicator":
        if obj["pattern_type"] == "stix":
            return obj.get("pattern_version", "2.1") == "2.1" and _pattern_ok_fast(obj["pattern"])
    elif kind == "malware":
        return not obj["is_family"] or "name" in obj
    elif kind == "file":
        return "hashes" in obj or "name" in obj
    return True

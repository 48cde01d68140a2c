"""Strict STIX 2.1 verdicts at publishing speed (issue 12), never more lenient than stix2-validator.

`errors(obj)` gives exactly the error lines of `stix2validator.validate_instance(obj, options)`:
- `certainly_valid(obj)` first decides "valid" for the dominant simple shapes (indicator,
  relationship, identity, attack-pattern, malware and a few SCOs) when every property is known
  and of a form the validator accepts; the STIX pattern is parsed once per *shape* (string
  values replaced by a placeholder, see `pattern_shape`).
- anything else goes through the validator's own schema and MUST checks, with validators built
  once per schema over one pre-crawled schema registry (stix2-validator builds a fresh registry
  on every call, which dominates its cost); bundles and observed-data use `validate_instance`.
"""
from __future__ import annotations

import calendar
import functools
import os
import pathlib
import re

from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012
from stix2validator import ValidationOptions, validate_instance
from stix2validator import validator as _v
from stix2validator.errors import pretty_error
from stix2validator.v21 import enums as _enums
from stix2validator.v21 import musts as _musts

OPTIONS = ValidationOptions(version="2.1", disabled=["all"])
_SCHEMA_DIR = os.path.abspath(os.path.dirname(_v.__file__) + "/schemas-2.1/schemas/")
_FORMAT = Draft202012Validator.FORMAT_CHECKER


# ------------------------------------------------------------------ the validator, cached
@functools.lru_cache(maxsize=1)
def _registry() -> Registry:
    """Every bundled 2.1 schema under its file URI, as `retrieve_from_filesystem` loads it."""
    resources = []
    for root, _dirs, files in os.walk(_SCHEMA_DIR):
        for name in files:
            if name.endswith(".json"):
                path = os.path.join(root, name)
                uri = pathlib.Path(path).as_uri()
                schema = _v.patch_schema(_v.load_schema(path), _v.from_uri_to_path(uri))
                resources.append((uri, Resource.from_contents(schema)))
    retrieve = functools.partial(_v.retrieve_from_filesystem, schema_dir=_SCHEMA_DIR)
    return Registry(retrieve=retrieve).with_resources(resources).crawl()


@functools.lru_cache(maxsize=256)
def _validator(type_name: str, default: str):
    """The schema validator stix2-validator would build for this type (`_get_error_generator`)."""
    path = _v.find_schema(_SCHEMA_DIR, type_name) or _v.find_schema(_SCHEMA_DIR, default)
    schema = _v.patch_schema(_v.load_schema(path), path)
    registry = _registry().with_resource(path, DRAFT202012.create_resource(schema))
    return _v.STIXValidator(schema, registry=registry, format_checker=_FORMAT)


def validator_errors(obj: dict) -> list[str]:
    """The error lines of `validate_instance(obj, OPTIONS)`; raises where it raises."""
    kind = obj.get("type") if isinstance(obj, dict) else None
    if (not isinstance(kind, str) or kind in ("bundle", "observed-data") or "id" not in obj
            or not isinstance(obj["id"], str)):
        return [str(e) for e in validate_instance(obj, OPTIONS).errors]
    prefix = obj["id"] + ": "
    core = "core"
    if all(p not in obj for p in ("created", "modified")) and kind != "marking-definition":
        core = "cyber-observable-core"
    lines = [prefix + pretty_error(e, OPTIONS.verbose) for e in _validator(kind, core).iter_errors(obj)]
    lines += [pretty_error(e, OPTIONS.verbose)
              for e in _v._iter_errors_custom(obj, _musts.list_musts(OPTIONS), OPTIONS)]
    return lines


def errors(obj: dict) -> list[str]:
    """Validator error lines for one object; empty when it is valid."""
    return [] if certainly_valid(obj) else validator_errors(obj)


# ------------------------------------------------------------------ STIX patterns by shape
_LITERAL = re.compile(r"'[^']*'")
_HEX = re.compile(r"[0-9a-fA-F]*\Z")
_PATTERN_VERDICTS: dict[str, bool] = {}
_SIMPLE_VERDICTS: dict[tuple[str, str], bool] = {}
_MAX_VERDICTS = 100_000
_MAX_PATTERN, _MAX_QUOTES = 2_000, 40


def _value_position(pattern: str, start: int) -> bool:
    """Is the literal starting at `start` a comparison value (not a path component, not t'', b'', h'')?"""
    i = start - 1
    while i >= 0 and pattern[i] in " \t\r\n":
        i -= 1
    if i < 0:
        return False
    if pattern[i] in "=<>(,":
        return True
    return pattern.endswith("LIKE", 0, i + 1) and i >= 4 and pattern[i - 4] in " \t\r\n"


def pattern_shape(pattern: str) -> str | None:
    """The pattern with comparison string values replaced by a placeholder, None if unsafe.
    Values inside a pattern that mentions hashes keep their form when hexadecimal (same length,
    all zeros: the hash checks only look at length and alphabet) and are kept verbatim otherwise."""
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
    """Does the validator's pattern check (`musts.patterns`, STIX 2.1) pass for this pattern?
    False for long patterns: the parse tree walk recurses per comparison, and the validator
    raises RecursionError on long ones at a depth that depends on its caller."""
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
        except Exception:  # noqa: BLE001  (anything odd is decided by the validator itself)
            verdict = False
        if len(_PATTERN_VERDICTS) >= _MAX_VERDICTS:
            _PATTERN_VERDICTS.clear()
        _PATTERN_VERDICTS[key] = verdict
    return verdict


# ------------------------------------------------------------------ property forms
_UUID = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[1-5][0-9a-fA-F]{3}-[89abAB][0-9a-fA-F]{3}-[0-9a-fA-F]{12}"
_ID = re.compile(r"[a-z][a-z0-9]*(?:-[a-z0-9]+)*--" + _UUID + r"\Z")
_TS = re.compile(r"([0-9]{4})-(0[1-9]|1[012])-(0[1-9]|[12][0-9]|3[01])T(?:[01][0-9]|2[0-3]):[0-5][0-9]:"
                 r"[0-5][0-9](?:\.([0-9]{1,6}))?Z\Z")
_REL_TYPE = re.compile(r"[a-z0-9\-]+\Z")
_NOT_REL_ENDS = ("relationship--", "sighting--", "bundle--", "marking-definition--", "language-content--")
_CVE = re.compile(r"CVE-[0-9]{4}-(0[0-9]{3}|[1-9][0-9]{3,})\Z")
_CAPEC = re.compile(r"CAPEC-[0-9]+\Z")
_CVE_OR_CAPEC = re.compile(r"^((CVE-\d{4}-(0\d{3}|[1-9]\d{3,}))|(CAPEC-\d+))$")  # the schema's, re.search
_HASHES = {"MD5": re.compile(r"[a-fA-F0-9]{32}\Z"), "SHA-1": re.compile(r"[a-fA-F0-9]{40}\Z"),
           "SHA-256": re.compile(r"[a-fA-F0-9]{64}\Z"), "SHA-512": re.compile(r"[a-fA-F0-9]{128}\Z"),
           "SHA3-256": re.compile(r"[a-fA-F0-9]{64}\Z"), "SHA3-512": re.compile(r"[a-fA-F0-9]{128}\Z"),
           "SSDEEP": re.compile(r"[a-zA-Z0-9/+:.]{1,128}\Z"), "TLSH": re.compile(r"[a-zA-Z0-9]{70}\Z")}
_IPV4 = re.compile(r"(([0-9]|[1-9][0-9]|1[0-9]{2}|2[0-4][0-9]|25[0-5])\.){3}([0-9]|[1-9][0-9]|1[0-9]{2}|2[0-4][0-9]"
                   r"|25[0-5])(/(3[0-2]|[1-2][0-9]|[0-9]))?\Z")
_IPV6 = re.compile(r"[0-9A-Fa-f]{1,4}(:[0-9A-Fa-f]{1,4}){7}(/(12[0-8]|1[0-1][0-9]|[1-9][0-9]|[0-9]))?\Z")
_EMAIL = re.compile(r"[a-zA-Z0-9_.+-]+@[a-zA-Z0-9-]+\.[a-zA-Z0-9-.]+\Z")


@functools.lru_cache(maxsize=4096)
def _real_date(day: str) -> bool:
    year, month, date = int(day[:4]), int(day[5:7]), int(day[8:10])
    return 1000 <= year and date <= calendar.monthrange(year, month)[1]


_TS_SEEN: dict[str, tuple[str, bool] | None] = {}


def _ts_info(value: object) -> tuple[str, bool] | None:
    """(sortable key, has >= 3 fraction digits) for a timestamp the validator accepts (real date,
    no leap second, <= 6 fraction digits, so that dateutil and strptime both read it), else None."""
    if type(value) is not str:
        return None
    info = _TS_SEEN.get(value, False)
    if info is False:
        m = _TS.match(value)
        if not m or not _real_date(value[:10]):
            info = None
        else:
            frac = m.group(4) or ""
            info = (value[:19] + frac.ljust(6, "0"), len(frac) >= 3)
        if len(_TS_SEEN) >= _MAX_VERDICTS:
            _TS_SEEN.clear()
        _TS_SEEN[value] = info
    return info


def _str(v: object) -> bool:
    return type(v) is str


def _strs(v: object) -> bool:
    return type(v) is list and bool(v) and all(type(x) is str for x in v)


def _bool(v: object) -> bool:
    return type(v) is bool


def _ts(v: object) -> bool:
    return _ts_info(v) is not None


def _ts_millis(v: object) -> bool:
    info = _ts_info(v)
    return info is not None and info[1]


def _ref(v: object) -> bool:
    return type(v) is str and _ID.match(v) is not None


def _refs(v: object) -> bool:
    return type(v) is list and bool(v) and all(_ref(x) for x in v)


def _confidence(v: object) -> bool:
    return type(v) is int and 0 <= v <= 100


def _lang(v: object) -> bool:
    return type(v) is str and v in _enums.LANG_CODES


def _kill_chain(v: object) -> bool:
    return type(v) is list and bool(v) and all(
        type(p) is dict and len(p) == 2 and _str(p.get("kill_chain_name")) and _str(p.get("phase_name"))
        for p in v)


def _external_reference(r: object) -> bool:
    if type(r) is not dict or not r.keys() <= {"source_name", "description", "url", "external_id"}:
        return False
    source, ext = r.get("source_name"), r.get("external_id", None)
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
    return len(r) > 1


def _external_references(v: object) -> bool:
    return type(v) is list and bool(v) and all(_external_reference(r) for r in v)


def _hashes(v: object) -> bool:
    return type(v) is dict and bool(v) and all(
        k in _HASHES and type(h) is str and _HASHES[k].match(h) is not None for k, h in v.items())


def _rel_end(v: object) -> bool:
    return _ref(v) and not v.startswith(_NOT_REL_ENDS)


def _size(v: object) -> bool:
    return type(v) is int and v >= 0


_CUSTOM_KEY = re.compile(r"x_[a-z0-9_]{1,240}\Z")


def _custom(key: str, v: object) -> bool:
    """A custom property (`x_...`) of a plain form: the schema only wants a non-empty list, a
    string, a number, a boolean or an object (`*_bin` / `*_hex` names have forms of their own)."""
    return (type(v) in (str, bool, int) or _strs(v)) and _CUSTOM_KEY.match(key) is not None \
        and not key.endswith(("_bin", "_hex"))


def _format(fmt: str):
    return lambda v: type(v) is str and _FORMAT.conforms(v, fmt)


def _regex(rx: re.Pattern):
    return lambda v: type(v) is str and rx.match(v) is not None


_SDO = {"type": _str, "spec_version": _str, "id": _str, "created_by_ref": _ref, "labels": _strs,
        "created": _ts_millis, "modified": _ts_millis, "revoked": _bool, "confidence": _confidence,
        "lang": _lang, "external_references": _external_references, "object_marking_refs": _refs,
        "name": _str, "description": _str}
_SCO = {"type": _str, "spec_version": _str, "id": _str, "object_marking_refs": _refs, "defanged": _bool}
_CORE_REQUIRED = frozenset(("type", "spec_version", "id", "created", "modified"))
_SPECS = {
    "indicator": (_SDO | {"indicator_types": _strs, "pattern": _str, "pattern_type": _str,
                          "pattern_version": _str, "valid_from": _ts, "valid_until": _ts,
                          "kill_chain_phases": _kill_chain},
                  _CORE_REQUIRED | {"pattern", "pattern_type", "valid_from"}),
    "relationship": (_SDO | {"relationship_type": _regex(_REL_TYPE), "source_ref": _rel_end,
                             "target_ref": _rel_end, "start_time": _ts, "stop_time": _ts},
                     _CORE_REQUIRED | {"relationship_type", "source_ref", "target_ref"}),
    "identity": (_SDO | {"roles": _strs, "identity_class": _str, "sectors": _strs, "contact_information": _str},
                 _CORE_REQUIRED | {"name"}),
    "attack-pattern": (_SDO | {"aliases": _strs, "kill_chain_phases": _kill_chain}, _CORE_REQUIRED | {"name"}),
    "malware": (_SDO | {"is_family": _bool, "aliases": _strs, "malware_types": _strs, "kill_chain_phases": _kill_chain,
                        "first_seen": _ts, "last_seen": _ts, "architecture_execution_envs": _strs,
                        "implementation_languages": _strs, "capabilities": _strs},
                _CORE_REQUIRED | {"is_family"}),
    "ipv4-addr": (_SCO | {"value": _regex(_IPV4)}, frozenset(("type", "id", "value"))),
    "ipv6-addr": (_SCO | {"value": _regex(_IPV6)}, frozenset(("type", "id", "value"))),
    "domain-name": (_SCO | {"value": _format("idn-hostname")}, frozenset(("type", "id", "value"))),
    "url": (_SCO | {"value": _format("uri")}, frozenset(("type", "id", "value"))),
    "email-addr": (_SCO | {"value": _regex(_EMAIL), "display_name": _str}, frozenset(("type", "id", "value"))),
    "file": (_SCO | {"hashes": _hashes, "name": _str, "size": _size}, frozenset(("type", "id"))),
}


_SIMPLE_PATTERN = re.compile(r"\[([a-z0-9-]+:[a-z_][a-z0-9_]*) (=|!=) '[^'\\]*'\]\Z")


def _pattern_ok_fast(pattern: str) -> bool:
    m = _SIMPLE_PATTERN.match(pattern)
    if m is None or "hashes" in pattern:
        return pattern_ok(pattern)
    verdict = _SIMPLE_VERDICTS.get(m.group(1, 2))
    if verdict is None:
        if len(_SIMPLE_VERDICTS) >= _MAX_VERDICTS:
            _SIMPLE_VERDICTS.clear()
        verdict = _SIMPLE_VERDICTS[m.group(1, 2)] = pattern_ok(f"[{m.group(1)} {m.group(2)} 'x']")
    return verdict


def certainly_valid(obj: object) -> bool:
    """True only when stix2-validator (STIX 2.1, SHOULDs off) certainly reports no error."""
    if type(obj) is not dict:
        return False
    kind = obj.get("type")
    if type(kind) is not str or obj.get("spec_version") != "2.1":
        return False
    spec = _SPECS.get(kind)
    if spec is None:
        return False
    props, required = spec
    keys = obj.keys()
    if not keys >= required:
        return False
    for key, value in obj.items():
        check = props.get(key)
        if check is _str:
            if type(value) is not str:
                return False
        elif check is None:
            if not (key[:2] == "x_" and _custom(key, value)):
                return False
        elif not check(value):
            return False
    obj_id = obj["id"]
    if not (obj_id.startswith(kind) and obj_id[len(kind):len(kind) + 2] == "--" and _ID.match(obj_id)):
        return False
    if "created" in obj and _ts_info(obj["modified"])[0] < _ts_info(obj["created"])[0]:
        return False
    for first, op, second in _enums.TIMESTAMP_COMPARE.get(kind, ()):
        if first in obj and second in obj:
            a, b = _ts_info(obj[first])[0], _ts_info(obj[second])[0]
            if not (a > b if op == "gt" else a >= b):
                return False
    if kind == "indicator" and obj["pattern_type"] == "stix":
        return obj.get("pattern_version", "2.1") == "2.1" and _pattern_ok_fast(obj["pattern"])
    if kind == "malware" and obj["is_family"] and "name" not in obj:
        return False
    return kind != "file" or "hashes" in obj or "name" in obj

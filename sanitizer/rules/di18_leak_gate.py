"""DI-18: the leak gate. A final, separate scan of the serialised output — and of the public
redaction report — for every profile token in every DI-00 view (folded: NFKC, case, width,
invisibles, defanged, %-/entity/escape-decoded, punycode; key: kana, romaji, separators, orders,
variant kanji; look-alike skeletons; decoded MIME/QP/hex/Base64 tokens), victim and non-routable
addresses, home-path user names, precise date-times and original SDO/SRO ids. Any hit refuses
the whole output (P3: fail closed). It shares only the views and the compiled profile with the
detectors, not their decisions.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from .. import decoders, netviews
from ..matching import ProfileIndex
from . import di05_addresses, di07_home_paths, di09_timestamps
from .di13_ids import UUID_IN_TEXT as _UUID

RULE_ID = "DI-18"
TITLE = "Leak gate: final scan of the serialised output"
ACTION = "refuse: nothing is written or published"


PLACEHOLDERS = re.compile(
    r"\[(?:victim-org|person|keyword|host|account|victim-domain|victim-email|victim-ip|internal-ip|phone|sid|"
    r"mac|address|ref)\]")


@dataclass(frozen=True)
class GateHit:
    """One residual leak: which rule's data, what kind, where (a JSON path, never the value)."""

    rule: str
    what: str
    where: str


_STIX_ID = re.compile(r"([a-z0-9-]{1,250})--([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})")


def _cached(text: str, index: ProfileIndex, forbidden_uuids: frozenset[str], seen: dict) -> list:
    """`_check` once per distinct string; an id is its type name (checked once per type) and
    its UUID (a set look-up): bundles and reports hold thousands of distinct ids."""
    found = seen.get(text)
    if found is None:
        m = _STIX_ID.fullmatch(text)
        if m:
            found = list(_cached(m.group(1), index, forbidden_uuids, seen))
            if m.group(2) in forbidden_uuids:
                found.append(("DI-13", "original object id"))
        else:
            found = list(_check(text, index, forbidden_uuids))
        seen[text] = found
    return found


def _check(text: str, index: ProfileIndex, forbidden_uuids: frozenset[str], depth: int = 0):
    # The sanitiser's own placeholders are not leaks, even when a profile token ("victim",
    # "host") is spelled inside one.
    folded = PLACEHOLDERS.sub(" ", index.folded(text).text)
    if depth < decoders.MAX_DEPTH:  # encoded tokens, read decoded (DI-00 item 3)
        for _s, _e, readings in index.encoded(text):
            for reading in readings:
                for rule, what in _check(reading, index, forbidden_uuids, depth + 1):
                    yield rule, f"{what} (encoded)"
    for hit in index.find_tokens(folded):
        yield ("DI-03" if hit.kind not in ("domain", "domain-label", "email") else "DI-04",
               f"profile {hit.kind}")
    for c in index.view(netviews.candidates, folded):  # di05_addresses.addresses, shared view
        if not c.weak:
            verdict = index.ip_verdict(c.ip)
            if verdict:
                yield "DI-05", f"{verdict} address"
    for _span in di07_home_paths.user_names(folded):
        yield "DI-07", "home-path user name"
        break
    for m in di09_timestamps.TEXT_TS.finditer(folded):
        if any(int(m.group(g)) for g in ("H", "M", "S")):  # midnight is what coarsening writes
            yield "DI-09", "date-time precise to the second"
            break
    if index.view(di09_timestamps.precise_datetimes, folded, "day"):  # OTHER_TS.search, shared view
        yield "DI-09", "date-time precise to the second"
    if forbidden_uuids:
        for m in _UUID.finditer(folded):
            if m.group(0) in forbidden_uuids:
                yield "DI-13", "original object id"



def _structured_timestamp(obj: dict, prop: str) -> bool:
    """True for a top-level STIX timestamp property whose value parses as one."""
    value = obj.get(prop)
    return (prop in di09_timestamps.FLOOR_PROPS and isinstance(value, str)
            and di09_timestamps.parse_stix_timestamp(value) is not None)


def _walk(node, parts: list, check, out: list) -> None:
    """`check` every string of `node` (keys too, in document order) and note those with hits as
    (path parts, is a key, hits); the JSON path is only spelled out for them."""
    if isinstance(node, dict):
        for k, v in node.items():
            parts.append(k)
            found = check(k)
            if found:
                out.append((tuple(parts), True, found))
            if isinstance(v, str):
                found = check(v)
                if found:
                    out.append((tuple(parts), False, found))
            elif isinstance(v, (dict, list)):
                _walk(v, parts, check, out)
            parts.pop()
    elif isinstance(node, list):
        for i, v in enumerate(node):
            parts.append(i)
            if isinstance(v, str):
                found = check(v)
                if found:
                    out.append((tuple(parts), False, found))
            elif isinstance(v, (dict, list)):
                _walk(v, parts, check, out)
            parts.pop()
    elif isinstance(node, str):
        found = check(node)
        if found:
            out.append(((), False, found))


def _path(base: str, parts: tuple, key: bool) -> str:
    """The JSON path of a string: base.k[i].k, plus " (key)" for a key."""
    path = base + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in parts)
    return path + " (key)" if key else path


def _checker(index: ProfileIndex, forbidden_uuids: frozenset[str], seen: dict):
    def check(text: str) -> list:
        found = seen.get(text)
        return found if found is not None else _cached(text, index, forbidden_uuids, seen)
    return check


def scan(bundle: dict, index: ProfileIndex, forbidden_uuids: frozenset[str] = frozenset()) -> list[GateHit]:
    """Every residual leak in the output bundle (empty list = pass)."""
    hits = []
    seen: dict[str, list] = {}  # bundles repeat strings (types, ids, labels): check each once
    check = _checker(index, forbidden_uuids, seen)
    for i, obj in enumerate(bundle.get("objects", [])):
        base = f"objects[{i}]({obj.get('type', '?')})"
        found_in: list = []
        _walk(obj, [], check, found_in)
        for parts, key, found in found_in:
            where = _path(base, parts, key)
            for rule, what in found:
                if rule == "DI-05" and (obj.get("type"), where[len(base) + 1:]) in netviews.VERSION_PROPS:
                    continue  # P2: a software version is not an address
                if rule == "DI-09" and _structured_timestamp(obj, where[len(base) + 1:]):
                    continue  # judged below by its time of day (a hub version bump adds milliseconds)
                hits.append(GateHit(rule, what, where))
        # STIX timestamps must be coarse too (DI-09): no time of day left on them.
        for prop in di09_timestamps.FLOOR_PROPS:
            v = obj.get(prop)
            if isinstance(v, str):
                dt = di09_timestamps.parse_stix_timestamp(v)
                if dt is not None and (dt.hour or dt.minute or dt.second):
                    hits.append(GateHit("DI-09", "timestamp not coarsened", f"{base}.{prop}"))
    for rule, what in _cached(str(bundle.get("id", "")), index, forbidden_uuids, seen):
        hits.append(GateHit(rule, what, "bundle.id"))
    return hits


# The public report's own words (rule ids, actions, reasons, classes) are the sanitiser's
# templates; what came from the submission is in paths, object labels and keys.
_REPORT_FIELDS = {"path", "where", "object"}


def _walk_report(node, parts: list, check, out: list) -> None:
    """`_walk` for the public report: every key, and the string values of `_REPORT_FIELDS`."""
    if isinstance(node, dict):
        for k, v in node.items():
            parts.append(k)
            found = check(k)
            if found:
                out.append((tuple(parts), True, found))
            if k in _REPORT_FIELDS and isinstance(v, str):
                found = check(v)
                if found:
                    out.append((tuple(parts), False, found))
            elif isinstance(v, (dict, list)):
                _walk_report(v, parts, check, out)
            parts.pop()
    elif isinstance(node, list):
        for i, v in enumerate(node):
            if isinstance(v, (dict, list)):
                parts.append(i)
                _walk_report(v, parts, check, out)
                parts.pop()


def scan_report(public_report: dict, index: ProfileIndex,
                forbidden_uuids: frozenset[str] = frozenset()) -> list[GateHit]:
    """Every profile token or original id in the public redaction report (its keys, paths and
    object labels): peers see that report too."""
    hits = []
    found_in: list = []
    _walk_report(public_report, [], _checker(index, forbidden_uuids, {}), found_in)
    for parts, key, found in found_in:
        where = _path("report", parts, key)
        hits.extend(GateHit(rule, what, where) for rule, what in found if rule in ("DI-03", "DI-04", "DI-13"))
    return hits


def _generic(text: str):
    """(rule, what) of the profile-free leaks in lower-case serialised JSON."""
    for _ip in di05_addresses.non_routable(text):
        yield "DI-05", "non-routable address"
        break
    if "users" in text or "home" in text or "documents and settings" in text:
        for _span in di07_home_paths.user_names(text.replace("\\\\", "\\")):
            yield "DI-07", "home-path user name"
            break


def text_has_generic_leak(raw: bytes) -> bool:
    """True if a serialised document may hold a non-routable address or a home-path user name:
    one fast pass over a whole bundle before `scan_generic` locates the hits."""
    if b"\\u" in raw:
        return True  # \uXXXX escapes could spell an address: let the per-object scan decide
    return any(True for _hit in _generic(raw.decode("utf-8", "replace").lower()))


def scan_generic(objects: list) -> list[GateHit]:
    """The checks that need no victim profile, for operator bulk publication and TAXII writes:
    non-routable addresses and home-path user names anywhere in an object."""
    import orjson

    hits = []
    for i, obj in enumerate(objects):
        try:
            text = orjson.dumps(obj).decode().lower()
        except TypeError:
            continue  # not JSON-serialisable: the store rejects it as malformed
        hits.extend(GateHit(rule, what, f"objects[{i}]") for rule, what in _generic(text))
    return hits

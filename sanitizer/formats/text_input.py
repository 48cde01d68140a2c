"""Free-text IOC lists (any prose, e.g. Japanese, with defanged IOCs) -> STIX 2.1 bundle.

Pipeline: NFKC (full-width digits, dots, brackets) -> registry keys and user agents via
ioc_finder's parsers -> blank those out, protect brackets that are prose rather than defang
markers, ioc_fanger.fang -> ioc_finder.find_iocs for network IOCs, hashes, CVEs, ASNs ->
regex for ATT&CK technique ids -> canonicalise and validate each value via make_ioc.
"""
from __future__ import annotations

import datetime
import re
import unicodedata

import ioc_fanger
import ioc_finder

from sanitizer.errors import BadInput
from sanitizer.formats import unparsed
from sanitizer.report import UNPARSED_KEY
from sanitizer.formats.stixbuild import InvalidValue, Ioc, build_bundle, make_ioc


# ioc_finder.find_iocs result key -> our kind (run on the refanged text).
_FINDER_KINDS = {
    "urls": "url",
    "domains": "domain",
    "ipv4s": "ipv4",
    "ipv6s": "ipv6",
    "email_addresses": "email",
    "md5s": "md5",
    "sha1s": "sha1",
    "sha256s": "sha256",
    "sha512s": "sha512",
    "ssdeeps": "ssdeep",
    "cves": "cve",
    "asns": "asn",
}

# Registry keys and user agents are never defanged, and fanging damages them ("\\." -> ".",
# "Tablet)" -> "Tabl@"), so they are parsed from the NFKC text before fanging. ioc_finder's
# registry grammar also gives up on "...\\Run に登録" (space + non-ASCII after the key), so
# these parsers see runs of non-ASCII text (with the spaces before them) as line breaks.
_NON_ASCII_RUN = re.compile(r"[ \t]*[^\x00-\x7f]+")

# ATT&CK technique ids. Not taken from ioc_finder: it only knows the ids of its bundled
# ATT&CK snapshot and also reads them out of URL paths (".../techniques/T1105/").
# ASCII look-arounds because Japanese characters count as \w (no \b between them).
_TECHNIQUE = re.compile(r"(?<![A-Za-z0-9])T\d{4}(?:\.\d{3})?(?![A-Za-z0-9])")

# ioc_fanger turns "at"/"et" next to a bracket into "@", so "(evil.example.net)" becomes
# "(evil.example.n@" and "(attacker@x.org)" becomes "@tacker@x.org)". A bracket touching
# such a word is prose, not a defang marker like "(at)": swap it for its full-width twin,
# which both ioc_fanger and ioc_finder treat as a plain delimiter.
_AT_WORD = r"(?:at|et|arroba|AT|ET|ARROBA)"
_OPEN_BEFORE_WORD = re.compile(r"[\[\]\(\{\}](?=\ {0,3}" + _AT_WORD + r"[A-Za-z0-9_.\-@])")
_CLOSE_AFTER_WORD = re.compile(r"(?<=[A-Za-z0-9_.\-])(" + _AT_WORD + r"\ {0,3})([\]\)\}])")
_TO_FULL = str.maketrans("()[]{}", "（）［］｛｝")


def _protect_brackets(text: str) -> str:
    text = _OPEN_BEFORE_WORD.sub(lambda m: m.group(0).translate(_TO_FULL), text)
    return _CLOSE_AFTER_WORD.sub(lambda m: m.group(1) + m.group(2).translate(_TO_FULL), text)


def prepare_text(text: str) -> str:
    """Refang NFKC-normalised `text` the way the network/hash extractor sees it."""
    return ioc_fanger.fang(_protect_brackets(text))


def _blank_out(text: str, values: list[str]) -> str:
    for value in sorted(values, key=len, reverse=True):
        text = text.replace(value, " ")
    return text


def _candidates(text: str) -> dict[str, list[str]]:
    """kind -> raw candidate values found in NFKC-normalised `text`."""
    ascii_lines = _NON_ASCII_RUN.sub("\n", text)
    values = {
        "registry-key": ioc_finder.parse_registry_key_paths(ascii_lines),
        "user-agent": ioc_finder.parse_user_agents(ascii_lines),
    }
    # Otherwise "Chrome/120.0.0.0" in a user agent would also be an IPv4 indicator.
    prepared = prepare_text(_blank_out(text, values["registry-key"] + values["user-agent"]))
    found = ioc_finder.find_iocs(
        prepared,
        # A URL or e-mail address is one indicator: do not also report its host/domain,
        # nor hashes or domains that merely occur in a URL path.
        parse_domain_from_url=False,
        parse_from_url_path=False,
        parse_domain_from_email_address=False,
        included_ioc_types=list(_FINDER_KINDS),
    )
    values.update({kind: list(found.get(key) or []) for key, kind in _FINDER_KINDS.items()})
    # Reserved and new TLDs (.example, .test, .invalid, …) that ioc_finder's TLD list lacks.
    for kind, extra in unparsed.extra_candidates(
            _blank_out(text, values["registry-key"] + values["user-agent"])).items():
        values[kind] = list(dict.fromkeys(values[kind] + extra))
    values["attack-technique"] = _TECHNIQUE.findall(_blank_out(prepared, values["url"]))
    return values


def extract_iocs(text: str) -> list[Ioc]:
    """Indicators found in free `text`, canonicalised and sorted by (kind, value).

    Candidates that do not survive validation (ioc_finder false positives) are dropped.
    """
    iocs = set()
    for kind, values in _candidates(unicodedata.normalize("NFKC", text)).items():
        for value in values:
            try:
                iocs.add(make_ioc(kind, value))
            except InvalidValue:
                continue
    return sorted(iocs, key=lambda i: (i.kind, i.value))


def text_to_bundle(text: str, *, now: datetime.datetime) -> dict:
    """Extract IOCs from free text (any language, defanged or full-width) into a STIX 2.1 bundle.

    `now` (timezone-aware) stamps every object, so the same text and `now` always give the
    same bundle. Raises BadInput if the text is empty or holds no indicator.
    """
    if not text.strip():
        raise BadInput("text: empty input")
    iocs = extract_iocs(text)
    if not iocs:
        raise BadInput("text: no indicators of compromise found")
    bundle = build_bundle(iocs, now)
    missed = unparsed.audit(text, [i.value for i in iocs])
    if missed:  # read by the sanitiser into report.unparsed (line and class only)
        bundle[UNPARSED_KEY] = missed
    return bundle

"""DI-11: external references. Public sources stay; internal tickets, wikis and URLs on the
victim's or private hosts go.

v2: an `external_id` is kept only for a public catalogue (ATT&CK, CAPEC, CVE, CWE, JVN, NVD): a
case or ticket number is internal even when the source is a public organisation (a JPCERT/CC
incident number names one reported case). Links into collaboration and case tools (chat, file
shares, ticketing, wiki, self-hosted MISP / OpenCTI / TheHive) are dropped wherever they are hosted.
"""
from __future__ import annotations

import ipaddress
import re
from urllib.parse import urlsplit

RULE_ID = "DI-11"
TITLE = "external_references: keep public catalogue ids and public URLs, drop tickets and tool links"
ACTION = "drop the reference (or its internal external_id)"
# Catalogues whose ids are public knowledge; every other external_id is a case or ticket number.
PUBLIC_CATALOGUES = frozenset({
    "mitre-attack", "mitre-mobile-attack", "mitre-ics-attack", "mitre-pre-attack", "capec", "cve", "cwe",
    "nvd", "jvn", "jvndb",
})
_INTERNAL_TLDS = ("local", "internal", "lan", "corp", "intranet", "intra", "localdomain", "home.arpa",
                  "private", "localhost")
# Collaboration, file-share, ticketing, wiki and case tools: a link there is an internal record.
_TOOL_LABELS = frozenset({
    "slack", "teams", "kintone", "cybozu", "backlog", "backlogtool", "atlassian", "jira", "confluence", "box",
    "boxcloud", "sharepoint", "onedrive", "1drv", "dropbox", "notion", "misp", "opencti", "thehive", "cortex",
    "servicenow", "service-now", "zendesk", "redmine", "wiki", "chatwork", "lineworks", "worksmobile",
    "trello", "asana", "itsm", "freshservice", "otrs", "intranet", "intra", "helpdesk", "ticket", "tickets",
    "webex", "zoom", "mattermost", "rocketchat", "yammer", "sharefile", "gigafile", "firestorage",
})
_TOOL_PAIRS = (("drive", "google"), ("docs", "google"), ("sites", "google"), ("chat", "google"),
               ("my", "sharepoint"))
_TOOL_SOURCE = re.compile(
    r"(?:^|[^a-z])(?:slack|teams|kintone|backlog|jira|confluence|box|sharepoint|onedrive|google drive|dropbox|"
    r"notion|misp|opencti|thehive|the hive|servicenow|zendesk|redmine|wiki|chatwork|line works|trello|"
    r"ticket|internal|内部|社内|チケット)(?:$|[^a-z])")


def _labels(host: str) -> set[str]:
    out = set()
    for label in host.split("."):
        out.add(label)
        out.update(p for p in re.split(r"[-_]", label) if p)
    return out


def is_tool_host(host: str) -> bool:
    """True for a host of a collaboration / case tool (label-wise, so `x.slack.com`, `misp.soc.x`)."""
    labels = _labels(host.lower())
    return bool(labels & _TOOL_LABELS) or any(a in labels and b in labels for a, b in _TOOL_PAIRS)


def is_private_url(url: str) -> bool:
    """True for URLs that point into an organisation rather than to a public source."""
    try:
        parts = urlsplit(url.strip())
        host = (parts.hostname or "").lower().rstrip(".")
    except ValueError:
        return True
    if parts.scheme not in ("http", "https") or not host:
        return parts.scheme not in ("http", "https", "") or not host
    try:
        ip = ipaddress.ip_address(host)
        return not ip.is_global
    except ValueError:
        pass
    if "." not in host or host.endswith(tuple("." + t for t in _INTERNAL_TLDS)) or host in _INTERNAL_TLDS:
        return True
    return is_tool_host(host)


def is_public_catalogue(source_name: object) -> bool:
    """True for a source whose external ids are public catalogue entries (CVE, ATT&CK, …)."""
    return str(source_name or "").strip().lower() in PUBLIC_CATALOGUES


def decide(ref: dict) -> dict | None:
    """The reference as it may be shared (external_id removed when internal), or None to drop it.

    The engine still drops a kept reference whose text names the victim."""
    source = str(ref.get("source_name", "")).strip().lower()
    url = ref.get("url")
    if isinstance(url, str) and url and is_private_url(url):
        return None
    if is_public_catalogue(source):
        return ref
    if _TOOL_SOURCE.search(source) and not url:
        return None  # a chat, ticket or case tool named without a public link
    out = {k: v for k, v in ref.items() if k != "external_id"}
    if not (out.get("url") or out.get("description")):
        return None  # nothing but a case or ticket number
    return out


def keep(ref: dict) -> bool:
    """True if some form of the reference may be shared (see `decide`)."""
    return decide(ref) is not None


def ticket_prefix(ref: dict) -> str | None:
    """The prefix of an internal ticket id (`TKCIR` of `TKCIR-2024-0412`), for DI-02."""
    ext = ref.get("external_id")
    if is_public_catalogue(ref.get("source_name")) or not isinstance(ext, str):
        return None
    m = re.match(r"^([A-Za-z][A-Za-z0-9]{1,15})[-_#]\d", ext.strip())
    return m.group(1) if m else None

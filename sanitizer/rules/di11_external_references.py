"""DI-11: external references. Public sources stay; internal tickets, wikis and URLs on the
victim's or private hosts go."""
from __future__ import annotations

import ipaddress
import re
from urllib.parse import urlsplit

RULE_ID = "DI-11"
TITLE = "external_references: keep public sources, drop internal tickets and private URLs"
ACTION = "drop the reference"
PUBLIC_SOURCES = frozenset({
    "mitre-attack", "mitre-mobile-attack", "mitre-ics-attack", "mitre-pre-attack", "capec", "cve", "cwe",
    "nvd", "cpe", "jvn", "jvndb", "jpcert", "jpcert/cc", "cisa", "ncsc", "nisc", "ipa",
})
_INTERNAL_TLDS = ("local", "internal", "lan", "corp", "intranet", "intra", "localdomain", "home.arpa",
                  "private", "localhost")
# Ticket and wiki systems: even on a SaaS host a link there is an internal record.
_TICKET_HOST = re.compile(r"(?:^|[.-])(?:itsm|jira|redmine|wiki|confluence|servicenow|service-now|"
                          r"zendesk|backlog|freshservice|otrs|intranet|intra|helpdesk|ticket|tickets)(?:[.-]|$)")


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
    return bool(_TICKET_HOST.search(host))


def keep(ref: dict) -> bool:
    """Decide one reference before text scrubbing (the engine drops any that name the victim)."""
    source = str(ref.get("source_name", "")).strip().lower()
    url = ref.get("url")
    if isinstance(url, str) and url and is_private_url(url):
        return False
    if source in PUBLIC_SOURCES:
        return True
    # An id with no public link is an internal record (ticket, case number).
    return not (ref.get("external_id") and not url)

"""The victim profile: private input that lists every written form of the victim.

Validated on load with messages that name the field, never the value.
"""
from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field, replace

from .errors import BadInput

_LIST_FIELDS = ("organization_names", "domains", "ip_ranges", "hostnames", "people", "accounts",
                "email_addresses", "keywords", "inhouse_team_names", "inhouse_domains", "ticket_prefixes")
_KNOWN = set(_LIST_FIELDS) | {"sector", "region", "prefecture"}
_DOMAIN = re.compile(r"^(?=.{1,253}$)(?:[^\s./@:]{1,63}\.)+[^\s./@:]{1,63}\.?$")
_SECTOR = re.compile(r"^[a-z0-9][a-z0-9 -]{0,62}$")
_REGION = re.compile(r"^[A-Z]{2}$")
# DI-02 v2: a ticket prefix is the letters before the number (TKCIR of TKCIR-2024-0412).
_TICKET_PREFIX = re.compile(r"^[A-Za-z][A-Za-z0-9]{1,15}$")


@dataclass(frozen=True)
class VictimProfile:
    """Every way the victim can be written. Only `organization_names` is required."""

    organization_names: tuple[str, ...]
    domains: tuple[str, ...] = ()
    ip_ranges: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = ()
    hostnames: tuple[str, ...] = ()
    people: tuple[str, ...] = ()
    accounts: tuple[str, ...] = ()
    email_addresses: tuple[str, ...] = ()
    keywords: tuple[str, ...] = ()
    sector: str | None = None
    region: str | None = None
    prefecture: str | None = None  # DI-16 v2: only its group (地方) is ever shared, and only at k
    # DI-02 v2: when the submitter is the victim's own team (in-house CSIRT / SOC), its names and
    # abbreviations, its domains and its ticket prefixes are victim tokens too.
    inhouse_team_names: tuple[str, ...] = ()
    inhouse_domains: tuple[str, ...] = ()
    ticket_prefixes: tuple[str, ...] = ()
    unknown_fields: tuple[str, ...] = field(default=())

    @classmethod
    def from_dict(cls, data: object) -> "VictimProfile":
        """Validate a parsed profile document; raise BadInput naming the offending field."""
        if not isinstance(data, dict):
            raise BadInput("profile: must be a JSON object")
        lists = {}
        for name in _LIST_FIELDS:
            raw = data.get(name, [])
            if raw is None:
                raw = []
            if not isinstance(raw, list) or not all(isinstance(x, str) for x in raw):
                raise BadInput(f"profile: {name} must be a list of strings")
            lists[name] = tuple(x.strip() for x in raw if x.strip())
        if not lists["organization_names"]:
            raise BadInput("profile: organization_names is required and must list at least one name")
        for i, d in enumerate(lists["domains"]):
            if not _DOMAIN.match(d):
                raise BadInput(f"profile: domains[{i}] is not a domain name")
        for i, d in enumerate(lists["inhouse_domains"]):
            if not _DOMAIN.match(d):
                raise BadInput(f"profile: inhouse_domains[{i}] is not a domain name")
        for i, p in enumerate(lists["ticket_prefixes"]):
            if not _TICKET_PREFIX.match(p.rstrip("-_#")):
                raise BadInput(f"profile: ticket_prefixes[{i}] must be 2-16 letters or digits starting with a letter")
        for i, e in enumerate(lists["email_addresses"]):
            if e.count("@") != 1 or not _DOMAIN.match(e.split("@")[1]):
                raise BadInput(f"profile: email_addresses[{i}] is not an e-mail address")
        nets = []
        for i, r in enumerate(lists["ip_ranges"]):
            try:
                nets.append(ipaddress.ip_network(r, strict=False))
            except ValueError:
                raise BadInput(f"profile: ip_ranges[{i}] is not a valid CIDR range") from None
        sector = data.get("sector")
        if sector is not None:
            if not isinstance(sector, str) or not _SECTOR.match(sector.strip().lower()):
                raise BadInput("profile: sector must be a short lowercase sector name (e.g. manufacturing)")
            sector = sector.strip().lower()
        region = data.get("region")
        if region is not None:
            if not isinstance(region, str) or not _REGION.match(region.strip().upper()):
                raise BadInput("profile: region must be an ISO 3166-1 alpha-2 country code (e.g. JP)")
            region = region.strip().upper()
        prefecture = data.get("prefecture")
        if prefecture is not None and (not isinstance(prefecture, str) or not 1 <= len(prefecture.strip()) <= 20):
            raise BadInput("profile: prefecture must be a short prefecture name (e.g. 長野県)")
        return cls(
            organization_names=lists["organization_names"], domains=tuple(d.rstrip(".") for d in lists["domains"]),
            ip_ranges=tuple(nets), hostnames=lists["hostnames"], people=lists["people"],
            accounts=lists["accounts"], email_addresses=lists["email_addresses"], keywords=lists["keywords"],
            sector=sector, region=region, prefecture=prefecture.strip() if prefecture else None,
            unknown_fields=tuple(sorted(set(data) - _KNOWN)),
            inhouse_team_names=lists["inhouse_team_names"],
            inhouse_domains=tuple(d.rstrip(".") for d in lists["inhouse_domains"]),
            ticket_prefixes=tuple(p.rstrip("-_#") for p in lists["ticket_prefixes"]),
        )

    def extra_tokens(self) -> tuple[tuple[str, str], ...]:
        """DI-02 v2 tokens as (kind, value): the in-house team's names ("org"), domains ("domain")
        and ticket prefixes ("ticket-prefix"), for the token index and the leak gate."""
        return (tuple(("org", n) for n in self.inhouse_team_names)
                + tuple(("domain", d) for d in self.inhouse_domains)
                + tuple(("ticket-prefix", p) for p in self.ticket_prefixes))

    def expanded(self, team_names=(), domains=(), emails=(), prefixes=()) -> "VictimProfile":
        """This profile with the in-house team's tokens (declared, plus any found in the bundle)
        merged into the lists every detector reads: names as organisation names, domains as
        domains, ticket prefixes as keywords (the whole ticket id is DI-02's own finding)."""
        def merged(base, *more):
            return tuple(dict.fromkeys([*base, *(x for m in more for x in m if x and x.strip())]))
        return replace(
            self, organization_names=merged(self.organization_names, self.inhouse_team_names, team_names),
            domains=merged(self.domains, self.inhouse_domains, domains),
            email_addresses=merged(self.email_addresses, emails),
            keywords=merged(self.keywords, self.ticket_prefixes, prefixes),
            ticket_prefixes=merged(self.ticket_prefixes, prefixes))

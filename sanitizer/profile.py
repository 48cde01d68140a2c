"""The victim profile: private input that lists every written form of the victim.

Validated on load with messages that name the field, never the value.
"""
from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field

from .errors import BadInput

_LIST_FIELDS = ("organization_names", "domains", "ip_ranges", "hostnames", "people", "accounts",
                "email_addresses", "keywords")
_KNOWN = set(_LIST_FIELDS) | {"sector", "region"}
_DOMAIN = re.compile(r"^(?=.{1,253}$)(?:[^\s./@:]{1,63}\.)+[^\s./@:]{1,63}\.?$")
_SECTOR = re.compile(r"^[a-z0-9][a-z0-9 -]{0,62}$")
_REGION = re.compile(r"^[A-Z]{2}$")


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
        return cls(
            organization_names=lists["organization_names"], domains=tuple(d.rstrip(".") for d in lists["domains"]),
            ip_ranges=tuple(nets), hostnames=lists["hostnames"], people=lists["people"],
            accounts=lists["accounts"], email_addresses=lists["email_addresses"], keywords=lists["keywords"],
            sector=sector, region=region, unknown_fields=tuple(sorted(set(data) - _KNOWN)),
        )

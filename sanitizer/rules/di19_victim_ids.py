"""DI-19: identifiers of the victim's accounts in other systems — cloud tenants, subscriptions,
accounts and projects, directory names (AD domain, NetBIOS name, Kerberos realm, LDAP DNs, SPN
hosts, service principal hosts), EDR/SOC/vendor customer and contract ids, asset tags, licence keys, bank accounts,
account-holder names, corporate numbers (法人番号), stock tickers, autonomous-system numbers.

The same kinds of identifiers that belong to the attacker (the attacker's cloud account, OAuth app,
the mule account of a BEC demand) are attack-technique information and stay. An identifier is the
victim's when one of these rules says so (checked in this order):

R1 victim-side object: it is written in an object the engine already holds for the victim's
   (a victim identity or location, a user account, the victim's certificate or AS);
R3 victim-side property: the property key names the victim side (`victim`, `target`, `customer`,
   `被害`);
R2 victim nearby: in the same clause, the nearest owner mention before it is a victim mention (a
   profile token — name, domain, person, host, keyword — or a word such as `victim`, `被害`)
   and not an attacker mention (`attacker`, `actor`, `adversary`, `mule`, `攻撃者`, …); or the
   clause right after it names the victim first (`subscription X of <victim>`). A clause ends at
   a sentence end, `;`, a line break or a direction word (`to`, `->`), so in "from <victim>'s
   account A to <bank> B" only A is the victim's.
An identifier attributed to the attacker anywhere in the bundle is kept unless R1 holds.

Every victim identifier found once is removed everywhere in the bundle (`[VICTIM-ID]`): the
engine builds a `DerivedIndex` whose profile also lists them, so the other detectors and the leak
gate (DI-18) see them too; victim directory domains become victim domains (DI-04 then takes
every host under them, SPNs included), and the user in a victim DN or `NETBIOS\\user` an account.
"""
from __future__ import annotations

import dataclasses
import re

from ..matching import ProfileIndex
from ..normalize import Folded
from ..profile import VictimProfile
from . import di04_victim_domains
from .di07_home_paths import internal_host
from .base import Finding

RULE_ID = "DI-19"
TITLE = "Victim identifiers in cloud, directory and business systems (attacker's own stay)"
ACTION = "[VICTIM-ID] in text; objects holding them as values are dropped"
REPLACEMENT = "[VICTIM-ID]"

_GUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
_LEAD = r"[\s:=#'\"(\[（「/-]{0,6}"
_CANDIDATES = (
    ("tenant-domain", re.compile(r"(?<![a-z0-9.-])(?P<v>[a-z0-9][a-z0-9-]*\.onmicrosoft\.[a-z]{2,})(?![a-z0-9-])")),
    ("cloud-id", re.compile(r"(?:tenant|subscription|directory|tid|customer|org(?:anization)?|account|project|"
                            r"workspace|instance|テナント|サブスクリプション)(?:[ _-]?id)?" + _LEAD +
                            r"(?<![0-9a-z-])(?P<v>" + _GUID + r")(?![0-9a-f-])")),
    ("cloud-id", re.compile(r"microsoftonline\.[a-z.]+/(?P<v>" + _GUID + r")(?![0-9a-f-])")),
    ("aws-account", re.compile(r"(?:aws|account|acct|アカウント)(?:[ _-]?id)?" + _LEAD +
                               r"(?<![0-9])(?P<v>[0-9]{12})(?![0-9])")),
    ("aws-arn", re.compile(r"(?P<v>arn:aws[a-z-]*:[a-z0-9-]*:[a-z0-9-]*:(?P<acct>[0-9]{12}):[^\s'\"<>,;)]+)")),
    ("gcp-project", re.compile(r"(?:projects/|project[ _-]?id\s*[:=]?\s*)(?P<v>[a-z][a-z0-9-]{4,28}[a-z0-9])"
                               r"(?![a-z0-9-])")),
    ("directory-domain", re.compile(r"(?:\bad\b|active directory|dns domain|\bdomain\b|\brealm\b|\bforest\b|ドメイン)"
                                    r"\s*[:=(（「]?\s*(?P<v>[a-z0-9][a-z0-9-]*(?:\.[a-z0-9-]+)+)(?![a-z0-9-])")),
    ("netbios", re.compile(r"netbios(?:\s*(?:name|domain))?\s*[:=]?\s*(?P<v>[a-z0-9][a-z0-9-]{1,14})(?![a-z0-9-])")),
    ("ldap-dn", re.compile(r"(?<![a-z])(?P<v>(?:cn|ou|uid)=[^,=\n;)\"']+(?:,\s*(?:cn|ou|dc|uid|o|l|st|c)="
                           r"[^,=\n;)\"']+)*,\s*(?:cn|ou|dc|uid|o|l|st|c)=[^,=\s;)\"'<>]+)")),
    ("customer-id", re.compile(r"(?:customer|cust|\bcid|\borg|organization|contract|subscriber|licen[cs]e|"
                               r"契約|顧客|お客様)\s*(?:id|no\.?|number|番号|コード|code|key|キー)?\s*(?:\(cid\))?"
                               r"\s*[:=#：]?\s*(?P<v>(?=[a-z0-9-]*[0-9])[a-z0-9][a-z0-9-]{5,63})(?![a-z0-9-])")),
    ("asset-tag", re.compile(r"(?:asset|資産|端末)\s*(?:tag|no\.?|number|番号|id)?\s*[:=#：]?\s*"
                             r"(?P<v>(?=[a-z0-9-]*[0-9])[a-z0-9]+(?:-[a-z0-9]+)+)(?![a-z0-9-])")),
    ("licence-key", re.compile(r"(?:licen[cs]e|product key|serial|ライセンス|プロダクトキー)[^\n]{0,24}?"
                               r"(?<![a-z0-9-])(?P<v>[a-z0-9]{4,6}(?:-[a-z0-9]{4,6}){3,5})(?![a-z0-9-])")),
    ("bank-account", re.compile(r"(?:普通|当座|貯蓄|口座番号|savings|checking|account (?:no\.?|number))\s*[:：]?\s*"
                                r"(?P<v>[0-9]{6,8})(?![0-9])")),
    ("account-holder", re.compile(r"(?:口座名義|名義人?|account holder|holder)\s*[:：]?\s*"
                                  r"(?P<v>[ァ-ヶー][ァ-ヶー\s・]{1,30}?(?:[(（]カ[)）])?)(?=[\s、,。;)）]|$)")),
    ("corporate-number", re.compile(r"(?:法人番号|corporate number)\s*[:：]?\s*(?P<v>[1-9][0-9]{12})(?![0-9])")),
    ("ticker", re.compile(r"(?:東証|\btse|\btyo|証券コード|stock code|ticker|銘柄コード)\s*"
                          r"(?:prime|standard|growth|プライム|スタンダード|グロース)?\s*[:：]?\s*"
                          r"(?P<v>[0-9]{4}|[0-9]{3}[a-z])(?![0-9a-z])")),
    ("spn-host", re.compile(r"(?<![a-z0-9/._-])(?:mssqlsvc|cifs|host|ldap|termsrv|wsman|exchangemdb|"
                            r"restrictedkrbhost|mongodb|postgres|oraclesvc|kafka)/(?P<v>[a-z0-9][a-z0-9.-]*[a-z0-9])")),
    ("asn", re.compile(r"(?<![a-z0-9])(?:as|asn\s?)(?P<v>[0-9]{3,10})(?![0-9])")),
)
_TRIGGER = re.compile(r"tenant|subscription|directory|account|acct|arn:|project|onmicrosoft|microsoftonline|"
                      r"\bad\b|domain|realm|forest|netbios|cn=|ou=|uid=|customer|\bcid|\borg|contract|subscriber|"
                      r"licen|serial|product key|asset|資産|端末|普通|当座|貯蓄|口座|savings|checking|法人番号|"
                      r"corporate number|東証|tse|tyo|証券|ticker|銘柄|\bas\s?[0-9]|テナント|ドメイン|契約|顧客|(?:svc|cifs|host|ldap|termsrv|wsman|mdb|krbhost|mongodb|postgres|kafka)/|"
                      r"お客様|ライセンス|名義|holder")
_DOWN_LEVEL = re.compile(r"(?<![a-z0-9\\])(?P<dom>[a-z0-9][a-z0-9-]{1,14})\\(?P<user>[a-z0-9][a-z0-9._$-]*)")
_VICTIM_WORDS = re.compile(r"\bvictim|被害|自社|当社|\bour\b")
_ATTACKER_WORDS = re.compile(r"attacker|adversar|\bmule\b|threat[ -]actor'?s?\b|actor's|actor-(?:owned|controlled)|"
                             r"malicious (?:app|tenant|account|subscription)|攻撃者|犯人|受取口座")
_CLAUSE_END = re.compile(r"[.!?。]\s|[;；\n]|\bto\b|->|→|へ")
_NOT_TEXT = {"created", "modified", "valid_from", "valid_until", "first_seen", "last_seen", "first_observed",
             "last_observed", "published", "pattern_type", "pattern_version", "identity_class", "lang"}
_SKIP_KEYS = _NOT_TEXT | {"id", "type", "spec_version", "hashes", "kill_chain_phases", "pattern"}
_VICTIM_KEY = re.compile(r"victim|target|customer|被害")


def corporate_number_valid(digits: str) -> bool:
    """法人番号 check digit: the first digit is 9 - (sum of the other twelve, weighted 1/2 from the
    right, mod 9)."""
    if len(digits) != 13 or not digits.isdigit():
        return False
    body = digits[1:]
    total = sum(int(d) * (2 if i % 2 else 1) for i, d in enumerate(reversed(body)))
    return int(digits[0]) == 9 - total % 9


@dataclasses.dataclass
class VictimIds:
    """What the harvest found: value (folded) -> kind, and what is attacker-attributed."""

    values: dict[str, str] = dataclasses.field(default_factory=dict)
    domains: set[str] = dataclasses.field(default_factory=set)
    accounts: set[str] = dataclasses.field(default_factory=set)
    attacker: set[str] = dataclasses.field(default_factory=set)
    dns: set[str] = dataclasses.field(default_factory=set)

    def merge(self, other: "VictimIds") -> None:
        """Add another harvest's victim identifiers (its attacker attributions do not undo ours)."""
        for value, kind in other.values.items():
            self.values.setdefault(value, kind)
        self.domains |= other.domains
        self.accounts |= other.accounts

    def add(self, value: str, kind: str) -> None:
        if kind == "directory-domain":
            self.domains.add(value)
        else:
            self.values.setdefault(value, kind)


def _owner_before(text: str, start: int, index: ProfileIndex) -> str | None:
    window = text[max(0, start - 120):start]
    cut = None
    for cut in _CLAUSE_END.finditer(window):
        pass
    if cut is not None:
        window = window[cut.end():]
    victim_at = max((h.end for h in index.find_tokens(window)), default=-1)
    for m in _VICTIM_WORDS.finditer(window):
        victim_at = max(victim_at, m.end())
    attacker_at = max((m.end() for m in _ATTACKER_WORDS.finditer(window)), default=-1)
    if victim_at < 0 and attacker_at < 0:
        return None
    return "victim" if victim_at > attacker_at else "attacker"


def _owner_after(text: str, end: int, index: ProfileIndex) -> str | None:
    window = text[end:end + 48]
    m = _CLAUSE_END.search(window)
    if m:
        window = window[:m.start()]
    victim_at = min((h.start for h in index.find_tokens(window)), default=None)
    if victim_at is None:
        return None
    attacker = _ATTACKER_WORDS.search(window)
    return "attacker" if attacker and attacker.start() < victim_at else "victim"


def _strings(node, key=""):
    if isinstance(node, dict):
        for k, v in node.items():
            if k in _SKIP_KEYS or k.endswith("_ref") or k.endswith("_refs"):
                continue
            yield from _strings(v, k)
    elif isinstance(node, list):
        for v in node:
            yield from _strings(v, key)
    elif isinstance(node, str):
        yield key, node


_BARE_ID = re.compile(_GUID + r"|[0-9]{6,20}|(?=[a-z0-9-]*[0-9])(?=[a-z0-9-]*[a-z])[a-z0-9][a-z0-9-]{5,63}")


def _scan(text: str, index: ProfileIndex, victim_side: bool, found: VictimIds, logons: list) -> None:
    if victim_side and _BARE_ID.fullmatch(text.strip()):
        found.add(text.strip(), "victim-side-id")  # a property holding only an identifier (R1, R3)
    if not _TRIGGER.search(text):
        if "\\" in text:
            logons.extend(_DOWN_LEVEL.findall(text))
        return
    for kind, rx in _CANDIDATES:
        for m in rx.finditer(text):
            value = m.group("v")
            if kind == "corporate-number" and not corporate_number_valid(value):
                continue
            if kind == "directory-domain" and (value.count(".") < 1 or value[-1].isdigit()):
                continue
            owner = "victim" if victim_side else (
                _owner_before(text, m.start("v"), index) or _owner_after(text, m.end("v"), index))
            if owner is None and kind == "spn-host" and _spn_on_internal_host(text, value):
                owner = "victim"  # a service principal on an internal host is the victim's directory
            if kind == "ldap-dn":
                found.dns.add(value)
            if owner == "victim":
                found.add(value, kind)
                if kind == "aws-arn":
                    found.add(m.group("acct"), "aws-account")
            elif owner == "attacker":
                found.attacker.add(value)
    if "\\" in text:
        logons.extend(_DOWN_LEVEL.findall(text))


_KERBEROS = re.compile(r"\bspns?\b|kerbero|\btgs\b|ticket|service principal|setspn")


def _spn_on_internal_host(text: str, host: str) -> bool:
    """An SPN written in a Kerberos context whose host looks like a server name (sql02, fs-01,
    fs01.corp.local) and is not a public DNS name."""
    return bool(re.search(r"[0-9.-]", host)) and internal_host(host) and bool(_KERBEROS.search(text))


def harvest(objects: list[dict], index: ProfileIndex, victim_side: set[str]) -> VictimIds:
    """The victim's identifiers in the bundle, decided by R1-R3 above."""
    found = VictimIds()
    logons: list[tuple[str, str]] = []
    seen: set[str] = set()  # bundles repeat strings; outside victim-side places one look is enough
    for obj in objects:
        side = obj.get("id") in victim_side or obj.get("type") == "user-account"
        for key, text in _strings(obj):
            here = side or bool(_VICTIM_KEY.search(key.lower()))
            if not here:
                if text in seen or not (_TRIGGER.search(text.lower()) or "\\" in text):
                    seen.add(text)
                    continue
                seen.add(text)
            _scan(Folded(text).text, index, here, found, logons)
    for value in list(found.values):
        if value in found.attacker and not _victim_side_value(value, objects, victim_side):
            del found.values[value]
    _expand(found, index, logons)
    return found


def _victim_side_value(value: str, objects: list[dict], victim_side: set[str]) -> bool:
    return any(value in Folded(t).text for o in objects if o.get("id") in victim_side for _k, t in _strings(o))


def _dn_parts(dn: str) -> list[tuple[str, str]]:
    return [(k.strip(), v.strip()) for k, v in (p.split("=", 1) for p in re.split(r",\s*", dn) if "=" in p)]


def _dn_domain(dn: str) -> str | None:
    dcs = [v for k, v in _dn_parts(dn) if k == "dc" and v]
    return ".".join(dcs) if len(dcs) >= 2 else None


def _dn_users(dn: str) -> set[str]:
    return {v for k, v in _dn_parts(dn) if k in ("cn", "uid") and v}


def _expand(found: VictimIds, index: ProfileIndex, logons: list[tuple[str, str]]) -> None:
    """Derive what follows from a victim identifier: a DN's domain and user, ARN accounts."""
    for value, kind in list(found.values.items()):
        if kind == "ldap-dn":
            domain = _dn_domain(value)
            if domain:
                found.domains.add(domain)
            found.accounts.update(_dn_users(value))
    victim_domains = found.domains | set(index.domains)
    for dn in found.dns:  # a DN under a victim directory domain is the victim's wherever it is written
        if _dn_domain(dn) in victim_domains:
            found.add(dn, "ldap-dn")
            found.accounts.update(_dn_users(dn))
    # A user written as NETBIOS\user or DOMAIN\\user under a victim directory is a victim account.
    names = {v for v, k in found.values.items() if k == "netbios"}
    for d in found.domains | set(index.domains):
        names.update(label for label in d.split(".")[:-1] if len(label) >= 3)
    found.accounts.update(user for dom, user in logons if dom in names)


class DerivedIndex(ProfileIndex):
    """The profile index plus the victim identifiers harvested from this bundle."""

    def __init__(self, profile: VictimProfile, ids: VictimIds, extra_values: dict[str, str] | None = None):
        values = dict(ids.values)
        values.update(extra_values or {})
        for d in ids.domains:  # the DN spelling of a victim directory domain
            values.setdefault("dc=" + ",dc=".join(d.split(".")), "ldap-dn")
        # Long, specific values join the profile so DI-03 and the leak gate see them too; short
        # numbers (a 7-digit account, an AS number) only match here, as whole numbers.
        keywords = tuple(v for v in values if len(v) >= 6 and not (v.isdigit() and len(v) < 9))
        augmented = dataclasses.replace(
            profile, keywords=profile.keywords + keywords, domains=profile.domains + tuple(sorted(ids.domains)),
            accounts=profile.accounts + tuple(sorted(a for a in ids.accounts if len(a) >= 3)))
        super().__init__(augmented)
        self.victim_ids = values
        alternatives = sorted(values, key=len, reverse=True)
        self._ids_rx = re.compile(r"(?<![0-9a-z])(?:" + "|".join(map(re.escape, alternatives)) + r")(?![0-9a-z])") \
            if alternatives else None

    def find_victim_ids(self, text: str):
        """(start, end) of every harvested victim identifier in folded text (whole tokens)."""
        if self._ids_rx is None:
            return
        for m in self._ids_rx.finditer(text):
            yield m.start(), m.end()


def detect(folded: Folded, index: ProfileIndex) -> list[Finding]:
    """Harvested victim identifiers (only once the engine has built a DerivedIndex)."""
    find = getattr(index, "find_victim_ids", None)
    if find is None:
        return []
    out = []
    for s, e in find(folded.text):
        start, end = folded.orig_span(s, e)
        out.append(Finding(start, end, RULE_ID, "victim-id", REPLACEMENT))
    return out


def derive(objects: list[dict], index: ProfileIndex, victims: set[str], names_victim):
    """DI-04 object level and DI-19 for one submission: (ids of the victim's certificates and AS ->
    why, the index that also knows every victim identifier found, or None when nothing was found)."""
    ids = harvest(objects, index, set(victims))
    asns = {v for v, k in ids.values.items() if k == "asn"}
    net_victims = di04_victim_domains.victim_objects(objects, index, names_victim, asns)
    if net_victims:  # what the victim's certificates and AS objects hold is the victim's too
        ids.merge(harvest([o for o in objects if o["id"] in net_victims], index, set(net_victims)))
    extra = di04_victim_domains.victim_values(objects, net_victims)
    if ids.values or ids.domains or ids.accounts or extra:
        return net_victims, DerivedIndex(index.profile, ids, extra)
    return net_victims, None

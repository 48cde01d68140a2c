"""Deterministic generator of realistic STIX 2.1 bundles for the sanitiser benchmark.

A bundle looks like a CSIRT's incident write-up for one victim (the fictional
株式会社サンプル精機 / Sample Seiki of `DEMO_PROFILE`): one producer identity used as
`created_by_ref`, one victim identity, indicators over attacker infrastructure (some OR-ing an
attacker value with a victim value), malware, ATT&CK attack patterns, relationships,
sightings at the victim, observed-data and the SCOs it points at, and descriptions in
Japanese and English that sometimes name the victim or carry precise date-times.

Everything is derived from one `random.Random(seed)`: the same arguments give the same bundle.
"""
from __future__ import annotations

import random
import uuid

DEMO_PROFILE: dict = {
    "organization_names": ["株式会社サンプル精機", "サンプル精機", "Sample Seiki"],
    "domains": ["sample-seiki.example"],
    "ip_ranges": ["10.0.0.0/8"],
    "people": ["山田 太郎", "Taro Yamada"],
    "accounts": ["t.yamada"],
    "sector": "manufacturing",
    "region": "JP",
}

TLP_AMBER = "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421"  # OASIS TLP 2.0 AMBER

# Share of the objects after the fixed ones (identities, marking). Remainder goes to SCOs.
MIX = {
    "indicator": 0.18, "relationship": 0.22, "sighting": 0.07, "observed-data": 0.08,
    "malware": 0.03, "attack-pattern": 0.03, "campaign": 0.01,
}
SCO_MIX = (("ipv4-addr", 0.30), ("domain-name", 0.25), ("url", 0.15), ("file", 0.17),
           ("directory", 0.05), ("email-addr", 0.08))

TECHNIQUES = (
    ("T1566.001", "Spearphishing Attachment", "initial-access"),
    ("T1059.001", "PowerShell", "execution"),
    ("T1547.001", "Registry Run Keys / Startup Folder", "persistence"),
    ("T1071.001", "Web Protocols", "command-and-control"),
    ("T1105", "Ingress Tool Transfer", "command-and-control"),
    ("T1003.001", "LSASS Memory", "credential-access"),
    ("T1021.001", "Remote Desktop Protocol", "lateral-movement"),
    ("T1041", "Exfiltration Over C2 Channel", "exfiltration"),
)
HOME_USERS = ("t.yamada", "suzuki-h", "sato.k", "admin01", "Public")
FILE_NAMES = ("update.exe", "svchost.exe", "invoice_0314.doc.lnk", "msedge_helper.dll", "rundll.ps1")
APPDATA_DIRS = ("Local\\Temp", "Roaming\\Microsoft")
MALWARE_TYPES = ("backdoor", "remote-access-trojan", "downloader", "dropper", "keylogger")

JA_TEXT = (
    "攻撃者のC2サーバへの定期的なビーコン通信を確認した。",
    "{victim}の社内ネットワークで観測された不審な通信。初回観測は{ts}。",
    "{victim}の従業員宛てに送付された標的型メールの添付ファイルから展開されたマルウェア。",
    "ローダーがPowerShell経由で追加のペイロードを取得する。",
    "{victim}のファイルサーバ (10.{a}.{b}.{c}) からの外部送信を検知した。",
)
EN_TEXT = (
    "Periodic HTTPS beaconing to attacker infrastructure.",
    "Suspicious traffic observed at {victim_en} starting {ts}.",
    "Loader dropped into C:\\Users\\{user}\\AppData\\Local\\Temp by the phishing attachment.",
    "Used against several manufacturing companies in 2025; see vendor reporting.",
    "Beacon from host 10.{a}.{b}.{c} inside {victim_en} to the C2 at {ts}.",
)


class _Gen:
    """Stateful helper: one random stream, deterministic ids and values."""

    def __init__(self, seed: int):
        self.rng = random.Random(seed)

    def id(self, stix_type: str) -> str:
        return f"{stix_type}--{uuid.UUID(int=self.rng.getrandbits(128), version=4)}"

    def created(self) -> str:
        return f"2025-03-{self.rng.randint(10, 20):02d}T09:00:00.000Z"

    def precise(self) -> str:
        r = self.rng
        return f"2025-03-{r.randint(10, 20):02d}T{r.randint(0, 23):02d}:{r.randint(0, 59):02d}:{r.randint(1, 59):02d}Z"

    def attacker_ip(self) -> str:
        return f"{self.rng.choice(('198.51.100', '203.0.113'))}.{self.rng.randint(1, 254)}"

    def internal_ip(self) -> str:
        r = self.rng
        return f"10.{r.randint(0, 255)}.{r.randint(0, 255)}.{r.randint(1, 254)}"

    def attacker_domain(self) -> str:
        return f"cdn-{self.rng.randint(1, 5000)}.example.net"

    def sha256(self) -> str:
        return f"{self.rng.getrandbits(256):064x}"

    def description(self) -> str:
        """Japanese or English, sometimes naming the victim or carrying a precise time."""
        r = self.rng
        template = r.choice(JA_TEXT if r.random() < 0.5 else EN_TEXT)
        return template.format(victim=r.choice(("株式会社サンプル精機", "サンプル精機")), victim_en="Sample Seiki",
                               ts=self.precise(), user=r.choice(HOME_USERS),
                               a=r.randint(0, 255), b=r.randint(0, 255), c=r.randint(1, 254))

    def common(self, stix_type: str, producer: str) -> dict:
        created = self.created()
        return {"type": stix_type, "spec_version": "2.1", "id": self.id(stix_type), "created": created,
                "modified": created, "created_by_ref": producer, "object_marking_refs": [TLP_AMBER]}


def _counts(n_objects: int, fixed: int) -> dict[str, int]:
    rest = max(n_objects - fixed, 0)
    counts = {t: int(rest * share) for t, share in MIX.items()}
    sco_total = rest - sum(counts.values())
    for t, share in SCO_MIX:
        counts[t] = int(sco_total * share)
    counts["ipv4-addr"] += rest - sum(counts.values())  # rounding remainder
    return counts


def _fixed_objects(g: _Gen) -> tuple[dict, dict, dict]:
    marking = {"type": "marking-definition", "spec_version": "2.1", "id": TLP_AMBER,
               "created": "2022-10-01T00:00:00.000Z", "name": "TLP:AMBER",
               "extensions": {"extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d": {
                   "extension_type": "property-extension", "tlp_2_0": "amber"}}}
    producer = {"type": "identity", "spec_version": "2.1", "id": g.id("identity"),
                "created": "2025-01-01T00:00:00.000Z", "modified": "2025-01-01T00:00:00.000Z",
                "name": "Example CSIRT", "identity_class": "organization",
                "contact_information": "csirt@csirt.example.org"}
    victim = {"type": "identity", "spec_version": "2.1", "id": g.id("identity"),
              "created": "2025-03-14T09:00:00.000Z", "modified": "2025-03-14T09:00:00.000Z",
              "created_by_ref": producer["id"], "name": "株式会社サンプル精機",
              "description": "Sample Seiki, precision parts manufacturer (victim of the incident).",
              "identity_class": "organization", "sectors": ["manufacturing"],
              "contact_information": "Taro Yamada <t.yamada@sample-seiki.example>",
              "object_marking_refs": [TLP_AMBER]}
    return marking, producer, victim


def _sco(g: _Gen, t: str, dirs: list[str]) -> dict:
    r = g.rng
    obj = {"type": t, "spec_version": "2.1", "id": g.id(t)}
    if t == "ipv4-addr":
        obj["value"] = g.internal_ip() if r.random() < 0.1 else g.attacker_ip()
    elif t == "domain-name":
        obj["value"] = f"vpn.{DEMO_PROFILE['domains'][0]}" if r.random() < 0.05 else g.attacker_domain()
    elif t == "url":
        obj["value"] = f"https://{g.attacker_domain()}/{r.choice(('gate', 'api', 'static'))}/{r.randint(1, 999)}.php"
    elif t == "file":
        obj["hashes"] = {"SHA-256": g.sha256()}
        obj["name"] = r.choice(FILE_NAMES)
        obj["size"] = r.randint(10_000, 2_000_000)
        if dirs and r.random() < 0.4:
            obj["parent_directory_ref"] = r.choice(dirs)
    elif t == "directory":
        sub = r.choice(APPDATA_DIRS)
        obj["path"] = f"C:\\Users\\{r.choice(HOME_USERS)}\\AppData\\{sub}"
    elif t == "email-addr":
        obj["value"] = (f"{r.choice(('t.yamada', 'soumu', 'info'))}@{DEMO_PROFILE['domains'][0]}" if r.random() < 0.3
                        else f"sender{r.randint(1, 500)}@mail-{r.randint(1, 50)}.example.org")
    return obj


def _pattern(g: _Gen) -> str:
    r = g.rng
    kind = r.random()
    if kind < 0.30:
        return f"[ipv4-addr:value = '{g.attacker_ip()}']"
    if kind < 0.50:
        return f"[domain-name:value = '{g.attacker_domain()}']"
    if kind < 0.70:
        return f"[file:hashes.'SHA-256' = '{g.sha256()}']"
    if kind < 0.78:
        return f"[url:value = 'https://{g.attacker_domain()}/gate/{r.randint(1, 999)}.php']"
    if kind < 0.88:  # attacker OR victim value: the victim comparison must go
        return f"[ipv4-addr:value = '{g.attacker_ip()}' OR ipv4-addr:value = '{g.internal_ip()}']"
    if kind < 0.95:
        return (f"[domain-name:value = '{g.attacker_domain()}' OR "
                f"domain-name:value = 'mail.{DEMO_PROFILE['domains'][0]}']")
    return f"[file:hashes.'SHA-256' = '{g.sha256()}' AND file:name = '{r.choice(FILE_NAMES)}']"


def _indicator(g: _Gen, producer: str, i: int) -> dict:
    obj = g.common("indicator", producer)
    obj.update({"name": f"C2 indicator {i}", "indicator_types": ["malicious-activity"],
                "pattern": _pattern(g), "pattern_type": "stix", "pattern_version": "2.1",
                "valid_from": g.precise()})
    if g.rng.random() < 0.4:
        obj["description"] = g.description()
    return obj


def _malware(g: _Gen, producer: str, i: int) -> dict:
    obj = g.common("malware", producer)
    obj.update({"name": f"SampleLoader-{i}", "is_family": True,
                "malware_types": [g.rng.choice(MALWARE_TYPES)], "description": g.description()})
    return obj


def _attack_pattern(g: _Gen, producer: str, i: int) -> dict:
    tid, name, phase = TECHNIQUES[i % len(TECHNIQUES)]
    obj = g.common("attack-pattern", producer)
    obj.update({"name": name, "description": g.description(),
                "kill_chain_phases": [{"kill_chain_name": "mitre-attack", "phase_name": phase}],
                "external_references": [{"source_name": "mitre-attack", "external_id": tid,
                                         "url": f"https://attack.mitre.org/techniques/{tid.replace('.', '/')}"}]})
    return obj


def _campaign(g: _Gen, producer: str, i: int) -> dict:
    obj = g.common("campaign", producer)
    obj.update({"name": f"Operation Spring Gear {i}", "description": g.description(),
                "first_seen": g.precise()})
    return obj


def _relationship(g: _Gen, producer: str, pools: dict[str, list[str]], victim: str) -> dict:
    r = g.rng
    kind = r.random()
    if kind < 0.5 and pools["indicator"] and pools["malware"]:
        src, rel, dst = r.choice(pools["indicator"]), "indicates", r.choice(pools["malware"])
    elif kind < 0.8 and pools["malware"] and pools["attack-pattern"]:
        src, rel, dst = r.choice(pools["malware"]), "uses", r.choice(pools["attack-pattern"])
    elif pools["malware"]:
        src, rel, dst = r.choice(pools["malware"] + pools["campaign"]), "targets", victim
    else:
        src, rel, dst = victim, "related-to", victim
    obj = g.common("relationship", producer)
    obj.update({"relationship_type": rel, "source_ref": src, "target_ref": dst})
    return obj


def _sighting(g: _Gen, producer: str, pools: dict[str, list[str]], victim: str) -> dict:
    first = g.precise()
    obj = g.common("sighting", producer)
    obj.update({"sighting_of_ref": g.rng.choice(pools["indicator"]), "where_sighted_refs": [victim],
                "first_seen": first, "last_seen": first, "count": g.rng.randint(1, 40)})
    if pools["observed-data"] and g.rng.random() < 0.5:
        obj["observed_data_refs"] = [g.rng.choice(pools["observed-data"])]
    if g.rng.random() < 0.3:
        obj["description"] = g.description()
    return obj


def _observed_data(g: _Gen, producer: str, scos: list[str]) -> dict:
    first = g.precise()
    obj = g.common("observed-data", producer)
    obj.update({"first_observed": first, "last_observed": first, "number_observed": g.rng.randint(1, 20),
                "object_refs": g.rng.sample(scos, k=min(len(scos), g.rng.randint(1, 4)))})
    return obj


def generate_bundle(n_objects: int, seed: int = 7) -> dict:
    """A STIX 2.1 bundle of exactly `n_objects` objects (at least 3), deterministic in `seed`."""
    g = _Gen(seed)
    marking, producer, victim = _fixed_objects(g)
    objects: list[dict] = [marking, producer, victim]
    counts = _counts(n_objects, len(objects))
    pid, vid = producer["id"], victim["id"]

    dirs = [_sco(g, "directory", []) for _ in range(counts["directory"])]
    scos = dirs + [_sco(g, t, [d["id"] for d in dirs]) for t, _ in SCO_MIX if t != "directory"
                   for _ in range(counts[t])]
    pools: dict[str, list[str]] = {"sco": [o["id"] for o in scos]}
    makers = (("malware", _malware), ("attack-pattern", _attack_pattern), ("campaign", _campaign),
              ("indicator", _indicator))
    sdos = []
    for t, make in makers:
        made = [make(g, pid, i) for i in range(counts[t])]
        pools[t] = [o["id"] for o in made]
        sdos.extend(made)
    observed = [_observed_data(g, pid, pools["sco"]) for _ in range(counts["observed-data"])] if scos else []
    pools["observed-data"] = [o["id"] for o in observed]
    sightings = ([_sighting(g, pid, pools, vid) for _ in range(counts["sighting"])]
                 if pools["indicator"] else [])
    rels = [_relationship(g, pid, pools, vid) for _ in range(counts["relationship"])]

    objects += scos + sdos + observed + sightings + rels
    while len(objects) < n_objects:  # tiny bundles: pad with attacker addresses
        objects.append(_sco(g, "ipv4-addr", []))
    return {"type": "bundle", "id": g.id("bundle"), "objects": objects[:max(n_objects, 3)]}

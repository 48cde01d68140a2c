"""DI-16: only a coarse sector and a country may be shared, and the sector only if at least k
member organisations share it (otherwise the sector alone could name the victim).

v2: the sector is the top level of one fixed taxonomy (STIX industry-sector-ov; sub-sectors and
product lines map up, never down); the region is the country, or the prefecture group (地方)
when k member organisations are there; locations lose everything below that."""
from __future__ import annotations

from ..policy import Policy
from ..profile import VictimProfile

RULE_ID = "DI-16"
TITLE = "Sector and region: coarse sector (k-anonymous) and country only"
ACTION = "omit the sector when fewer than k members share it"

SECTOR_JA = {
    "agriculture": "農業", "aerospace": "航空宇宙", "automotive": "自動車", "chemical": "化学",
    "commercial": "商業", "communications": "通信", "construction": "建設", "defense": "防衛",
    "education": "教育", "energy": "エネルギー", "entertainment": "娯楽", "financial-services": "金融",
    "government": "政府機関", "government-national": "中央省庁", "government-regional": "地方自治体",
    "healthcare": "医療", "hospitality-leisure": "宿泊・レジャー", "infrastructure": "インフラ",
    "insurance": "保険", "manufacturing": "製造業", "mining": "鉱業", "non-profit": "非営利団体",
    "pharmaceuticals": "製薬", "retail": "小売", "technology": "情報技術", "telecommunications": "電気通信",
    "transportation": "運輸", "utilities": "公益事業", "food": "食品", "trading": "商社",
}
REGION_JA = {"JP": "日本"}


# DI-16 v2: one fixed taxonomy, the top level of STIX 2.1 industry-sector-ov. Sub-sectors and
# product lines are mapped up to their top level; anything unknown is omitted (fail closed).
TOP_SECTORS = frozenset({
    "agriculture", "aerospace", "automotive", "chemical", "commercial", "communications", "construction",
    "defense", "education", "energy", "entertainment", "financial-services", "government", "healthcare",
    "hospitality-leisure", "infrastructure", "insurance", "manufacturing", "mining", "non-profit",
    "pharmaceuticals", "retail", "technology", "telecommunications", "transportation", "utilities",
})
_SUB_PREFIXES = {"government-": "government", "infrastructure-": "infrastructure"}
SECTOR_SYNONYMS = {
    "bank": "financial-services", "banking": "financial-services", "finance": "financial-services",
    "financial": "financial-services", "securities": "financial-services", "credit-union": "financial-services",
    "shinkin": "financial-services", "payments": "financial-services", "fintech": "financial-services",
    "water": "utilities", "water-supply": "utilities", "electric": "utilities", "electricity": "utilities",
    "power": "utilities", "gas": "utilities", "sewerage": "utilities",
    "oil-gas": "energy", "oil": "energy", "nuclear": "energy",
    "university": "education", "school": "education", "academic": "education", "research": "education",
    "hospital": "healthcare", "medical": "healthcare", "health": "healthcare",
    "pharma": "pharmaceuticals", "telecom": "telecommunications", "isp": "telecommunications",
    "media": "communications", "broadcasting": "communications", "publishing": "communications",
    "software": "technology", "it": "technology", "it-services": "technology", "information-technology": "technology",
    "semiconductor": "technology", "electronics": "manufacturing", "machinery": "manufacturing",
    "food": "manufacturing", "textile": "manufacturing", "steel": "manufacturing", "auto-parts": "automotive",
    "logistics": "transportation", "railway": "transportation", "airline": "transportation",
    "shipping": "transportation", "trading": "commercial", "wholesale": "commercial", "real-estate": "commercial",
    "hotel": "hospitality-leisure", "tourism": "hospitality-leisure", "ngo": "non-profit",
    "public-sector": "government", "local-government": "government", "municipality": "government",
    "military": "defense",
}


def top_sector(sector: object) -> str | None:
    """The top-level industry-sector-ov value for a sector, sub-sector or product line; None if unknown."""
    if not isinstance(sector, str):
        return None
    key = "-".join(sector.strip().lower().replace("_", " ").replace("&", " ").split())
    if key in TOP_SECTORS:
        return key
    for prefix, top in _SUB_PREFIXES.items():
        if key.startswith(prefix):
            return top
    if key in SECTOR_SYNONYMS:
        return SECTOR_SYNONYMS[key]
    head = key.split("-", 1)[0]  # a product line under a known sector ("automotive-parts")
    return head if head in TOP_SECTORS else SECTOR_SYNONYMS.get(head)


def shareable_sector(profile: VictimProfile, policy: Policy) -> str | None:
    """The profile's top-level sector if at least k member organisations share it, else None.
    Member counts of sub-sectors add up to their top level."""
    top = top_sector(profile.sector)
    if not top or policy.sector_member_counts is None:
        return None
    members = sum(n for s, n in policy.sector_member_counts.items() if top_sector(s) == top)
    return top if members >= policy.k else None


# Prefecture groups (地方区分): the finest region ever shared, and only when k members are there.
PREFECTURE_GROUPS = {
    "hokkaido": ("北海道", "Hokkaido", ("北海道",)),
    "tohoku": ("東北", "Tohoku", ("青森", "岩手", "宮城", "秋田", "山形", "福島")),
    "kanto": ("関東", "Kanto", ("茨城", "栃木", "群馬", "埼玉", "千葉", "東京", "神奈川")),
    "chubu": ("中部", "Chubu", ("新潟", "富山", "石川", "福井", "山梨", "長野", "岐阜", "静岡", "愛知")),
    "kinki": ("近畿", "Kinki", ("三重", "滋賀", "京都", "大阪", "兵庫", "奈良", "和歌山")),
    "chugoku": ("中国", "Chugoku", ("鳥取", "島根", "岡山", "広島", "山口")),
    "shikoku": ("四国", "Shikoku", ("徳島", "香川", "愛媛", "高知")),
    "kyushu-okinawa": ("九州・沖縄", "Kyushu-Okinawa", ("福岡", "佐賀", "長崎", "熊本", "大分", "宮崎", "鹿児島", "沖縄")),
}
_PREF_TO_GROUP = {p: g for g, (_ja, _en, prefs) in PREFECTURE_GROUPS.items() for p in prefs}


def prefecture_group(prefecture: object) -> str | None:
    """The group key of a Japanese prefecture (長野県, 長野, or a group key itself); None if unknown."""
    if not isinstance(prefecture, str):
        return None
    p = prefecture.strip()
    if p.lower() in PREFECTURE_GROUPS:
        return p.lower()
    if p != "北海道":
        p = p.removesuffix("都").removesuffix("府").removesuffix("県")
    return _PREF_TO_GROUP.get(p)


def shareable_region(profile: VictimProfile, policy: Policy) -> str | None:
    """The country, plus the prefecture group when at least k member organisations are in it."""
    country = profile.region
    group = prefecture_group(getattr(profile, "prefecture", None))
    counts = policy.region_member_counts
    if country == "JP" and group and counts is not None and counts.get(group, 0) >= policy.k:
        return f"JP, {PREFECTURE_GROUPS[group][1]}"
    return country


def _region_ja(region: str) -> str:
    country, _, group = region.partition(", ")
    ja = REGION_JA.get(country, country)
    names = {en: gja for gja, en, _p in PREFECTURE_GROUPS.values()}
    return f"{ja}・{names.get(group, group)}地方" if group else ja


def labels(sector: str | None, region: str | None) -> tuple[str, str]:
    """English and Japanese names of the generalised victim identity."""
    where_en = f" ({region})" if region else ""
    where_ja = f"（{_region_ja(region)}）" if region else ""
    if sector:
        return (f"Organisation in the {sector} sector{where_en}",
                f"{SECTOR_JA.get(sector, sector)}の組織{where_ja}")
    return f"Organisation{where_en}", f"組織{where_ja}"


# Location properties finer than a country or region: they point at a site.
PRECISE_LOCATION = ("street_address", "postal_code", "city", "administrative_area", "latitude", "longitude",
                    "precision")


def generalise_sectors(sectors: object) -> list[str]:
    """`sectors` of an identity mapped to top-level values (unknown ones omitted)."""
    out = [top_sector(s) for s in sectors] if isinstance(sectors, list) else []
    return list(dict.fromkeys(s for s in out if s))


def generalise_location(obj: dict) -> list[str]:
    """Strip a location down to region and country; return what was removed."""
    removed = [p for p in PRECISE_LOCATION if p in obj]
    for p in removed:
        del obj[p]
    return removed

"""DI-16: only a coarse sector and a country may be shared, and the sector only if at least k
member organisations share it (otherwise the sector alone could name the victim)."""
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


def shareable_sector(profile: VictimProfile, policy: Policy) -> str | None:
    """The profile's sector if at least k member organisations share it, else None."""
    if not profile.sector or policy.sector_member_counts is None:
        return None
    return profile.sector if policy.sector_member_counts.get(profile.sector, 0) >= policy.k else None


def labels(sector: str | None, region: str | None) -> tuple[str, str]:
    """English and Japanese names of the generalised victim identity."""
    where_en = f" ({region})" if region else ""
    where_ja = f"（{REGION_JA.get(region, region)}）" if region else ""
    if sector:
        return (f"Organisation in the {sector} sector{where_en}",
                f"{SECTOR_JA.get(sector, sector)}の組織{where_ja}")
    return f"Organisation{where_en}", f"組織{where_ja}"


# Location properties finer than a country or region: they point at a site.
PRECISE_LOCATION = ("street_address", "postal_code", "city", "administrative_area", "latitude", "longitude",
                    "precision")


def generalise_location(obj: dict) -> list[str]:
    """Strip a location down to region and country; return what was removed."""
    removed = [p for p in PRECISE_LOCATION if p in obj]
    for p in removed:
        del obj[p]
    return removed

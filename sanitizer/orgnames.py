"""The distinctive core of an organisation name: the name without its legal form and generic
business words (株式会社鳴瀬川商事 → 鳴瀬川, Amagiri Shinkin Bank → Amagiri).

A victim's tool or lure often carries only the core (a campaign tag `鳴瀬川-2410`, a YARA string),
so DI-03 matches it too — but only when it is long enough to be distinctive: three or more
characters with a kanji, five or more kana (サンプル is a loanword), eight or more Latin letters
(Sample, Pacific are words) that are not generic business words.
"""
from __future__ import annotations

import re

# Legal forms and generic business words, written as they appear before or after a name.
_JA_AFFIXES = """
株式会社 有限会社 合同会社 合資会社 合名会社 一般社団法人 一般財団法人 公益社団法人 公益財団法人 社会福祉法人
医療法人 学校法人 独立行政法人 国立大学法人 (株) （株） ㈱ (有) （有） ㈲ カブシキガイシャ ユウゲンガイシャ
ホールディングス グループ ジャパン 商事 工業 興業 産業 製作所 電機 電気 精機 製菓 信用金庫 信用組合 信金 銀行 証券 保険 商会
商店 物産 建設 化学 製薬 運輸 病院 大学 薬品 食品 水道 鉄道 通信 技研 電子 重工 製鉄 自動車 システムズ システム 工務店
ショウジ コウギョウ セイキ セイカ シンキン ギンコウ デンキ サンギョウ
""".split()
_EN_AFFIXES = """
co ltd co.,ltd inc incorporated corp corporation company k.k kk holdings group japan bank shinkin shoji
kogyo seiki seika denki sangyo kabushiki kaisha gaisha limited llc plc systems system the of
""".split()
_GENERIC = set(_EN_AFFIXES) | {"global", "international", "industries", "industry", "trading", "electric",
                                "service", "services", "solutions", "technology", "technologies"}
_SEP = re.compile(r"[\s\u3000・･·,.\-_&]+")
_LATIN = re.compile(r"^[A-Za-z][A-Za-z0-9]*$")
_KANJI = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")


def cores(name: str) -> set[str]:
    """The distinctive cores of one organisation name (may be empty)."""
    out = set()
    ja = _strip_ja(name.strip())
    if ja and ja != name and not ja.isascii() and len(ja) >= (3 if _KANJI.search(ja) else 5):
        out.add(ja)
    words = [w for w in _SEP.split(name) if w]
    if words and all(w.isascii() for w in words):
        kept = list(words)
        while kept and kept[-1].lower().strip(".,") in _GENERIC:
            kept.pop()
        while kept and kept[0].lower().strip(".,") in _GENERIC:
            kept.pop(0)
        core = " ".join(kept)
        if kept and core.lower() != name.lower() and len(core.replace(" ", "")) >= 8 \
                and all(_LATIN.match(w) for w in kept):
            out.add(core)
    return out


def _strip_ja(name: str) -> str:
    changed = True
    while changed and name:
        changed = False
        for affix in _JA_AFFIXES:
            if name.startswith(affix) and len(name) > len(affix):
                name, changed = name[len(affix):].strip(" 　・"), True
            if name.endswith(affix) and len(name) > len(affix):
                name, changed = name[:-len(affix)].strip(" 　・"), True
    return name

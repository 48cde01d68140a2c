"""DI-00 canonical views, one test per view: the folded view (Unicode, defanging, repeated
decoding), the key view (kana, width, separators, romanisation, orders, variant kanji), look-alike
skeletons, decoded tokens (MIME, QP, hex, Base64), MATCHES expressions (DI-12) and the public
report's paths (DI-18)."""
from __future__ import annotations

import base64
import sys
import unicodedata
from email.header import Header

import pytest

from sanitizer import decoders, public_paths, views
from sanitizer.matching import ProfileIndex
from sanitizer.normalize import Folded, fold_str
from sanitizer.profile import VictimProfile

PROFILE = VictimProfile.from_dict({
    "organization_names": ["株式会社高瀬浜工業", "高瀬浜工業", "タカセハマコウギョウ", "Takasehama Kogyo"],
    "domains": ["amagiri-shinkin.example"],
    "people": ["楢崎 朋美", "ならさき ともみ", "Tomomi Narasaki"],
    "hostnames": ["NRS-PC0417"],
    "accounts": ["yu.kashiwagi"],
    "keywords": ["齋藤邊澤濱廣國"],
})
INDEX = ProfileIndex(PROFILE)


def kinds_in(text: str) -> set[str]:
    """The profile kinds found in `text` through every view."""
    return {h.kind for h in INDEX.find_tokens(Folded(text).text)}


# ------------------------------------------------------------------ view 1: Unicode
def test_di00_every_format_character_and_variation_selector_is_invisible():
    cf = [chr(c) for c in range(sys.maxunicode + 1) if unicodedata.category(chr(c)) == "Cf"]
    vs = [chr(c) for c in list(range(0xFE00, 0xFE10)) + list(range(0xE0100, 0xE01F0))]
    missing = [f"U+{ord(c):04X}" for c in cf + vs if not views.INVISIBLE.fullmatch(c)]
    assert missing == []


@pytest.mark.parametrize("ch", ["\u00ad", "\u200b", "\u200d", "\u2060", "\ufeff", "\u202e", "\U000e0100", "\ufe0f"])
def test_di00_invisible_characters_inside_a_name_are_ignored(ch):
    text = f"発注元は高瀬{ch}浜工業です"
    folded = Folded(text)
    assert "高瀬浜工業" in folded.text
    hit = max(INDEX.find_tokens(folded.text), key=lambda h: h.end - h.start)
    start, end = folded.orig_span(hit.start, hit.end)
    assert text[start:end] == f"高瀬{ch}浜工業"


@pytest.mark.parametrize("dash", ["\u2010", "\u2011", "\u2012", "\u2013", "\u2014", "\u2015", "\u2212", "\uff0d"])
def test_di00_hyphen_likes_are_one_hyphen(dash):
    assert Folded(f"NRS{dash}PC0417").text == "nrs-pc0417"
    assert "host" in kinds_in(f"seen on NRS{dash}PC0417 today")


# ------------------------------------------------------------------ view 3 inline: folded decoding
@pytest.mark.parametrize("written, plain", [
    ("%E9%AB%98%E7%80%AC%E6%B5%9C%E5%B7%A5%E6%A5%AD", "高瀬浜工業"),
    ("%25E9%25AB%2598%25E7%2580%25AC%25E6%25B5%259C%25E5%25B7%25A5%25E6%25A5%25AD", "高瀬浜工業"),
    ("".join(f"&#x{ord(c):X};" for c in "高瀬浜工業"), "高瀬浜工業"),
    ("".join(f"&amp;#x{ord(c):x};" for c in "高瀬浜工業"), "高瀬浜工業"),
    ("".join(f"&amp;amp;#{ord(c)};" for c in "高瀬浜工業"), "高瀬浜工業"),
    ("".join(f"&#x{ord(c):x}" for c in "高瀬浜工業"), "高瀬浜工業"),  # HTML5: no semicolon
    ("\\u9ad8\\u702c\\u6d5c\\u5de5\\u696d", "高瀬浜工業"),
    ("\\xe9\\xab\\x98\\xe7\\x80\\xac\\xe6\\xb5\\x9c\\xe5\\xb7\\xa5\\xe6\\xa5\\xad", "高瀬浜工業"),
])
def test_di00_percent_entities_and_escapes_decode_repeatedly(written, plain):
    text = f"tag={written} ;"
    folded = Folded(text)
    assert plain in folded.text
    hit = max((h for h in INDEX.find_tokens(folded.text) if h.kind == "org"), key=lambda h: h.end - h.start)
    start, end = folded.orig_span(hit.start, hit.end)
    assert text[start:end] == written  # the whole encoded run is what gets replaced


@pytest.mark.parametrize("written", ["amagiri-shinkin［．］example", "amagiri-shinkin【.】example",
                                     "amagiri-shinkin(.)example", "amagiri-shinkin[dot]example",
                                     "hxxps［:］//ib.amagiri-shinkin[.]example/"])
def test_di00_defanging_with_full_width_brackets_and_dots(written):
    assert "domain" in kinds_in(written)


def test_di00_punycode_labels_read_as_unicode():
    assert Folded("xn--amagri-shinkin-89l.test").text == "amagіri-shinkin.test"  # Cyrillic і
    assert "domain-label" in kinds_in("xn--amagri-shinkin-89l.test")


# ------------------------------------------------------------------ view 2: Japanese forms
@pytest.mark.parametrize("written", [
    "たかせはまこうぎょう", "タカセハマ・コウギョウ", "ﾀｶｾﾊﾏ ｺｳｷﾞｮｳ", "タカセハマ　コウギョウ", "たかセはまコウぎょう",
    "タカセハマ･コウギョウ", "タカセハマ·コウギョウ", "タカセハマ-コウギョウ", "タカセハマコーギョー", "たかせはまこーぎょー",
])
def test_di00_kana_width_and_separators_are_one_name(written):
    assert "org" in kinds_in(f"宛先: {written} 御中")


@pytest.mark.parametrize("written", [
    "Takasehama Kogyo", "Takasehama Kōgyō", "Takasehama Kougyou", "Takasehama Koogyoo", "Takasehama Kohgyoh",
    "TAKASEHAMA-KOGYO", "Takasehama Kôgyô", "takasehamakogyo", "Taka\u00adsehama Kogyo",
])
def test_di00_romanisation_variants_of_the_name(written):
    assert "org" in kinds_in(f"company field reads {written}.")


@pytest.mark.parametrize("pair", [("shi", "si"), ("tsu", "tu"), ("sho", "syo"), ("ji", "zi"), ("fu", "hu"),
                                  ("cha", "tya"), ("ja", "zya"), ("nb", "mb"), ("o", "ou"), ("o", "oh")])
def test_di00_key_view_equates_hepburn_kunrei_and_long_vowels(pair):
    hepburn, other = pair
    assert views.key("ka" + hepburn + "ra") == views.key("ka" + other + "ra")


@pytest.mark.parametrize("written", ["NARASAKI Tomomi", "Narasaki, Tomomi", "Tomomi Narasaki", "narasaki tomomi",
                                     "ナラサキ・トモミ", "ならさき　ともみ", "楢﨑 朋美", "楢崎朋美", "朋美 楢崎"])
def test_di00_person_name_orders_scripts_and_variants(written):
    assert "person" in kinds_in(f"宛: {written} 様")


def test_di00_family_name_alone_only_as_a_word():
    assert "surname" in kinds_in("楢崎です。本日中にお願いします")
    assert "surname" not in kinds_in("楢崎工業所のサーバ")


@pytest.mark.parametrize("variant", ["髙瀬濱工業", "高瀬濵工業", "髙瀬浜工業"])
def test_di00_variant_kanji_of_an_organisation(variant):
    assert "org" in kinds_in(f"株式会社{variant}様")


def test_di00_variant_kanji_table_covers_the_common_itaiji():
    forms = views.kanji_variants("高崎斎辺沢浜広国")
    for variant in ("髙", "﨑", "齋", "邊", "邉", "澤", "濱", "廣", "國"):
        assert any(variant in f for f in forms), variant


def test_di00_org_core_without_legal_form():
    index = ProfileIndex(VictimProfile.from_dict({"organization_names": ["鳴瀬川商事株式会社"]}))
    assert index.find_tokens(fold_str("$tag = \"鳴瀬川\""))
    # A short or loanword core is not a token of its own.
    index = ProfileIndex(VictimProfile.from_dict({"organization_names": ["株式会社サンプル精機", "Sample Seiki"]}))
    assert not index.find_tokens(fold_str("サンプルの検体 (malware sample)"))


# ------------------------------------------------------------------ view 4: look-alikes
@pytest.mark.parametrize("written", ["amagіri-shinkin.test", "аmagiri-shinkin.test", "arnagiri-shinkin.test",
                                     "amag1ri-shinkin.test", "Αmagiri-shinkin", "amagiri-shinkln.test"])
def test_di00_confusable_skeletons_of_a_domain_label(written):
    assert "domain-label" in kinds_in(written)


def test_di00_skeleton_is_the_uts39_prototype():
    assert views.skeleton("аmаgіrі") == views.skeleton("amagiri")  # Cyrillic а, і
    assert views.skeleton("rn") == views.skeleton("m")
    assert views.skeleton("рaypal") == views.skeleton("paypa1")


# ------------------------------------------------------------------ view 3: decoded tokens
def readings(text: str) -> list[str]:
    return [r for _s, _e, rs in decoders.candidates(text) for r in rs]


@pytest.mark.parametrize("header", [
    Header("高瀬浜工業 御中", "utf-8").encode(),
    Header("高瀬浜工業 御中", "iso-2022-jp").encode(),
    "=?UTF-8?Q?=E9=AB=98=E7=80=AC=E6=B5=9C=E5=B7=A5=E6=A5=AD?=",
])
def test_di00_mime_encoded_words(header):
    assert any("高瀬浜工業" in r for r in readings(f"Subject: {header}"))


def test_di00_quoted_printable_run():
    qp = "".join(f"={b:02X}" for b in "高瀬浜工業です".encode())
    assert any("高瀬浜工業" in r for r in readings("body: " + qp))


@pytest.mark.parametrize("encode", [
    lambda s: s.encode().hex(),
    lambda s: s.encode().hex().upper(),
    lambda s: " ".join(f"{b:02x}" for b in s.encode()),
    lambda s: " ".join(f"{b:02X}" for b in s.encode("utf-16-le")),
    lambda s: s.encode("utf-16-le").hex(),
    lambda s: "0x" + s.encode().hex(),
    lambda s: ", ".join(f"0x{b:02x}" for b in s.encode()),
])
def test_di00_hex_byte_strings_ascii_and_utf16le(encode):
    assert "NRS-PC0417" in readings("$h = { " + encode("NRS-PC0417") + " }")


@pytest.mark.parametrize("encode", [
    lambda s: base64.b64encode(s.encode()).decode(),
    lambda s: base64.urlsafe_b64encode(s.encode()).decode().rstrip("="),
    lambda s: base64.b64encode(s.encode("utf-16-le")).decode(),
])
def test_di00_base64_tokens_that_decode_to_text(encode):
    assert any("yu.kashiwagi" in r for r in readings("GET /b?u=" + encode("yu.kashiwagi") + "&v=2"))


def test_di00_hashes_and_ids_are_not_decoded_as_text():
    assert readings("sha256 " + "3e1bce02247bccd75283fef406d3adc7eb9f79daa54851bba156434d0188124c") == []
    assert readings("indicator--5e3a1f9c-7c5e-4b0a-9c3e-1f2e3d4c5b6a") == []


# ------------------------------------------------------------------ view 5: MATCHES (DI-12)
@pytest.mark.parametrize("expression", [
    r"^(ib\.|www\.)?a(m|rn)agir[iі1l]-shinkin\.[a-z]{2,8}$", r"(高瀬|タカセ)(浜|ハマ)(工業|コウギョウ)",
    r"[Tt]akaseh[a4]ma", r"NRS-PC0[0-9]{3}", r"(?i)narasaki",
])
def test_di12_matches_expression_that_matches_a_victim_token(expression):
    assert INDEX.matches_victim(expression)


@pytest.mark.parametrize("expression", [
    r"^https://[a-z0-9-]+\.(test|invalid)/ib/(login|otp)\.php\?sid=[0-9a-f]{32}$", r"[a-z]+", r".*",
    r"^.*\.exe$", r"evil-(cdn|update)\.test",
])
def test_di12_generic_or_attacker_expressions_are_not_victim_comparisons(expression):
    assert not INDEX.matches_victim(expression)


# ------------------------------------------------------------------ public report (DI-18)
@pytest.mark.parametrize("path, expected", [
    ("x_takasehama_ticket", "x_[REDACTED-KEY]"),
    ("extensions.extension-definition--1b2a8d43-33d8-4c54-b8f2-1b3a9d3e3c3a", "extensions.[REDACTED-ID]"),
    ("additional_header_fields.X-Takasehama-Case", "additional_header_fields.X-[REDACTED-KEY]"),
    ("pattern x-takasehama-case:x_owner", "pattern x-[REDACTED-KEY]:x_[REDACTED-KEY]"),
    ("pattern file:hashes.'SHA-256'", "pattern file:hashes.'SHA-256'"),
    ("external_references[2]", "external_references[2]"),
])
def test_di18_public_report_paths_hold_no_custom_key_or_id(path, expected):
    assert public_paths.path(path) == expected

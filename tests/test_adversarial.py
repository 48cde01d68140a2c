"""A generated adversarial suite for DI-00 / DI-03 / DI-04 / DI-12 / DI-18.

Seeded random victim tokens (kanji, kana and Latin organisation names, person names, host names,
domains) are written in every DI-00 encoding and notation into every carrier a submission has
(description, name, custom keys, extension values, indicator patterns, HTTP headers, file names,
registry values, external references, e-mail subjects). The output bundle and the public report
must not hold the token in any view — checked by a decoder written here, independent of the
sanitiser's own views — and random attacker values written the same way in the same places are
kept. Hand fixtures at the end cover each class of issue 10 with three or more variants.
"""
from __future__ import annotations

import base64
import codecs
import html
import json
import quopri
import random
import re
import unicodedata
from email.header import Header, decode_header, make_header
from urllib.parse import quote, unquote

import pytest

from sanitizer.engine import sanitize
from sanitizer.errors import LeakRefused
from sanitizer.policy import Policy
from sanitizer.profile import VictimProfile

from conftest import SECRET, bundle, indicator, sco, sdo

# ------------------------------------------------------------------ independent decoder
_SEPARATORS = re.compile(r"[\s\u3000・･·\-‐‑‒–—―−－_.,、。'’]+")


def canon(text: str) -> str:
    """NFKC, case fold, invisibles and diacritics dropped, hiragana as katakana, no separators."""
    text = unicodedata.normalize("NFKC", text).casefold()
    out = []
    for ch in unicodedata.normalize("NFD", text):
        cat = unicodedata.category(ch)
        if cat == "Cf" or 0xFE00 <= ord(ch) <= 0xFE0F or 0xE0100 <= ord(ch) <= 0xE01EF:
            continue
        if cat == "Mn" and out and out[-1].isascii():
            continue  # a Latin diacritic (ō → o); kana voicing marks are kept
        if 0x3041 <= ord(ch) <= 0x3096:
            ch = chr(ord(ch) + 0x60)
        out.append(ch)
    return _SEPARATORS.sub("", unicodedata.normalize("NFC", "".join(out)))


def _as_text(raw: bytes) -> list[str]:
    out = []
    for enc in ("utf-8", "utf-16-le", "iso-2022-jp"):
        try:
            out.append(raw.decode(enc))
        except (UnicodeDecodeError, ValueError):
            pass
    return out


def decodings(text: str) -> set[str]:
    """Every reading of `text` a peer could make by decoding, to depth 3."""
    seen, frontier = {text}, {text}
    for _ in range(3):
        new = set()
        for s in frontier:
            new.add(unquote(s))
            new.add(html.unescape(s))
            new.add(re.sub(r"[\[(（［【]\s*[.．。]\s*[\])）］】]", ".", s))
            try:
                new.add(str(make_header(decode_header(s))))
            except Exception:  # noqa: BLE001 - any header text that does not decode
                pass
            for m in re.finditer(r"(?:\\u[0-9a-fA-F]{4})+", s):
                new.add(codecs.decode(m.group(0), "unicode_escape"))
            for m in re.finditer(r"(?:\\x[0-9a-fA-F]{2})+", s):
                new.update(_as_text(bytes.fromhex(m.group(0).replace("\\x", ""))))
            for m in re.finditer(r"(?:=[0-9A-Fa-f]{2})+", s):
                new.update(_as_text(quopri.decodestring(m.group(0).encode())))
            for m in re.finditer(r"[0-9A-Fa-f]{2}(?:\s?[0-9A-Fa-f]{2})+", s):
                new.update(_as_text(bytes.fromhex(re.sub(r"\s", "", m.group(0)))))
            for m in re.finditer(r"[A-Za-z0-9+/_-]{6,}={0,2}", s):
                tok = m.group(0).rstrip("=")
                for alt in (b"+/", b"-_"):
                    try:
                        new.update(_as_text(base64.b64decode(tok + "=" * (-len(tok) % 4), altchars=alt)))
                    except ValueError:
                        pass
            for m in re.finditer(r"xn--[a-z0-9-]+", s, re.IGNORECASE):
                try:
                    new.add(m.group(0)[4:].encode().decode("punycode"))
                except UnicodeError:
                    pass
        frontier = new - seen
        seen |= new
    return seen


def strings_of(doc) -> list[str]:
    """Every key and string value of a JSON document."""
    out = []
    if isinstance(doc, dict):
        for k, v in doc.items():
            out.append(k)
            out.extend(strings_of(v))
    elif isinstance(doc, list):
        for v in doc:
            out.extend(strings_of(v))
    elif isinstance(doc, str):
        out.append(doc)
    return out


def leaks(doc, needles: list[str]) -> list[str]:
    """The needles found in any reading of any string of `doc`."""
    canon_needles = {canon(n): n for n in needles if len(canon(n)) >= 3}
    found = set()
    for s in strings_of(doc):
        for reading in decodings(s):
            c = canon(reading)
            found.update(orig for cn, orig in canon_needles.items() if cn in c)
    return sorted(found)


# ------------------------------------------------------------------ random victims
_KANJI = "鴫楢霞朧笹凪鳴瀬氷見柚朱鷺雪割霧嵐楓浦瑞雲縞榊樫椿槙檜"
_KANA = "カキクケコサシスセソタチツテトナニヌネノハヒフヘホマミムメモラリルレロ"
_SYLLABLES = ["ka", "ki", "ku", "ke", "ko", "sa", "shi", "su", "se", "so", "ta", "chi", "tsu", "te", "to",
              "na", "ni", "nu", "ne", "no", "ha", "hi", "fu", "ma", "mi", "mo", "ra", "ri", "ru", "ro", "ya", "yu"]


def victim(rng: random.Random) -> dict:
    """A random victim: profile and the plain tokens a submission may hold."""
    kanji = "".join(rng.choice(_KANJI) for _ in range(3))
    kana = "".join(rng.choice(_KANA) for _ in range(5))
    romaji = "".join(rng.choice(_SYLLABLES) for _ in range(4)).capitalize()
    family = "".join(rng.choice(_SYLLABLES) for _ in range(3)).capitalize()
    given = "".join(rng.choice(_SYLLABLES) for _ in range(3)).capitalize()
    host = f"{romaji[:3].upper()}-PC{rng.randrange(1000, 9999)}"
    domain = f"{romaji.lower()}-corp.example"
    profile = {"organization_names": [f"株式会社{kanji}工業", f"{kanji}工業", f"{kana}コウギョウ", f"{romaji} Kogyo"],
               "domains": [domain], "people": [f"{family} {given}".replace(family, family), f"{given} {family}"],
               "hostnames": [host], "sector": "manufacturing", "region": "JP"}
    tokens = [f"{kanji}工業", f"{kana}コウギョウ", f"{romaji} Kogyo", f"{given} {family}", host, domain]
    return {"profile": profile, "tokens": tokens, "written": {
        "kanji org": f"{kanji}工業", "kana org (hiragana)": _hira(kana) + "こうぎょう",
        "kana org (dotted)": f"{kana}・コウギョウ", "latin org (macron)": f"{romaji} Kōgyō",
        "person (LAST First)": f"{family.upper()} {given}", "person (Last, First)": f"{family}, {given}",
        "host": host, "domain": domain, "domain (defanged)": domain.replace(".", "[.]"),
    }}


def _hira(kana: str) -> str:
    return "".join(chr(ord(c) - 0x60) for c in kana)


def attacker(rng: random.Random) -> str:
    """A random attacker value (a C2 host name)."""
    return "".join(rng.choice("bdgjkpqvwxz") for _ in range(7)) + "-cdn.test"


# ------------------------------------------------------------------ encodings and carriers
def _fullwidth(s: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in s)


ENCODINGS = {
    "plain": lambda s: s,
    "full-width": _fullwidth,
    "zero-width": lambda s: "\u200b".join(s),
    "soft-hyphen": lambda s: s[:2] + "\u00ad" + s[2:],
    "percent": lambda s: quote(s, safe=""),
    "percent-twice": lambda s: quote(quote(s, safe=""), safe=""),
    "html-entities": lambda s: "".join(f"&#x{ord(c):x};" for c in s),
    "html-twice": lambda s: "".join(f"&amp;#{ord(c)};" for c in s),
    "base64": lambda s: base64.b64encode(s.encode()).decode(),
    "base64url": lambda s: base64.urlsafe_b64encode(s.encode()).decode().rstrip("="),
    "hex-utf8": lambda s: s.encode().hex(),
    "hex-utf16le-spaced": lambda s: " ".join(f"{b:02X}" for b in s.encode("utf-16-le")),
    "u-escapes": lambda s: "".join(f"\\u{ord(c):04x}" for c in s),
    "x-escapes": lambda s: "".join(f"\\x{b:02x}" for b in s.encode()),
    "mime-b-utf8": lambda s: Header(s, "utf-8").encode(),
    "mime-q-utf8": lambda s: "=?UTF-8?Q?" + "".join(f"={b:02X}" for b in s.encode()) + "?=",
    "quoted-printable": lambda s: "".join(f"={b:02X}" for b in s.encode()),
}


def carriers(value: str, n: int) -> list[dict]:
    """Objects carrying `value` in each place a submission can hold text (n: id offset)."""
    mal = sdo("malware", n, name=f"loader {value}", is_family=False, description=f"beacon tag {value} seen")
    custom = sdo("malware", n + 1, name="PlugX", is_family=True, **{f"x_{value}_ticket": "1", "x_note": value})
    http = sco("network-traffic", n + 2, dst_ref=sco("ipv4-addr", n + 3, value="203.0.113.9")["id"],
               protocols=["tcp", "http"], extensions={"http-request-ext": {
                   "request_method": "GET", "request_value": f"/p?t={value}",
                   "request_header": {"Referer": [f"https://cdn.example/{value}"], "X-Tag": [value]}}})
    ip = sco("ipv4-addr", n + 3, value="203.0.113.9")
    f = sco("file", n + 4, name=f"{value}.iso", hashes={"SHA-256": f"{n:064x}"})
    reg = sco("windows-registry-key", n + 5, key="HKEY_CURRENT_USER\\Software\\Loader",
              values=[{"name": "cfg", "data": value, "data_type": "REG_SZ"}])
    ind = indicator(n + 6, f"[file:name = '{value}.dll'] OR [file:hashes.'SHA-256' = '{n + 6:064x}']")
    ap = sdo("attack-pattern", n + 7, name="Phishing", external_references=[
        {"source_name": "mitre-attack", "external_id": "T1566", "description": f"lure for {value}"}])
    mail = sco("email-message", n + 8, is_multipart=False, subject=f"見積依頼 {value}")
    return [mal, custom, http, ip, f, reg, ind, ap, mail]


def run(objs, profile) -> tuple[dict, dict]:
    res = sanitize(bundle(*objs), VictimProfile.from_dict(profile), Policy(), secret=SECRET)
    return res.bundle, res.report.public()


CASES = [(enc, seed) for enc in ENCODINGS for seed in range(2)]


@pytest.mark.parametrize("encoding, seed", CASES)
def test_di00_generated_victim_tokens_never_survive_in_any_view(encoding, seed):
    rng = random.Random(f"{encoding}/{seed}")
    v = victim(rng)
    objs = []
    for i, written in enumerate(v["written"].values()):
        objs.extend(carriers(ENCODINGS[encoding](written), 100 * (i + 1)))
    out, report = run(objs, v["profile"])
    needles = v["tokens"] + list(v["written"].values())
    assert leaks(out, needles) == [], encoding
    assert leaks(report, needles) == [], encoding


@pytest.mark.parametrize("encoding, seed", CASES)
def test_di00_generated_attacker_values_are_kept(encoding, seed):
    rng = random.Random(f"attacker/{encoding}/{seed}")
    v = victim(rng)
    value = ENCODINGS[encoding](attacker(rng))
    out, _report = run(carriers(value, 100), v["profile"])
    text = json.dumps(out, ensure_ascii=False)
    for where in ("loader ", "beacon tag ", "lure for ", "見積依頼 "):
        assert json.dumps(where + value, ensure_ascii=False)[1:-1] in text, where
    assert any(o.get("name") == f"{value}.iso" for o in out["objects"])
    assert f"file:name = '{value}.dll'".replace("\\", "\\\\") in text or "\\" in value


# ------------------------------------------------------------------ hand fixtures (issue 10 classes)
P = {"organization_names": ["株式会社高瀬浜工業", "高瀬浜工業", "タカセハマコウギョウ", "Takasehama Kogyo"],
     "domains": ["amagiri-shinkin.example"], "people": ["楢崎 朋美", "ならさき ともみ", "Tomomi Narasaki"],
     "hostnames": ["NRS-PC0417"], "accounts": ["yu.kashiwagi"], "sector": "manufacturing", "region": "JP"}
NEEDLES = ["高瀬浜工業", "タカセハマコウギョウ", "Takasehama Kogyo", "楢崎朋美", "Narasaki Tomomi",
           "NRS-PC0417", "yu.kashiwagi", "amagiri-shinkin", "amagiri"]


def desc(*texts: str) -> tuple[dict, dict]:
    objs = [sdo("malware", i + 1, name="PAPERKITE", is_family=True, description=t) for i, t in enumerate(texts)]
    return run(objs, P)


def assert_clean(out, report):
    assert leaks(out, NEEDLES) == [] and leaks(report, NEEDLES) == []


@pytest.mark.parametrize("written", ["タカセハマ・コウギョウ", "タカセハマ\u3000コウギョウ", "たかせはまコウギョウ",
                                     "ﾀｶｾﾊﾏ ｺｳｷﾞｮｳ", "髙瀬濱工業", "高瀬\u2060浜工業", "高瀬\ufeff浜工業"])
def test_di03_name_forms_and_invisible_characters(written):
    assert_clean(*desc(f"lure for {written} purchasing"))


@pytest.mark.parametrize("written", ["Narasaki, Tomomi", "NARASAKI Tomomi", "Tomomi NARASAKI", "楢﨑 朋美",
                                     "Tоmomi Narasaki", "Narasakі, Tomomi",
                                     "ナラサキ・トモミ", "&amp;#x6962;&amp;#x5D0E; &amp;#x670B;&amp;#x7F8E;"])
def test_di03_person_orders_and_double_html(written):
    assert_clean(*desc(f"宛先 {written} 様"))


@pytest.mark.parametrize("url", [
    "https://c2.kitefall.test/b/" + base64.urlsafe_b64encode(b"NRS-PC0417|yu.kashiwagi").decode() + "/x",
    "https://c2.kitefall.test/p#" + base64.b64encode("高瀬浜工業".encode()).decode(),
    "https://c2.kitefall.test/beat?h=" + base64.urlsafe_b64encode(b"NRS-PC0417").decode().rstrip("=") + "&v=2",
])
def test_di03_base64_in_url_paths_fragments_and_beacon_parameters(url):
    out, report = run([sco("url", 1, value=url), sco("domain-name", 2, value="c2.kitefall.test")], P)
    assert_clean(out, report)
    assert any(o.get("value") == "c2.kitefall.test" for o in out["objects"])


@pytest.mark.parametrize("creds", [b"yu.kashiwagi:Winter2024!", b"NRS-PC0417\\admin:pw", "高瀬浜工業:x".encode()])
def test_di03_base64_basic_credentials(creds):
    auth = "Basic " + base64.b64encode(creds).decode()
    assert_clean(*desc(f"proxy log: Authorization: {auth}"))


@pytest.mark.parametrize("rule", [
    "rule r { strings: $h = { 4E 00 52 00 53 00 2D 00 50 00 43 00 30 00 34 00 31 00 37 00 } condition: $h }",
    'alert tcp any any -> any any (content:"|4e 52 53 2d 50 43 30 34 31 37|"; sid:1;)',
    "rule r { strings: $s = \"\\xe9\\xab\\x98\\xe7\\x80\\xac\\xe6\\xb5\\x9c\" condition: $s }",
])
def test_di12_hex_in_yara_and_snort_rules(rule):
    ind = sdo("indicator", 1, pattern=rule, pattern_type="yara" if rule.startswith("rule") else "snort",
              valid_from="2025-01-01T00:00:00Z")
    out, report = run([ind], {**P, "organization_names": P["organization_names"] + ["高瀬浜"]})
    assert_clean(out, report)


@pytest.mark.parametrize("data", ["NRS-PC0417".encode("utf-16-le").hex(), "NRS-PC0417".encode().hex(),
                                  " ".join(f"{b:02x}" for b in "高瀬浜工業".encode("utf-16-le"))])
def test_di03_reg_binary_ascii_and_utf16le(data):
    reg = sco("windows-registry-key", 1, key="HKEY_CURRENT_USER\\Software\\X",
              values=[{"name": "id", "data": data, "data_type": "REG_BINARY"}])
    assert_clean(*run([reg], P))


@pytest.mark.parametrize("header", [Header("高瀬浜工業 御中", "iso-2022-jp").encode(),
                                    Header("楢崎 朋美", "utf-8").encode(),
                                    "=?UTF-8?Q?" + "".join(f"={b:02X}" for b in "高瀬浜工業.pdf".encode()) + "?="])
def test_di03_mime_subjects_display_names_attachment_names(header):
    mail = sco("email-message", 1, is_multipart=False, subject=header,
               additional_header_fields={"From": f"{header} <ceo@exec-mailbox.test>", "Thread-Topic": header})
    sender = sco("email-addr", 2, value="ceo@exec-mailbox.test", display_name=header)
    f = sco("file", 3, name=header, hashes={"SHA-256": "a" * 64})
    assert_clean(*run([mail, sender, f], P))


@pytest.mark.parametrize("written", ["%25E9%25AB%2598%25E7%2580%25AC%25E6%25B5%259C",
                                     "https%253A%252F%252Fportal.amagiri-shinkin.example%252Fx",
                                     "%2559%2575%252E%256B%2561%2573%2568%2569%2577%2561%2567%2569"])
def test_di03_double_percent_encoding(written):
    assert_clean(*run([sdo("malware", 1, name="X", is_family=True, description=f"redirect next={written}")],
                      {**P, "organization_names": P["organization_names"] + ["高瀬浜"]}))


@pytest.mark.parametrize("pattern", [
    "[domain-name:value MATCHES '^a(m|rn)agir[iі1l]-shinkin\\\\.[a-z]+$'] OR [ipv4-addr:value = '192.0.2.1']",
    "[email-message:subject MATCHES '(高瀬|タカセ)(浜|ハマ)' ] OR [ipv4-addr:value = '192.0.2.1']",
    "[host-name:value MATCHES 'NRS-PC[0-9]{4}'] OR [ipv4-addr:value = '192.0.2.1']".replace("host-name", "domain-name"),
    "[user-account:display_name MATCHES 'T[a4]kaseh[a4]ma'] OR [ipv4-addr:value = '192.0.2.1']",
])
def test_di12_matches_classes_and_alternations_are_victim_comparisons(pattern):
    out, report = run([indicator(1, pattern)], P)
    pats = [o["pattern"] for o in out["objects"] if o["type"] == "indicator"]
    assert pats == ["[ipv4-addr:value = '192.0.2.1']"]
    assert_clean(out, report)


def test_di12_attacker_matches_expression_is_kept():
    pattern = "[url:value MATCHES '^https://[a-z0-9-]+\\\\.test/ib/(login|otp)\\\\.php$']"
    out, _ = run([indicator(1, pattern)], P)
    assert [o["pattern"] for o in out["objects"] if o["type"] == "indicator"] == [pattern]


@pytest.mark.parametrize("host", ["amagiri-shinkin.test", "amagіri-shinkin.test", "xn--amagri-shinkin-89l.test",
                                  "arnagiri-shinkin.test", "аmagiri-shinkin.test", "amag1ri-shinkin.test"])
def test_di04_idn_lookalikes_unicode_and_punycode(host):
    objs = [sco("domain-name", 1, value=host), sdo("infrastructure", 2, name="front-ends",
                                                    description=f"phishing host {host} proxies the bank")]
    out, report = run(objs, P)
    assert not [o for o in out["objects"] if o["type"] == "domain-name"]
    assert_clean(out, report)


@pytest.mark.parametrize("key", ["x_takasehama_ticket", "x_nrs_pc0417_case", "x_楢崎_note"])
def test_di18_public_report_redacts_victim_named_keys_and_extension_ids(key):
    ext_id = "extension-definition--3a5ec6a4-d9b6-4b1c-9b8e-2ae4c3b5f9a1"
    obj = sdo("malware", 1, name="X", is_family=True, **{key: "v"},
              extensions={ext_id: {"extension_type": "property-extension", "x_owner": "高瀬浜工業"}})
    out, report = run([obj], P)
    assert_clean(out, report)
    text = json.dumps(report, ensure_ascii=False)
    assert ext_id not in text and key not in text
    assert "x_[REDACTED-KEY]" in text and "[REDACTED-ID]" in text


def test_di18_gate_refuses_a_public_report_that_leaks():
    from sanitizer.matching import ProfileIndex
    from sanitizer.rules import di18_leak_gate

    report = {"entries": [{"path": "x_takasehama_kogyo", "object": "malware (dropped)"}]}
    hits = di18_leak_gate.scan_report(report, ProfileIndex(VictimProfile.from_dict(P)))
    assert hits and hits[0].where.startswith("report.entries[0].path")
    with pytest.raises(LeakRefused):
        raise LeakRefused(hits)

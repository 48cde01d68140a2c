"""DI-10 v2: JP phone numbers, MAC addresses and postal addresses in the forms people write them.
The output is checked by reading digits / hex back with code written here."""
from __future__ import annotations

import random
import re
import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import bundle, indicator, objects_of, run, sco, sdo, text_of


def digits_runs(text: str) -> str:
    """All digits of the text, separators removed (independent of the detector)."""
    return re.sub(r"[^0-9]", "", unicodedata.normalize("NFKC", text))


def hex_runs(text: str) -> str:
    return re.sub(r"[^0-9a-f]", "", unicodedata.normalize("NFKC", text).lower())


def _desc(text: str) -> dict:
    return sdo("malware", 3, name="X", is_family=True, description=text)


def phone_forms(area: str, local: str, line: str) -> list[str]:
    fw = str.maketrans("0123456789()-+", "０１２３４５６７８９（）－＋")
    return [
        f"0{area}-{local}-{line}", f"0{area}({local}){line}", f"(0{area}) {local}-{line}",
        f"+81 {area} {local} {line}", f"+81-{area}-{local}-{line}", f"+81-(0){area}-{local}-{line}",
        f"0{area} {local} {line}", f"0{area}-{local}-{line}".translate(fw), f"TEL: 0{area}{local}{line}",
        f"電話 0{area}-{local}-{line}",
    ]


@pytest.mark.parametrize("form", range(10))
def test_di_10_jp_phone_removed_in_every_form(form):
    text = phone_forms("566", "21", "4321")[form]
    out = objects_of(run(bundle(_desc(f"通報受付 {text} まで"))), "malware")[0]["description"]
    assert "214321" not in digits_runs(out) and "[PHONE]" in out, out


@settings(max_examples=60, deadline=None)
@given(area=st.integers(10, 9999), local=st.integers(10, 9999), line=st.integers(1000, 9999),
       form=st.integers(0, 9))
def test_di_10_generated_phones_never_survive(area, local, line, form):
    a, lo = str(area), str(local)
    if len(a) + len(lo) not in (5, 6):  # JP numbers: 10 digits with the trunk 0 (9 after it)
        lo = lo[: max(1, 5 - len(a))] if len(a) < 5 else lo[:1]
    text = phone_forms(a, lo, str(line))[form]
    out = objects_of(run(bundle(_desc(f"contact {text}."))), "malware")[0]["description"]
    assert (a + lo + str(line)) not in digits_runs(out), (text, out)


def test_di_10_versions_dates_and_addresses_are_not_phones():
    text = "build 6.10.2.1-b4 on 2025-03-08, C2 203.000.113.077:8443, size 2811904, CVE-2024-48312"
    assert objects_of(run(bundle(_desc(text))), "malware")[0]["description"] == text


MACS = ["00:1d:9c:4e:21:7a", "00-1D-9C-4E-21-7A", "001d.9c4e.217a", "001D.9C4E.217A"]


@pytest.mark.parametrize("mac", MACS)
def test_di_10_mac_removed_in_every_notation(mac):
    res = run(bundle(_desc(f"PLC {mac} online"), sco("mac-addr", 5, value=mac.lower()) if ":" in mac else _desc("x")))
    assert "001d9c4e217a" not in hex_runs(text_of(res).replace("\\u", ""))


def test_di_10_bare_hex_mac_only_in_mac_context():
    out = objects_of(run(bundle(_desc("NIC MAC 001D9C4E217C; the loader carries build id 0123456789ab"))), "malware")[0]["description"]
    assert "001d9c4e217c" not in out.lower() and "0123456789ab" in out
    out = objects_of(run(bundle(_desc("PLC 001d.9c4e.217a, spare RTU 001D9C4E217C"))), "malware")[0]["description"]
    assert "001d9c4e217c" not in out.lower()


def test_di_10_mac_pattern_comparison_removed():
    ind = indicator(41, "[ipv4-addr:value = '203.0.113.129'] OR [mac-addr:value = '00:1d:9c:4e:21:7b']")
    assert objects_of(run(bundle(ind)), "indicator")[0]["pattern"] == "[ipv4-addr:value = '203.0.113.129']"


@pytest.mark.parametrize("text,gone", [
    ("本社 〒262-0418 千葉県鶴羽田市中央区本町2-5-11 まで", ["鶴羽田", "本町", "262"]),
    ("浄水場は楓浦市汐見台3丁目14-7 にある", ["楓浦", "汐見台", "14-7"]),
    ("中央区本町2-5-11", ["本町"]),
    ("北区赤羽一丁目2番3号の倉庫", ["赤羽"]),
    ("Office: 1-2-3 Honcho, Chuo-ku, Tsuruhata-shi, Chiba-ken 262-0418", ["honcho", "tsuruhata", "262-0418"]),
    ("郵便番号 319-2947", ["319-2947"]),
])
def test_di_10_postal_addresses_from_city_level(text, gone):
    out = objects_of(run(bundle(_desc(text))), "malware")[0]["description"]
    assert all(g not in out.lower() for g in gone), out
    assert "[ADDRESS]" in out


def test_di_10_city_words_in_prose_stay():
    text = "都市部の市場で販売される 3 種類のツール。区分は 2 つ。"
    assert objects_of(run(bundle(_desc(text))), "malware")[0]["description"] == text


def test_di_10_honorific_like_labels_inside_domains_stay():
    text = "C2 mochizuki-sama.test, sakuya-san-update.test and kirigaoka-shi-info.test; ask Tanaka-san"
    out = objects_of(run(bundle(_desc(text))), "malware")[0]["description"]
    assert out == text.replace("Tanaka-san", "[PERSON]")


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 10 ** 6))
def test_di_10_generated_macs_never_survive(seed):
    rnd = random.Random(seed)
    octets = [rnd.randrange(256) for _ in range(6)]
    h = "".join(f"{o:02x}" for o in octets)
    form = rnd.choice([":".join(h[i:i + 2] for i in range(0, 12, 2)), "-".join(h[i:i + 2] for i in range(0, 12, 2)),
                       ".".join(h[i:i + 4] for i in range(0, 12, 4)), "MAC " + h])
    form = form.upper() if rnd.random() < 0.5 else form
    out = objects_of(run(bundle(_desc(f"device {form} seen"))), "malware")[0]["description"]
    assert h not in hex_runs(out), (form, out)


def test_di_10_postal_code_before_an_address_without_mark():
    out = objects_of(run(bundle(_desc("送付先 262-0418 千葉県鶴羽田市中央区本町2-5-11"))), "malware")[0]["description"]
    assert "262-0418" not in out and "本町" not in out and "[ADDRESS]" in out

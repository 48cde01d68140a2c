"""P2 (no false positive may break an attacker value): product names are not people, honorific-like
labels inside host names are not people, a quoted key before a list index is a valid pattern path."""
from __future__ import annotations

import random
import string

import pytest

from sanitizer.rules import di12_patterns
from sanitizer.rules.di12_patterns import Verdict

from conftest import bundle, indicator, objects_of, run, sco, sdo


def _desc(text: str) -> str:
    res = run(bundle(sdo("tool", 1, name="LANTERNFISH", description=text)))
    return objects_of(res, "tool")[0]["description"]


@pytest.mark.parametrize("text", ["Adobe Reader 2024.002 の脆弱性を悪用", "秀丸エディタのマクロで実行",
                                  "Becky! Internet Mail のプラグイン bkSpamGuard.dll", "桜井エディタ風の偽ツール",
                                  "中村メールソフトを装う", "Sakura Editor と TeraTerm を使用"])
def test_p2_product_names_are_not_people(text):
    assert _desc(text) == text


@pytest.mark.parametrize("host", ["mochizuki-sama.test", "sakuya-san-update.test", "kirigaoka-shi-info.test",
                                  "nagano-shi-portal.example", "cdn.tanaka-kun.example", "mail@suzuki-san.example"])
def test_p2_honorific_like_labels_inside_hosts_are_not_people(host):
    value = host.split("@")[-1]
    res = run(bundle(sco("domain-name", 1, value=value), indicator(2, f"[domain-name:value = '{value}']"),
                     sdo("tool", 3, name="LANTERNFISH", description=f"C2 は {host} を使用")))
    assert objects_of(res, "domain-name")[0]["value"] == value
    assert value in objects_of(res, "indicator")[0]["pattern"]
    assert host in objects_of(res, "tool")[0]["description"]


def test_p2_honorifics_in_prose_still_name_people():
    for text in ("Tanaka-san forwarded it.", "連絡は Suzuki-sama まで", "per Kato-shi, the VPN"):
        assert "[PERSON]" in _desc(text)


@pytest.mark.parametrize("seed", range(6))
def test_p2_quoted_key_with_list_index_is_a_valid_path(seed):
    rnd = random.Random(seed)
    header = "X-" + "".join(rnd.choices(string.ascii_letters, k=6)) + rnd.choice(["", "-Id", ".v2", " Token"])
    index = rnd.choice(["[*]", "[0]", "[3]"])
    value = "".join(rnd.choices(string.ascii_lowercase + string.digits, k=10))
    pattern = (f"[network-traffic:extensions.'http-request-ext'.request_header.'{header}'{index} = '{value}'"
               " AND network-traffic:dst_port = 443]")
    result = di12_patterns.rewrite(pattern, lambda t, p, v: Verdict("keep"))
    assert result.pattern == pattern and di12_patterns.is_valid(result.pattern)
    res = run(bundle(indicator(1, pattern)))  # used to exit 2 (bad input)
    assert objects_of(res, "indicator")[0]["pattern"] in (pattern, "[network-traffic:dst_port = 443]")


def test_p2_invalid_patterns_are_still_refused():
    with pytest.raises(di12_patterns.PatternError):
        di12_patterns.rewrite("[network-traffic:extensions.'http-request-ext'.request_header.'X'[*] = ]",
                              lambda t, p, v: Verdict("keep"))
